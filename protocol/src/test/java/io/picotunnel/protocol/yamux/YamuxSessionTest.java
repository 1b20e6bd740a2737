package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Two sessions, CLIENT and SERVER, over real loopback TCP. */
class YamuxSessionTest {

    private static final int WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private SessionPair pair;

    @AfterEach
    void close() {
        if (pair != null) {
            pair.close();
        }
    }

    private static YamuxConfig config() {
        return YamuxConfig.defaults();
    }

    private static ChannelHandler echoStreams() {
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new BackpressureEcho());
            }
        };
    }

    private static YamuxStreamChannel open(YamuxSession session, ChannelHandler handler) throws Exception {
        Future<YamuxStreamChannel> f = session.openStream(handler);
        assertThat(f.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isNull();
        return f.getNow();
    }

    @Test
    void halfCloseDeliversRemainingDataThenEof() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        StreamRecorder recorder = new StreamRecorder();
        YamuxStreamChannel stream = open(pair.client, recorder);
        byte[] payload = randomBytes(1024 * 1024, 1);
        // More than one window: the FIN must wait behind queued data, and the echo keeps flowing after it.
        stream.writeAndFlush(Unpooled.wrappedBuffer(payload));
        stream.shutdownOutput();
        // channelInactive comes in a task after the close (as AbstractChannel does it): wait for it, not for the eof.
        await().atMost(WAIT).until(() -> recorder.events.contains("inactive"));
        assertThat(recorder.bytes()).isEqualTo(payload);
        assertThat(recorder.events).containsSubsequence("active", "eof", "inactive");
        assertThat(stream.isOpen()).as("both directions shut").isFalse();
        await().atMost(WAIT).until(() -> pair.server.activeStreams() == 0 && pair.client.activeStreams() == 0);
    }

    @Test
    void largeTransferIsByteExact() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        Transfer transfer = new Transfer(32L * 1024 * 1024, 7);
        open(pair.client, transfer);
        byte[] received = transfer.receivedDigest.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(transfer.received.get()).isEqualTo(32L * 1024 * 1024);
        assertThat(received).isEqualTo(transfer.sentDigest.digest());
    }

    @Test
    void slowReaderStopsSenderAtOneWindow() throws Exception {
        List<StreamRecorder> serverStreams = new CopyOnWriteArrayList<>();
        pair = new SessionPair(config(), StreamRecorder.forEachStream(serverStreams,
                ch -> ch.config().setAutoRead(false)), null);
        long total = 4L * 1024 * 1024;
        Transfer sender = new Transfer(total, 3);
        YamuxStreamChannel stream = open(pair.client, sender);

        await().atMost(WAIT).until(() -> !stream.isWritable() && sender.confirmed.get() == WINDOW);
        // A ping round trip from the reader's side: every Data frame sent before it has arrived.
        assertThat(pair.server.ping().await(10, TimeUnit.SECONDS)).isTrue();
        StreamRecorder reader = serverStreams.get(0);
        assertThat(reader.bytesRead.get()).as("nothing read yet").isZero();
        assertThat(sender.confirmed.get()).as("the sender stopped at one window").isEqualTo(WINDOW);
        assertThat(sender.written.get() - sender.confirmed.get())
                .as("queued on the sender: bounded by its high-water mark plus one write")
                .isLessThanOrEqualTo(config().writeBufferHighWaterMark() + Transfer.CHUNK);

        YamuxChildChannel readerStream = (YamuxChildChannel) reader.channel;
        long buffered = readerStream.eventLoop().submit(readerStream::inboundQueuedBytes).get(10, TimeUnit.SECONDS);
        assertThat(buffered).as("the reader holds exactly one window").isEqualTo(WINDOW);

        reader.channel.config().setAutoRead(true);
        await().atMost(WAIT).until(() -> reader.events.contains("eof"));
        assertThat(reader.bytesRead.get()).isEqualTo(total);
        MessageDigest digest = sha256();
        digest.update(reader.bytes());
        assertThat(digest.digest()).isEqualTo(sender.sentDigest.digest());
    }

    @Test
    void manyStreamsPingPong() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        int count = 300;
        List<StreamRecorder> recorders = new ArrayList<>();
        List<Future<YamuxStreamChannel>> opens = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String message = "ping-" + i;
            StreamRecorder recorder = new StreamRecorder() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    super.channelActive(ctx);
                    ctx.writeAndFlush(Unpooled.copiedBuffer(message, StandardCharsets.UTF_8));
                    ((YamuxStreamChannel) ctx.channel()).shutdownOutput();
                }
            };
            recorders.add(recorder);
            opens.add(pair.client.openStream(recorder));
        }
        for (Future<YamuxStreamChannel> f : opens) {
            assertThat(f.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(f.cause()).isNull();
        }
        await().atMost(WAIT).until(() -> recorders.stream().allMatch(r -> r.events.contains("inactive")));
        for (int i = 0; i < count; i++) {
            assertThat(recorders.get(i).text()).isEqualTo("ping-" + i);
        }
        await().atMost(WAIT).until(() -> pair.server.activeStreams() == 0 && pair.client.activeStreams() == 0);
    }

    @Test
    void writesOfManyStreamsInOneEventLoopTaskLeaveInOneFlushOfTheConnection() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        int count = 8;
        List<StreamRecorder> recorders = new ArrayList<>();
        List<YamuxStreamChannel> streams = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            recorders.add(new StreamRecorder());
            streams.add(open(pair.client, recorders.get(i)));
        }
        List<Integer> writesPerFlush = new CopyOnWriteArrayList<>();
        pair.clientParent.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            private int writes;

            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                writes++;
                ctx.write(msg, promise);
            }

            @Override
            public void flush(ChannelHandlerContext ctx) {
                writesPerFlush.add(writes);
                writes = 0;
                ctx.flush();
            }
        });
        // as when the loop reads requests from several visitors' sockets ready at once
        pair.clientParent.eventLoop().execute(() -> {
            for (int i = 0; i < count; i++) {
                streams.get(i).writeAndFlush(Unpooled.copiedBuffer("request " + i, StandardCharsets.UTF_8));
            }
        });
        await().atMost(WAIT).until(() -> recorders.stream().allMatch(r -> r.bytesRead.get() == "request 0".length()));
        for (int i = 0; i < count; i++) {
            assertThat(recorders.get(i).text()).isEqualTo("request " + i);
        }
        assertThat(writesPerFlush).as("frames per write to the connection").contains(count);
    }

    @Test
    void serverOpensStreamsToTheClient() throws Exception {
        pair = new SessionPair(config(), null, echoStreams());
        StreamRecorder recorder = new StreamRecorder();
        YamuxStreamChannel stream = open(pair.server, recorder);
        assertThat(stream.streamId() % 2).as("server streams are even").isZero();
        stream.writeAndFlush(Unpooled.copiedBuffer("hello client", StandardCharsets.UTF_8));
        stream.shutdownOutput();
        await().atMost(WAIT).until(() -> recorder.events.contains("eof"));
        assertThat(recorder.text()).isEqualTo("hello client");
    }

    /**
     * Stream ids are 32 bits and never reused by the opener: a session of a busy tunnel (a stream per visitor
     * connection) runs out of them after 2^31 streams. The one that takes the last id sends GoAway(normal), so that
     * the peer (our client) connects anew at once and the server skips this session, instead of keeping a session
     * that looks healthy and can open no stream ever again.
     */
    @Test
    void theStreamThatTakesTheLastIdSendsGoAwaySoThePeerOpensANewSession() throws Exception {
        pair = new SessionPair(config(), null, echoStreams());
        pair.server.parent().eventLoop().submit(() -> pair.server.useStreamIdsFrom(YamuxSpec.MAX_LENGTH_FIELD - 3))
                .sync();
        YamuxStreamChannel beforeLast = open(pair.server, new StreamRecorder());
        assertThat(Integer.toUnsignedLong(beforeLast.streamId())).isEqualTo(YamuxSpec.MAX_LENGTH_FIELD - 3);
        assertThat(pair.server.isGoingAway()).isFalse();

        StreamRecorder recorder = new StreamRecorder();
        YamuxStreamChannel last = open(pair.server, recorder);

        assertThat(Integer.toUnsignedLong(last.streamId())).isEqualTo(YamuxSpec.MAX_LENGTH_FIELD - 1);
        assertThat(pair.server.isGoingAway()).isTrue();
        assertThat(pair.client.goAwayReceived().await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(pair.client.goAwayReceived().getNow()).isEqualTo(GoAwayCode.NORMAL);
        // The last stream is served as any other.
        last.writeAndFlush(Unpooled.copiedBuffer("last one", StandardCharsets.UTF_8));
        last.shutdownOutput();
        await().atMost(WAIT).until(() -> recorder.events.contains("eof"));
        assertThat(recorder.text()).isEqualTo("last one");
        Future<YamuxStreamChannel> none = pair.server.openStream(new StreamRecorder());
        assertThat(none.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(none.cause()).isInstanceOf(StreamOpenException.class);
    }

    @Test
    void goAwayRefusesNewStreamsAndOpenOnesGoOn() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        StreamRecorder recorder = new StreamRecorder();
        YamuxStreamChannel stream = open(pair.client, recorder);
        // A SYN that arrives after the GoAway is refused: let the server accept this stream first.
        await().atMost(WAIT).until(() -> pair.server.activeStreams() == 1);
        pair.server.goAway(GoAwayCode.NORMAL);
        assertThat(pair.client.goAwayReceived().await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(pair.client.goAwayReceived().getNow()).isEqualTo(GoAwayCode.NORMAL);
        Future<YamuxStreamChannel> refused = pair.client.openStream(new StreamRecorder());
        assertThat(refused.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.cause()).isInstanceOf(StreamOpenException.class);
        stream.writeAndFlush(Unpooled.copiedBuffer("still served", StandardCharsets.UTF_8));
        stream.shutdownOutput();
        await().atMost(WAIT).until(() -> recorder.events.contains("eof"));
        assertThat(recorder.text()).isEqualTo("still served");
    }

    @Test
    void whenNoStreamsRunsAsTheLastStreamEndsAndAtOnceWithNoneOpen() throws Exception {
        pair = new SessionPair(config(), StreamRecorder.forEachStream(new CopyOnWriteArrayList<>(), ch -> {
        }), null);
        YamuxStreamChannel first = open(pair.client, new StreamRecorder());
        YamuxStreamChannel second = open(pair.client, new StreamRecorder());
        first.writeAndFlush(Unpooled.copiedBuffer("x", StandardCharsets.UTF_8));
        second.writeAndFlush(Unpooled.copiedBuffer("x", StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> pair.server.activeStreams() == 2);
        List<String> events = new CopyOnWriteArrayList<>();
        pair.server.whenNoStreams(() -> events.add("no streams, " + pair.server.activeStreams() + " open"));

        first.reset();
        await().atMost(WAIT).until(() -> pair.server.activeStreams() == 1);
        events.add("first ended");
        second.reset();
        await().atMost(WAIT).until(() -> events.size() == 2);
        pair.server.whenNoStreams(() -> events.add("none open"));
        await().atMost(WAIT).until(() -> events.size() == 3);
        assertThat(events).containsExactly("first ended", "no streams, 0 open", "none open");
    }

    @Test
    void resetReachesThePeer() throws Exception {
        List<StreamRecorder> serverStreams = new CopyOnWriteArrayList<>();
        pair = new SessionPair(config(), StreamRecorder.forEachStream(serverStreams, ch -> {
        }), null);
        YamuxStreamChannel stream = open(pair.client, new StreamRecorder());
        stream.writeAndFlush(Unpooled.copiedBuffer("x", StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> serverStreams.size() == 1);
        stream.reset();
        StreamRecorder peer = serverStreams.get(0);
        await().atMost(WAIT).until(() -> peer.events.contains("inactive"));
        assertThat(peer.channel.isReset()).isTrue();
        assertThat(stream.isReset()).isTrue();
    }

    @Test
    void closingTheConnectionClosesEveryStream() throws Exception {
        List<StreamRecorder> serverStreams = new CopyOnWriteArrayList<>();
        pair = new SessionPair(config(), StreamRecorder.forEachStream(serverStreams, ch -> {
        }), null);
        List<YamuxStreamChannel> streams = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            YamuxStreamChannel s = open(pair.client, new StreamRecorder());
            s.writeAndFlush(Unpooled.copiedBuffer("x", StandardCharsets.UTF_8));
            streams.add(s);
        }
        await().atMost(WAIT).until(() -> serverStreams.size() == 10);
        pair.clientParent.close();
        await().atMost(WAIT).until(() -> streams.stream().noneMatch(Channel::isOpen)
                && serverStreams.stream().allMatch(r -> r.events.contains("inactive")));
        assertThat(pair.server.activeStreams()).isZero();
    }

    @Test
    void pingMeasuresRoundTrip() throws Exception {
        pair = new SessionPair(config(), null, null);
        Future<Duration> rtt = pair.client.ping();
        assertThat(rtt.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(rtt.getNow()).isPositive();
    }

    @Test
    void peerThatAsksButNeverReadsIsDisconnectedNotBuffered() throws Exception {
        pair = new SessionPair(config(), null, null);
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        Channel listener = new ServerBootstrap().group(pair.group)
                .channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new YamuxSession(YamuxRole.SERVER, config(), null));
                        accepted.complete(ch);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096);
            socket.connect(listener.localAddress());
            // Pings only, never reading the answers: they would pile up on the server without a limit.
            byte[] batch = new byte[YamuxSpec.HEADER_LENGTH * 4096];
            ByteBuf b = Unpooled.wrappedBuffer(batch).clear();
            for (int i = 0; i < 4096; i++) {
                YamuxFrameEncoder.writeHeader(YamuxFrame.ping(YamuxSpec.FLAG_SYN, i), b);
            }
            CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    for (long sent = 0; sent < 1024L * 1024 * 1024; sent += batch.length) {
                        out.write(batch);
                    }
                } catch (IOException expected) {
                    // the server closed the connection
                }
            });
            Channel serverSide = accepted.get(10, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> !serverSide.isOpen());
            // writing to the closed connection fails, which ends the flood
            flood.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } finally {
            listener.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWriteThatCannotBeSentResetsItsStreamAloneAndItsCloseCompletes() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        StreamRecorder other = new StreamRecorder();
        YamuxStreamChannel otherStream = open(pair.client, other);
        YamuxStreamChannel stream = open(pair.client, new StreamRecorder());
        ByteBuf releasedByItsWriter = Unpooled.buffer(10).writeZero(10);
        ByteBuf second = Unpooled.buffer(16).writeZero(16);
        // Two small writes are merged by a copy, which throws on the first one's released buffer.
        List<ChannelFuture> writes = stream.eventLoop().submit(() -> {
            List<ChannelFuture> written = List.of(stream.write(releasedByItsWriter), stream.write(second));
            releasedByItsWriter.release();
            stream.flush();
            return written;
        }).get(10, TimeUnit.SECONDS);

        ChannelFuture close = stream.close();
        assertThat(stream.closeFuture().await(10, TimeUnit.SECONDS)).as("the stream's close future completed").isTrue();
        assertThat(close.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(close.cause()).as("the close itself failed").isNull();
        for (ChannelFuture write : writes) {
            assertThat(write.cause()).isInstanceOf(StreamResetException.class)
                    .hasCauseInstanceOf(IllegalReferenceCountException.class);
        }
        assertThat(second.refCnt()).as("the second write's buffer released").isZero();
        byte[] more = "still carried".getBytes(StandardCharsets.US_ASCII);
        otherStream.writeAndFlush(Unpooled.wrappedBuffer(more));
        await().atMost(WAIT).until(() -> other.bytes().length == more.length);
        assertThat(other.bytes()).as("another stream of the same session echoed").isEqualTo(more);
        assertThat(pair.clientParent.isActive()).as("the session's connection still open").isTrue();
    }

    /**
     * A writer on voidPromise() learns nothing of the reset its write brought about: one WARN says which stream was
     * reset and why, with the cause. Nothing was logged.
     */
    @Test
    void aWriteThatCannotBeSentIsLoggedWithItsCause() throws Exception {
        pair = new SessionPair(config(), echoStreams(), null);
        YamuxStreamChannel stream = open(pair.client, new StreamRecorder());
        ByteBuf releasedByItsWriter = Unpooled.buffer(10).writeZero(10);
        ByteBuf second = Unpooled.buffer(16).writeZero(16);

        try (LogCapture log = new LogCapture(YamuxChildChannel.class, Level.WARN)) {
            stream.eventLoop().submit(() -> {
                stream.write(releasedByItsWriter, stream.voidPromise());
                stream.write(second, stream.voidPromise());
                releasedByItsWriter.release();
                stream.flush();
            }).get(10, TimeUnit.SECONDS);
            assertThat(stream.closeFuture().await(10, TimeUnit.SECONDS)).as("the stream closed").isTrue();

            assertThat(log.events()).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage())
                        .contains("stream " + Integer.toUnsignedString(stream.streamId()) + " reset")
                        .contains("a write could not be sent");
                assertThat(event.getThrowableProxy()).as("the cause, with its trace").isNotNull();
                assertThat(event.getThrowableProxy().getClassName())
                        .isEqualTo(IllegalReferenceCountException.class.getName());
            });
        }
        assertThat(second.refCnt()).as("the second write's buffer released").isZero();
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes {@code total} pseudo-random bytes while the stream is writable, then FIN; digests what it sent
     * and what comes back.
     */
    static final class Transfer extends ChannelInboundHandlerAdapter {

        static final int CHUNK = 16 * 1024;

        final MessageDigest sentDigest = sha256();
        final CompletableFuture<byte[]> receivedDigest = new CompletableFuture<>();
        final AtomicLong written = new AtomicLong();
        final AtomicLong confirmed = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        private final MessageDigest incoming = sha256();
        private final long total;
        private final Random random;

        Transfer(long total, long seed) {
            this.total = total;
            this.random = new Random(seed);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            writeWhileWritable(ctx);
            ctx.fireChannelActive();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            writeWhileWritable(ctx);
            ctx.fireChannelWritabilityChanged();
        }

        private void writeWhileWritable(ChannelHandlerContext ctx) {
            boolean wrote = false;
            while (ctx.channel().isWritable() && written.get() < total) {
                int n = (int) Math.min(CHUNK, total - written.get());
                byte[] chunk = new byte[n];
                random.nextBytes(chunk);
                sentDigest.update(chunk);
                written.addAndGet(n);
                ctx.write(Unpooled.wrappedBuffer(chunk)).addListener(f -> {
                    if (f.isSuccess()) {
                        confirmed.addAndGet(n);
                    }
                });
                wrote = true;
                if (written.get() == total) {
                    ((YamuxStreamChannel) ctx.channel()).shutdownOutput();
                }
            }
            if (wrote) {
                ctx.flush();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            received.addAndGet(buf.readableBytes());
            incoming.update(buf.nioBuffer());
            buf.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                receivedDigest.complete(incoming.digest());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            receivedDigest.completeExceptionally(new IllegalStateException("stream closed before EOF"));
        }
    }
}
