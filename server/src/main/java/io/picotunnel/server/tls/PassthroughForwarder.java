package io.picotunnel.server.tls;

import io.netty.channel.ChannelHandlerContext;

/**
 * Takes over a public connection whose TLS ends behind the tunnel: called from the front door's context
 * before the front door leaves the pipeline, so that the buffered ClientHello is the first thing forwarded.
 */
public interface PassthroughForwarder {

    void forward(ChannelHandlerContext frontDoor, HttpsRoute.Passthrough route);
}
