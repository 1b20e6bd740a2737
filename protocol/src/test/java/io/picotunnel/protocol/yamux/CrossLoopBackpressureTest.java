package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.testkit.EchoServer;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A socket relayed into a stream from another event loop: every write crosses threads as a task, and the stream
 * must count those bytes against its high-water mark at once, or the relay keeps reading the socket and the
 * session buffers what the uploader sends without bound.
 */
class CrossLoopBackpressureTest {

    private static final int WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    private static final int HIGH_WATER_MARK = 64 * 1024;
    private static final long UPLOAD_LIMIT = 64L * 1024 * 1024;
    /**
     * How long the echoes may take in all while every stream keeps moving, a backstop: a stream that stops fails
     * sooner ({@link #STREAM_STALL}, {@link #ALL_STALL}). Under paranoid leak detection on this 2-core machine they
     * took 190 s and more than 300 s at a load of 20 to 26, 362 s at a load of 15.
     */
    private static final Duration ECHOES_BOUND = Duration.ofMinutes(10);
    /**
     * How long a stream whose echo has begun may move no byte before it is done: a lost wakeup stops it for good while
     * the others go on, which a wait on all the bytes sees only once they are done (up to {@link #ECHOES_BOUND} under
     * paranoid leak detection). Under paranoid detection a live stream went 13 s without a byte at a load of 7 to 12,
     * and more than 30 s at a load of 14; without it, some 50 ms.
     */
    private static final Duration STREAM_STALL = Duration.ofMinutes(2);
    /** How long no stream may move a byte: one whose echo has not begun waits behind the others (68 s, paranoid). */
    private static final Duration ALL_STALL = Duration.ofSeconds(20);
    /**
     * How long the uploader may write nothing, past the window, before its upload counts as held back: on a loaded
     * machine its thread and the loops that drain its socket may pause for some hundreds of milliseconds.
     */
    private static final Duration UPLOAD_HELD = Duration.ofSeconds(2);
    /** How long a stream may take to open, a relay to start or one stream's echo to come back, on a loaded machine. */
    private static final Duration STEP = Duration.ofSeconds(30);

    private SessionPair pair;
    private EventLoopGroup socketLoops;
    private Channel listener;
    private Socket uploader;
    private Thread writer;

