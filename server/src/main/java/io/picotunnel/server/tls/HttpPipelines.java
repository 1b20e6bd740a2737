package io.picotunnel.server.tls;

import io.netty.channel.ChannelPipeline;

/**
 * Sets up HTTP handling on a connection whose TLS the HTTPS listener has terminated; implemented by the
 * HTTP proxy. The HTTPS listener calls exactly one of them, per the protocol negotiated by ALPN.
 */
public interface HttpPipelines {

    /** HTTP/1.1 (ALPN {@code http/1.1}, or no ALPN). {@code https} is true: X-Forwarded-Proto is https. */
    void initHttp1(ChannelPipeline pipeline, boolean https);

    /** HTTP/2 (ALPN {@code h2}). */
    void initHttp2(ChannelPipeline pipeline);
}
