package io.picotunnel.server.e2e;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.stream.StreamHeaderException;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Parses what the server writes up the streams of a client's connection, as the client and its target would (the
 * stream header, then HTTP/1.1), and counts the requests that went up whole: their body's end parsed, a chunked body's
 * last chunk included, which may come in a read of the visitor's after its last byte of data.
 *
 * <p>Only streams the server opens while it watches (their SYN seen) are parsed: the bytes of one already open when
 * the watch began do not start at its stream header, so data on such a stream fails {@link #whole()} saying so, as
 * does a request the decoders could not parse; a failure after the last {@link #whole()} fails {@link #close()}.
 */
final class RequestsSentUp extends ChannelOutboundHandlerAdapter implements AutoCloseable {

    /** Each stream opened since the watch began, with its bytes so far; on the connection's loop. */
    private final Map<Integer, EmbeddedChannel> streams = new HashMap<>();
    private final AtomicInteger whole = new AtomicInteger();
    /** Why what went up could not be counted: the first failure, set once. */
    private volatile RuntimeException unparsed;
    /** {@link #whole()} threw {@link #unparsed}: the test was told. */
    private volatile boolean unparsedTold;
    private final Channel connection;

    private RequestsSentUp(Channel connection) {
        this.connection = connection;
    }

    /** From now on, the requests the server sends up {@code client}'s streams. */
    static RequestsSentUp watch(TunnelRegistry.Connection client) throws Exception {
        Channel channel = client.session().parent();
        return watch(channel, channel.eventLoop().submit(() -> channel.pipeline().context(client.session()).name())
                .get(10, TimeUnit.SECONDS));
    }

    /** From now on, what passes down {@code connection}'s pipeline from its handler named {@code session}. */
    static RequestsSentUp watch(Channel connection, String session) throws Exception {
        RequestsSentUp watch = new RequestsSentUp(connection);
        connection.eventLoop().submit(() -> connection.pipeline().addBefore(session, null, watch))
                .get(10, TimeUnit.SECONDS);
        return watch;
    }

    /** The requests sent up whole since {@link #watch}. */
    int whole() {
        if (unparsed != null) {
            unparsedTold = true;
            throw new AssertionError("what went up the streams could not be counted: " + unparsed.getMessage(),
                    unparsed);
        }
        return whole.get();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof YamuxFrame frame && unparsed == null) {
            try {
                parse(frame);
            } catch (RuntimeException e) { // told to the test, not to the server's write
                unparsed = e;
            }
        }
        ctx.write(msg, promise);
    }

    private void parse(YamuxFrame frame) {
        if (frame.hasFlag(YamuxSpec.FLAG_SYN)) {
            streams.put(frame.streamId(), new EmbeddedChannel(new StreamHeaderDecoder(), new HttpRequestDecoder()));
        }
        if (frame.type() != YamuxSpec.TYPE_DATA || !frame.payload().isReadable()) {
            return;
        }
        EmbeddedChannel stream = streams.get(frame.streamId());
        if (stream == null) {
            throw new IllegalStateException("stream " + frame.streamId() + " was open before the watch began: its"
                    + " bytes do not start at its stream header");
        }
        stream.writeInbound(frame.payload().retainedDuplicate());
        for (Object parsed = stream.readInbound(); parsed != null; parsed = stream.readInbound()) {
            try {
                if (parsed instanceof HttpObject message && message.decoderResult().isFailure()) {
                    throw new IllegalStateException("stream " + frame.streamId() + " carried what could not be parsed"
                            + " as a request: " + message.decoderResult().cause(), message.decoderResult().cause());
                }
                if (parsed instanceof LastHttpContent last && last.decoderResult().isSuccess()) {
                    whole.incrementAndGet();
                }
            } finally {
                ReferenceCountUtil.release(parsed);
            }
        }
    }

    /**
     * Takes the watch out of the connection's pipeline and releases what it kept; fails when the watch was not there
     * any more while the connection is still registered (something else took it out), when the connection's loop
     * refuses the removal (shut down before the watch was closed: what it kept is released once the loop ended), when
     * the watch is still there after, or when a stream's decoders failed as they ended, other than for a stream cut
     * inside its header; and, once what it kept is released, when what went up could not be counted and no
     * {@link #whole()} said so.
     */
    @Override
    public void close() {
        try {
            takeOut();
        } catch (RuntimeException e) {
            AssertionError untold = untold();
            if (untold != null) {
                e.addSuppressed(untold);
            }
            throw e;
        }
        AssertionError untold = untold();
        if (untold != null) {
            throw untold;
        }
    }

    /** Why what went up could not be counted, when no {@link #whole()} said so; else null. */
    private AssertionError untold() {
        RuntimeException failure = unparsed;
        return failure == null || unparsedTold ? null : new AssertionError("what went up the streams after the last"
                + " count could not be counted: " + failure.getMessage(), failure);
    }

    private void takeOut() {
        Future<?> removed;
        try {
            removed = connection.eventLoop().submit(() -> {
                try {
                    if (connection.pipeline().context(this) != null) {
                        connection.pipeline().remove(this);
                    } else if (connection.isRegistered()) {
                        throw new IllegalStateException("the watch was no longer in its pipeline");
                    }
                } finally {
                    release();
                }
            });
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the watch could not be removed from " + connection + ": its event loop"
                    + " was shut down before the watch was closed; " + releaseOnceTheLoopEnded(), e);
        }
        if (!removed.awaitUninterruptibly(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the watch was not removed within 10 s");
        }
        if (!removed.isSuccess()) {
            throw new IllegalStateException("the watch on " + connection + " could not be closed: "
                    + removed.cause().getMessage(), removed.cause());
        }
        if (connection.pipeline().context(this) != null) {
            throw new IllegalStateException("the watch is still in the pipeline of " + connection);
        }
    }

    /**
     * What the watch kept released; on the connection's loop, or once it ended. A stream cut inside its header makes
     * its header's decoder fail as it ends (StreamHeaderException), once it released what it kept: no failure of the
     * clean-up (one cut inside its request ends with a failed message, no exception). Any other failure of a stream's
     * decoders as they end is thrown once every stream is released, the first with the others in it.
     */
    private void release() {
        RuntimeException first = null;
        for (Map.Entry<Integer, EmbeddedChannel> stream : streams.entrySet()) {
            try {
                stream.getValue().finishAndReleaseAll();
            } catch (StreamHeaderException cut) {
                // the watch closed while the stream's header was still coming
            } catch (RuntimeException e) {
                IllegalStateException failure = new IllegalStateException("the decoders of stream " + stream.getKey()
                        + " failed as they ended: " + e.getMessage(), e);
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            }
        }
        streams.clear();
        if (first != null) {
            throw first;
        }
    }

    /** Releases what the watch kept once the connection's loop ended, which runs no more of it then; says which. */
    private String releaseOnceTheLoopEnded() {
        if (!connection.eventLoop().terminationFuture().awaitUninterruptibly(10, TimeUnit.SECONDS)) {
            return "the loop did not end within 10 s, and what the watch kept is not released";
        }
        try {
            release();
        } catch (IllegalStateException failure) {
            return "what the watch kept is released, but " + failure.getMessage();
        }
        return "what the watch kept is released";
    }
}