    @AfterEach
    void tearDown() throws Exception {
        if (uploader != null) {
            uploader.close();
        }
        if (writer != null) {
            writer.join(10_000);
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
        if (socketLoops != null) {
            socketLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void uploadIntoAStalledStreamFromAnotherLoopHoldsAtMostWindowPlusHighWaterMark() throws Exception {
        YamuxConfig config = YamuxConfig.fixedWindow(WINDOW).withKeepAliveInterval(Duration.ZERO).withMaxStreams(16)
                .withWriteBufferHighWaterMark(HIGH_WATER_MARK);
        // The CLIENT side's stream never reads: its window fills, then the SERVER side's send window is 0.
        ChannelHandler stalledReader = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel stream) {
                stream.config().setAutoRead(false);
            }
        };
        pair = new SessionPair(config, null, stalledReader);
        socketLoops = Transport.newEventLoopGroup(1, "uploader-side");
        CompletableFuture<Channel[]> relayed = new CompletableFuture<>();
        listener = new ServerBootstrap().group(socketLoops).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel socket) {
                        socket.config().setAutoRead(false);
                        Future<YamuxStreamChannel> opened = pair.server.openStream(new HoldReads());
                        opened.addListener(f -> socket.eventLoop().execute(() -> {
                            YamuxStreamChannel stream = opened.getNow();
                            Relay.start(socket, stream);
                            relayed.complete(new Channel[] {socket, stream});
                        }));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();

        uploader = new Socket();
        uploader.connect(listener.localAddress(), (int) STEP.toMillis());
        Channel[] ends = relayed.get(STEP.toSeconds(), TimeUnit.SECONDS);
        assertThat(ends[0].eventLoop()).as("socket and stream on two event loops").isNotSameAs(ends[1].eventLoop());

        AtomicLong written = new AtomicLong();
        writer = Thread.ofPlatform().name("uploader").start(() -> {
            byte[] chunk = new byte[64 * 1024];
            try {
                OutputStream out = uploader.getOutputStream();
                while (written.get() < UPLOAD_LIMIT) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // closed by tearDown while blocked: the upload was held back, as it should be
            }
        });

        long[] last = {-1, System.nanoTime()}; // bytes written, and when they last changed
        await("the upload held back past the window, or all of it written").atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    long now = written.get();
                    if (now != last[0]) {
                        last[0] = now;
                        last[1] = System.nanoTime();
                    }
                    return now >= UPLOAD_LIMIT || (now > WINDOW && System.nanoTime() - last[1] > UPLOAD_HELD.toNanos());
                });
        assertThat(written.get()).as("the upload stalls instead of being buffered").isLessThan(UPLOAD_LIMIT);
        assertThat(written.get()).as("the window was used").isGreaterThan(WINDOW);
        assertThat(pair.client.peakStreamBufferedBytes()).as("bytes held by the reading side")
                .isGreaterThanOrEqualTo(WINDOW / 2)
                .isLessThanOrEqualTo(WINDOW + HIGH_WATER_MARK);
        assertThat(pair.server.peakStreamBufferedBytes()).as("bytes held by the writing side")
                .isLessThanOrEqualTo(WINDOW + HIGH_WATER_MARK);
    }

    @Test
    void echoesRelayedToSocketsOnAnotherLoopArriveExactlyAndNeverStall() throws Exception {
        // The client's pattern: each stream the peer opens is relayed to a target socket on another event loop;
        // both directions run at once, so writability flips from both threads. A lost wakeup stalls a stream;
        // each stream's bytes carry its own mark, so a byte duplicated or crossed over shows.
        int streams = 16;
        int bytes = 1024 * 1024;
        socketLoops = Transport.newEventLoopGroup(2, "target-side");
        List<Channel> targets = new CopyOnWriteArrayList<>();
        List<EchoCheck> checks = new ArrayList<>();
        try (EchoServer echo = new EchoServer()) {
            ChannelHandler relayToEcho = new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel stream) {
                    stream.config().setAutoRead(false);
                    new Bootstrap().group(socketLoops).channel(Transport.socketChannel())
                            .option(ChannelOption.AUTO_READ, false)
                            .handler(new ChannelInboundHandlerAdapter())
                            .connect(InetAddress.getLoopbackAddress(), echo.port())
                            .addListener((ChannelFuture f) -> stream.eventLoop().execute(() -> {
                                targets.add(f.channel());
                                assertThat(f.channel().eventLoop()).isNotSameAs(stream.eventLoop());
                                Relay.start(stream, f.channel());
                            }));
                }
            };
            // A stream's ACK waits behind the echoes of the streams open before it, in queues and on loops that
            // paranoid leak detection or a loaded machine slows: its wait is bounded by the test's, not by the 30 s of
            // the default, which are no part of what is tested here.
            YamuxConfig config = YamuxConfig.fixedWindow(WINDOW).withKeepAliveInterval(Duration.ZERO).withMaxStreams(64)
                    .withStreamOpenTimeout(ECHOES_BOUND);
            pair = new SessionPair(config, relayToEcho, null);
            List<CompletableFuture<Long>> echoed = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                CompletableFuture<Long> done = new CompletableFuture<>();
                echoed.add(done);
                EchoCheck check = new EchoCheck(bytes, done, (byte) (i + 1));
                checks.add(check);
                pair.client.openStream(check).addListener(f -> {
                    if (!f.isSuccess()) {
                        done.completeExceptionally(f.cause());
                    }
                });
            }
            // A lost wakeup stops a stream's bytes for good; a slow machine (or Netty's paranoid leak detection) only
            // slows them: fail when a stream stopped, not when the whole took long.
            String[] unfinished = {null};
            try {
                await().atMost(ECHOES_BOUND).pollInterval(Duration.ofMillis(200)).until(() -> {
                    unfinished[0] = stall(checks);
                    return echoed.stream().allMatch(CompletableFuture::isDone)
                            || echoed.stream().anyMatch(CompletableFuture::isCompletedExceptionally)
                            || unfinished[0] != null;
                });
            } catch (ConditionTimeoutException e) {
                unfinished[0] = "bytes still moving, not all echoed within " + ECHOES_BOUND;
            }
            // A check that failed (its stream closed early, a byte crossed over) says why at once, not once the
            // other streams are done.
            for (CompletableFuture<Long> done : echoed) {
                if (done.isCompletedExceptionally()) {
                    done.get();
                }
            }
            if (!echoed.stream().allMatch(CompletableFuture::isDone)) {
                StringBuilder report = new StringBuilder(unfinished[0] + "\nserver: ");
                report.append(flowReport(pair.server)).append("\nclient: ").append(flowReport(pair.client));
                for (Channel t : targets) {
                    report.append("\ntarget ").append(t).append(" active=").append(t.isActive()).append(" writable=")
                            .append(t.isWritable()).append(" autoRead=").append(t.config().isAutoRead())
                            .append(" bytesBeforeWritable=").append(t.bytesBeforeWritable());
                }
                for (EchoCheck c : checks) {
                    report.append("\n").append(c.name()).append(" sent=").append(c.sent).append(" received=")
                            .append(c.received);
                }
                throw new AssertionError(report.toString());
            }
            for (CompletableFuture<Long> done : echoed) {
                assertThat(done.get()).isEqualTo(bytes);
            }
        }
    }

    /** The session's flow report, or why there is none: its loop too busy to give one is no reason to say nothing. */
    private static String flowReport(YamuxSession session) throws InterruptedException {
        try {
            return session.flowReportSoon().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            return "(no flow report within 10 s: " + e + ")";
        }
    }

    /**
     * What says the echoes stalled, or null: a stream whose echo began and that moved no byte for
     * {@link #STREAM_STALL}, or no stream moving one for {@link #ALL_STALL}.
     */
    private static String stall(List<EchoCheck> checks) {
        long now = System.nanoTime();
        long lastMoved = Long.MIN_VALUE;
        for (EchoCheck c : checks) {
            if (c.received > 0 && c.received < c.total && now - c.lastMoved > STREAM_STALL.toNanos()) {
                return c.name() + " moved no byte for " + STREAM_STALL + " before its echo was done";
            }
            lastMoved = Math.max(lastMoved, c.lastMoved);
        }
        return now - lastMoved > ALL_STALL.toNanos() ? "no stream moved a byte for " + ALL_STALL : null;
    }

    @Test
    void aSocketThatDrainsBeforeTheRelaysHandlerIsInItsPipelineStillGetsTheRestOfTheStream() throws Exception {
        // Relay.start on the stream's loop adds the stream's handler, which reads at once, and then the socket's,
        // through a task on the socket's loop. The stream's first 64 KiB make the socket unwritable; should the
        // socket drain (and turn writable) before its handler is in place, the relay hears no writability event,
        // and the stream must not wait for one. The socket below drains right after the relay finds it unwritable,
        // as a preempted thread would see it.
        int bytes = 1024 * 1024;
        socketLoops = new MultiThreadIoEventLoopGroup(1,
                NioIoHandler.newFactory());
        try (EchoServer echo = new EchoServer()) {
            CompletableFuture<YamuxChildChannel> accepted = new CompletableFuture<>();
            ChannelHandler holdReads = new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel stream) {
                    stream.config().setAutoRead(false);
                    accepted.complete((YamuxChildChannel) stream);
                }
            };
            YamuxConfig config = YamuxConfig.fixedWindow(WINDOW).withKeepAliveInterval(Duration.ZERO).withMaxStreams(16)
                    .withWriteBufferHighWaterMark(HIGH_WATER_MARK);
            pair = new SessionPair(config, holdReads, null);
            CompletableFuture<Long> echoed = new CompletableFuture<>();
            pair.client.openStream(new EchoCheck(bytes, echoed, (byte) 7));
            YamuxChildChannel stream = accepted.get(STEP.toSeconds(), TimeUnit.SECONDS);
            await().atMost(STEP).until(
                    () -> stream.eventLoop().submit(stream::inboundQueuedBytes).get(10, TimeUnit.SECONDS) == WINDOW);
            DrainsWhenFoundUnwritable socket = (DrainsWhenFoundUnwritable) new Bootstrap()
                    .group(socketLoops).channel(DrainsWhenFoundUnwritable.class)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(echo.socketAddress()).sync().channel();

            Future<?> started = stream.eventLoop().submit(() -> Relay.start(stream, socket));
            assertThat(started.await(STEP.toMillis())).as("the relay's start on the stream's loop ended").isTrue();
            assertThat(started.cause()).as("what the relay's start threw").isNull();

            try {
                assertThat(echoed.get(STEP.toSeconds(), TimeUnit.SECONDS)).isEqualTo(bytes);
            } catch (TimeoutException e) {
                throw new AssertionError("stalled; server: " + flowReport(pair.server) + "; socket writable="
                        + socket.isWritable(), e);
            }
            assertThat(socket.drainedWhileUnwritable).as("the socket drained after the relay found it unwritable")
                    .isTrue();
        }
    }

    /** Before: "yamux stream 0 (mark 3)", an id no stream has, as if one had been opened. */
    @Test
    void anEchoCheckWhoseStreamWasNotYetOpenedIsNamedSo() {
        EchoCheck check = new EchoCheck(1, new CompletableFuture<>(), (byte) 3);

        assertThat(check.name()).isEqualTo("a yamux stream not yet opened (mark 3)");
    }

    /**
     * The first time another thread finds it unwritable, waits (bounded) until its own loop has written everything
     * and fired the writability events, then answers "unwritable" as read before.
     */
    public static final class DrainsWhenFoundUnwritable extends NioSocketChannel {
        volatile boolean drainedWhileUnwritable;
        private volatile boolean armed = true;

        @Override
        public boolean isWritable() {
            boolean writable = super.isWritable();
            if (!writable && armed && !eventLoop().inEventLoop()) {
                armed = false;
                await().atMost(STEP).until(this::writableOnceTheLoopCaughtUp);
                // The writability event, fired later from a write task, has run too.
                drainedWhileUnwritable = caughtUp();
            }
            return writable;
        }

        private boolean writableOnceTheLoopCaughtUp() {
            return caughtUp() && super.isWritable();
        }

        /** Whether the loop ran what was queued on it before now, within {@link #STEP}. */
        private boolean caughtUp() {
            return eventLoop().submit(() -> { }).awaitUninterruptibly(STEP.toMillis());
        }
    }

    /** Writes {@code total} bytes as the stream allows and completes once as many came back. */
    private static final class EchoCheck extends ChannelInboundHandlerAdapter {
        private final int total;
        private final CompletableFuture<Long> done;
        /** Written on the client's loop, read by the test's progress check. */
        private volatile long sent;
        private volatile long received;
        /** When a byte last went or came (System.nanoTime). */
        private volatile long lastMoved = System.nanoTime();
        /** The yamux stream's id once the stream is open, 0 before (no stream has it); what a failure names. */
        private volatile int streamId;

        private final byte mark;

        EchoCheck(int total, CompletableFuture<Long> done, byte mark) {
            this.total = total;
            this.done = done;
            this.mark = mark;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            streamId = ((YamuxStreamChannel) ctx.channel()).streamId();
            writeWhileWritable(ctx);
        }

        /** The stream's id and mark: "yamux stream 5 (mark 3)", or "a yamux stream not yet opened (mark 3)". */
        String name() {
            int id = streamId;
            return (id == 0 ? "a yamux stream not yet opened" : "yamux stream " + id) + " (mark " + mark + ")";
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            writeWhileWritable(ctx);
        }

        private void writeWhileWritable(ChannelHandlerContext ctx) {
            while (sent < total && ctx.channel().isWritable()) {
                int n = (int) Math.min(16 * 1024, total - sent);
                ByteBuf b = ctx.alloc().buffer(n);
                for (int k = 0; k < n; k++) {
                    b.writeByte(mark);
                }
                ctx.write(b);
                sent += n;
                lastMoved = System.nanoTime();
            }
            ctx.flush();
        }

        /** A stream reset or closed before its echo came back (its open timed out, say) says so. */
        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.completeExceptionally(new AssertionError(name() + " closed after " + sent + " bytes sent and "
                    + received + " received"));
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            for (int k = in.readerIndex(); k < in.writerIndex(); k++) {
                if (in.getByte(k) != mark) {
                    done.completeExceptionally(new AssertionError(name() + " got byte " + in.getByte(k) + " at offset "
                            + (received + k - in.readerIndex()) + " in a buffer of " + in.readableBytes()));
                    break;
                }
            }
            received += in.readableBytes();
            lastMoved = System.nanoTime();
            ((ByteBuf) msg).release();
            if (received >= total) {
                done.complete(received);
                ctx.close();
            }
        }
    }

    /** Keeps a new stream from reading until the relay takes over. */
    private static final class HoldReads extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(false);
        }
    }
}
