package io.picotunnel.server.e2e;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Parses what the server writes up the streams of a client's connection, as the client and its target would (the
 * stream header, then HTTP/1.1), and counts the requests that went up whole: their body's end parsed, a chunked body's
 * last chunk included, which may come in a read of the visitor's after its last byte of data.
 */
final class RequestsSentUp extends ChannelOutboundHandlerAdapter implements AutoCloseable {

    /** Each stream's bytes so far, on the connection's loop. */
    private final Map<Integer, EmbeddedChannel> streams = new HashMap<>();
    private final AtomicInteger whole = new AtomicInteger();
    private volatile RuntimeException unparsed;
    private final Channel connection;

    private RequestsSentUp(Channel connection) {
        this.connection = connection;
    }

    /** From now on, the requests the server sends up {@code client}'s streams. */
    static RequestsSentUp watch(TunnelRegistry.Connection client) throws Exception {
        Channel channel = client.session().parent();
        RequestsSentUp watch = new RequestsSentUp(channel);
        channel.eventLoop().submit(() -> channel.pipeline()
                .addBefore(channel.pipeline().context(client.session()).name(), null, watch)).get(10, TimeUnit.SECONDS);
        return watch;
    }

    /** The requests sent up whole since {@link #watch}. */
    int whole() {
        if (unparsed != null) {
            throw new AssertionError("what went up a stream could not be parsed", unparsed);
        }
        return whole.get();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof YamuxFrame frame && frame.type() == YamuxSpec.TYPE_DATA && unparsed == null) {
            try {
                parse(frame);
            } catch (RuntimeException e) { // told to the test, not to the server's write
                unparsed = e;
            }
        }
        ctx.write(msg, promise);
    }

    private void parse(YamuxFrame frame) {
        EmbeddedChannel stream = streams.computeIfAbsent(frame.streamId(),
                id -> new EmbeddedChannel(new StreamHeaderDecoder(), new HttpRequestDecoder()));
        stream.writeInbound(frame.payload().retainedDuplicate());
        for (Object parsed = stream.readInbound(); parsed != null; parsed = stream.readInbound()) {
            if (parsed instanceof LastHttpContent last && last.decoderResult().isSuccess()) {
                whole.incrementAndGet();
            }
            ReferenceCountUtil.release(parsed);
        }
    }

    @Override
    public void close() {
        Future<?> removed = connection.eventLoop().submit(() -> {
            if (connection.pipeline().context(this) != null) {
                connection.pipeline().remove(this);
            }
            streams.values().forEach(EmbeddedChannel::finishAndReleaseAll);
            streams.clear();
        });
        if (!removed.awaitUninterruptibly(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the watch was not removed within 10 s");
        }
    }
}
