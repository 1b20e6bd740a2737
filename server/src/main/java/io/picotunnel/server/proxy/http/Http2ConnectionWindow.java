package io.picotunnel.server.proxy.http;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2LocalFlowController;

/**
 * Opens an HTTP/2 connection's receive window wide enough for all its streams' windows at once. A stream's upload
 * credit goes back only as its body goes on into the tunnel, and Netty gives the connection's credit back with the
 * stream's: a stream whose target reads nothing keeps the DATA it was sent counted against the connection's window
 * too. With that window at the default 64 KiB (one stream's), two such streams take it all, and no other stream of
 * the connection can send a byte of its body. Sized so, the stalled streams can never take the connection's window
 * from the others: each holds at most its own window, as before.
 */
final class Http2ConnectionWindow {

    private Http2ConnectionWindow() {
    }

    /** The window for {@code codec}'s connection, just added to {@code pipeline} (its preface sent). */
    static void openForAllStreams(Http2FrameCodec codec, ChannelPipeline pipeline) {
        Http2Connection connection = codec.connection();
        Http2LocalFlowController flow = connection.local().flowController();
        Http2Connection.Endpoint<?> visitor = connection.remote();
        long wanted = (long) visitor.maxActiveStreams() * flow.initialWindowSize();
        int now = flow.windowSize(connection.connectionStream());
        int delta = (int) Math.min(Integer.MAX_VALUE - (long) now, wanted - now);
        if (delta <= 0) {
            return;
        }
        try {
            flow.incrementWindowSize(connection.connectionStream(), delta);
        } catch (Http2Exception e) {
            throw new IllegalStateException(e); // not for a valid size: the sum stays within 2^31 - 1
        }
        pipeline.channel().flush();
    }
}
