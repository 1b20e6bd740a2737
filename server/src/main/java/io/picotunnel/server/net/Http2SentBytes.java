package io.picotunnel.server.net;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.StreamByteDistributor;
import io.netty.handler.codec.http2.WeightedFairQueueByteDistributor;
import io.netty.util.AttributeKey;

/**
 * The DATA bytes an HTTP/2 connection sent of each of its streams so far. A stream's channel has no outbound buffer of
 * its own: a write to it is done only once the stream's window let all of it out, so a visitor that opens the window a
 * little at a time, taking part of one long write, shows that only in what the connection's flow controller sends.
 * Counted where the flow controller hands each stream its share (Netty's {@link StreamByteDistributor}, its default one
 * wrapped), once per share, never per frame. On the connection's event loop only.
 */
public final class Http2SentBytes implements StreamByteDistributor {

    private static final AttributeKey<Http2SentBytes> KEY = AttributeKey.valueOf(Http2SentBytes.class, "sent");

    private final Http2Connection connection;
    private final Http2Connection.PropertyKey sentKey;
    private final StreamByteDistributor shares;
    /** The flow controller's writer last handed in, and the one that counts around it. */
    private Writer writer;
    private Writer counting;

    private Http2SentBytes(Http2Connection connection) {
        this.connection = connection;
        this.sentKey = connection.newKey();
        this.shares = new WeightedFairQueueByteDistributor(connection);
    }

    /** A server codec for {@code channel}, as {@link Http2FrameCodecBuilder#forServer()}'s, that counts what it sends. */
    public static Http2FrameCodec serverCodec(Channel channel) {
        Http2Connection connection = new DefaultHttp2Connection(true);
        Http2SentBytes sent = new Http2SentBytes(connection);
        connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection, sent));
        channel.attr(KEY).set(sent);
        return new CountingCodecBuilder(connection).build();
    }

    /** The DATA bytes sent so far of {@code stream}'s stream; 0 when its connection's codec is not a counting one. */
    public static long of(Http2StreamChannel stream) {
        Channel parent = stream.parent();
        Http2SentBytes sent = parent == null ? null : parent.attr(KEY).get();
        if (sent == null) {
            return 0;
        }
        Http2Stream http2Stream = sent.connection.stream(stream.stream().id());
        Count count = http2Stream == null ? null : http2Stream.getProperty(sent.sentKey);
        return count == null ? 0 : count.bytes;
    }

    @Override
    public void updateStreamableBytes(StreamState state) {
        shares.updateStreamableBytes(state);
    }

    @Override
    public void updateDependencyTree(int childStreamId, int parentStreamId, short weight, boolean exclusive) {
        shares.updateDependencyTree(childStreamId, parentStreamId, weight, exclusive);
    }

    @Override
    public boolean distribute(int maxBytes, Writer writer) throws Http2Exception {
        if (writer != this.writer) {
            this.writer = writer;
            this.counting = (stream, bytes) -> {
                writer.write(stream, bytes);
                count(stream, bytes);
            };
        }
        return shares.distribute(maxBytes, counting);
    }

    /** The flow controller writes the whole share: it is never more than the stream's and the connection's window. */
    private void count(Http2Stream stream, int bytes) {
        if (bytes <= 0) {
            return;
        }
        Count count = stream.getProperty(sentKey);
        if (count == null) {
            count = new Count();
            stream.setProperty(sentKey, count);
        }
        count.bytes += bytes;
    }

    private static final class Count {
        long bytes;
    }

    /** {@link Http2FrameCodecBuilder#forServer()} on a connection of ours: the builder takes one only when extended. */
    private static final class CountingCodecBuilder extends Http2FrameCodecBuilder {
        CountingCodecBuilder(Http2Connection connection) {
            connection(connection);
            gracefulShutdownTimeoutMillis(0);
        }
    }
}
