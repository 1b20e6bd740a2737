package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Hold;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The session's count of bytes held for readers must come back to exactly 0 once every stream is gone, however
 * the streams end: a drift upward by bytes no stream holds any more would, over days, push the session over its
 * buffer limit for good, and then every stream would be reset. Streams of random behaviours (fast, stalled for a
 * while or for good, closed early by the reader, reset by the peer, half-closed, held by a {@link Hold} then
 * released or dropped, closed before their reader is set up) under a limit they cross again and again; readers
 * consume on an event loop of their own, so reads, closes and {@code countHeld} cross threads. Streams not reset
 * get their bytes exactly.
 */
class HeldBytesAccountingStressTest {

    private static final int STREAMS = 200;
    private static final int MAX_BYTES = 256 * 1024;
    private static final long LIMIT = 4L * YamuxSpec.INITIAL_STREAM_WINDOW;

    enum Behaviour { FAST, STALL_THEN_RESUME, STALL_LONG, STALL_FOREVER, CLOSE_EARLY, PEER_RESET, HALF_CLOSE,
        HOLD_RELEASED, HOLD_DROPPED, CLOSED_AT_ONCE }

    private SessionPair pair;
    private EventLoopGroup readerLoops;

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.close();
        }
        if (readerLoops != null) {
            readerLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void heldBytesComeBackToZeroWhenEveryStreamIsGoneAndStreamsNotResetGetTheirBytesExactly() throws Exception {
        long seed = Long.getLong("stress.seed", new Random().nextLong());
        String about = "seed " + seed + " (rerun with -Dstress.seed=" + seed + ")";
        Random random = new Random(seed);
        readerLoops = Transport.newEventLoopGroup(1, "stream-readers");
        EventLoop readerLoop = readerLoops.next();

        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            plans.add(new Plan(i, Behaviour.values()[random.nextInt(Behaviour.values().length)],
                    random.nextInt(MAX_BYTES + 1), random.nextLong(), 20 + random.nextInt(280)));
        }
        ChannelInitializer<Channel> serverStreams = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                YamuxStreamChannel stream = (YamuxStreamChannel) ch;
                Plan plan = plans.get((stream.streamId() - 1) / 2);
                plan.serverStream = stream;
                stream.closeFuture().addListener(f -> plan.serverClosed.complete(null));
                stream.config().setAutoRead(false);
                if (plan.behaviour == Behaviour.CLOSED_AT_ONCE) {
                    stream.close();
                    return;
                }
                Reader reader = new Reader(plan, readerLoop);
                if (plan.behaviour == Behaviour.HOLD_RELEASED || plan.behaviour == Behaviour.HOLD_DROPPED) {
                    Hold hold = new Hold(stream::countHeld);
                    stream.pipeline().addLast(new ReadOnce(), hold, reader);
                    readerLoop.schedule(() -> stream.eventLoop().execute(() -> {
                        if (plan.behaviour == Behaviour.HOLD_RELEASED) {
                            hold.release();
                        } else {
                            hold.discard();
                            stream.close();
                        }
                    }), plan.pauseMillis, TimeUnit.MILLISECONDS);
                } else {
                    stream.pipeline().addLast(reader);
                }
            }
        };
        YamuxConfig config = YamuxConfig.defaults().withMaxStreamWindow(2 * YamuxSpec.INITIAL_STREAM_WINDOW)
                .withKeepAliveInterval(Duration.ZERO).withMaxStreams(STREAMS).withSessionBufferLimit(LIMIT);
        pair = new SessionPair(config, serverStreams, null);

        for (Plan plan : plans) {
            pair.client.openStream(new Writer(plan)).sync();
        }
        YamuxSession server = plans.get(0).serverSession();

        await().atMost(Duration.ofSeconds(20)).until(() -> plans.stream()
                .filter(p -> p.behaviour != Behaviour.STALL_FOREVER).allMatch(p -> p.serverClosed.isDone()));
        assertThat(plans).as(about).allSatisfy(Plan::checkBytes);
        assertThat(plans).as("the limit was crossed and reset streams, " + about)
                .anyMatch(p -> p.serverStream != null && p.serverStream.isReset() && p.behaviour != Behaviour.PEER_RESET
                        && p.behaviour != Behaviour.STALL_FOREVER);
        assertThat(plans).as("streams got their bytes whole, " + about)
                .anyMatch(p -> p.eof && !p.serverStream.isReset() && p.data.length > LIMIT / 8);

        // Readers that never read: their streams go when the session does.
        pair.clientParent.close().sync();
        await().atMost(Duration.ofSeconds(10)).until(() -> plans.stream().allMatch(p -> p.serverClosed.isDone()));
        // Tasks the readers' loop still had for closed streams (a countHeld, a read) are done.
        readerLoop.submit(() -> { }).sync();
        long serverHeld = server.parent().eventLoop().submit(server::inboundHeld).get(10, TimeUnit.SECONDS);
        long clientHeld = pair.clientParent.eventLoop().submit(pair.client::inboundHeld).get(10, TimeUnit.SECONDS);
        assertThat(serverHeld).as("bytes the server's session counts as held, " + about).isZero();
        assertThat(clientHeld).as("bytes the client's session counts as held, " + about).isZero();
    }

    /** One stream: what the client sends, how the server's reader behaves, what it got. */
    static final class Plan {
        final int index;
        final Behaviour behaviour;
        final byte[] data;
        final long expectedCrc;
        final int pauseMillis;
        final CompletableFuture<Void> serverClosed = new CompletableFuture<>();
        volatile YamuxStreamChannel serverStream;
        // Written on the readers' loop only.
        final CRC32 crc = new CRC32();
        volatile long received;
        volatile boolean eof;

        Plan(int index, Behaviour behaviour, int bytes, long dataSeed, int pauseMillis) {
            this.index = index;
            this.behaviour = behaviour;
            this.data = new byte[bytes];
            new Random(dataSeed).nextBytes(data);
            CRC32 expected = new CRC32();
            expected.update(data);
            this.expectedCrc = expected.getValue();
            this.pauseMillis = behaviour == Behaviour.STALL_LONG ? 1000 + pauseMillis * 5 : pauseMillis;
        }

        YamuxSession serverSession() {
            await().atMost(Duration.ofSeconds(10)).until(() -> serverStream != null || serverClosed.isDone());
            return serverStream.session();
        }

        boolean readsToTheEnd() {
            return switch (behaviour) {
                case FAST, STALL_THEN_RESUME, STALL_LONG, HALF_CLOSE, HOLD_RELEASED -> true;
                default -> false;
            };
        }

        void checkBytes() {
            if (!readsToTheEnd() || serverStream.isReset()) {
                return;
            }
            assertThat(eof).as("stream %d (%s) reached its end", index, behaviour).isTrue();
            assertThat(received).as("bytes of stream %d (%s)", index, behaviour).isEqualTo(data.length);
            assertThat(crc.getValue()).as("checksum of stream %d (%s)", index, behaviour).isEqualTo(expectedCrc);
        }
    }

    /** The client's side: sends the plan's bytes then FIN, or part of them then RST. */
    static final class Writer extends ChannelInboundHandlerAdapter {
        private final Plan plan;

        Writer(Plan plan) {
            this.plan = plan;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            YamuxStreamChannel stream = (YamuxStreamChannel) ctx.channel();
            if (plan.behaviour == Behaviour.PEER_RESET) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(plan.data, 0, plan.data.length / 2));
                ctx.executor().schedule(() -> stream.reset(), plan.pauseMillis, TimeUnit.MILLISECONDS);
            } else {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(plan.data));
                ctx.close();
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
        }
    }

    /** Asks for one read, as a dialler does for the stream header, so a hold after it has something to hold. */
    static final class ReadOnce extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            ctx.fireChannelActive();
        }
    }

    /**
     * The server's reader: takes each buffer over to the readers' loop (counting it as held meanwhile) and asks
     * for more from there, once its pause (if any) is over.
     */
    static final class Reader extends ChannelInboundHandlerAdapter {
        private final Plan plan;
        private final EventLoop loop;
        private volatile boolean paused;

        Reader(Plan plan, EventLoop loop) {
            this.plan = plan;
            this.loop = loop;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            YamuxStreamChannel stream = (YamuxStreamChannel) ctx.channel();
            switch (plan.behaviour) {
                case STALL_THEN_RESUME, STALL_LONG, HALF_CLOSE -> {
                    paused = true;
                    loop.schedule(() -> {
                        paused = false;
                        stream.read();
                    }, plan.pauseMillis, TimeUnit.MILLISECONDS);
                }
                case STALL_FOREVER, HOLD_RELEASED, HOLD_DROPPED -> paused = true;
                default -> { }
            }
            if (plan.behaviour == Behaviour.HALF_CLOSE) {
                stream.shutdownOutput();
            }
            if (plan.behaviour == Behaviour.HOLD_RELEASED) {
                // Reads resume once the hold has passed on what it held.
                loop.schedule(() -> {
                    paused = false;
                    stream.read();
                }, plan.pauseMillis, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (!paused && plan.behaviour != Behaviour.HOLD_RELEASED) {
                ctx.read();
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            YamuxStreamChannel stream = (YamuxStreamChannel) ctx.channel();
            ByteBuf data = (ByteBuf) msg;
            int bytes = data.readableBytes();
            stream.countHeld(bytes);
            loop.execute(() -> {
                plan.crc.update(data.nioBuffer());
                plan.received += bytes;
                data.release();
                stream.countHeld(-bytes);
                if (plan.behaviour == Behaviour.CLOSE_EARLY && plan.received >= plan.data.length / 3) {
                    stream.close();
                } else if (!paused) {
                    stream.read();
                }
            });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                Channel stream = ctx.channel();
                loop.execute(() -> {
                    plan.eof = true;
                    stream.close();
                });
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
