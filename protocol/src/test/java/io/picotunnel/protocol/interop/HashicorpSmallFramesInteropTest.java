package io.picotunnel.protocol.interop;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.LogWatch;
import io.picotunnel.testkit.StallingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux writes 1 MiB as tiny Data frames (the Go peer's {@code -write-chunk}) on a stream it opens to
 * our {@link YamuxSession}, in either role, over TCP. Our reader starts 2 s late: meanwhile a whole window of
 * tiny frames (16384 of 16 bytes) queues up on our side, and then they are delivered one after another. Every
 * byte must arrive, byte-exact, followed by EOF, and nothing may overflow the stack on the way (issue 8: the
 * delivery used to recurse once per queued frame).
 *
 * <p>Two readers: a {@link Relay} to a TCP server that starts reading 2 s after accepting (as our client relays
 * to a target), and a handler with auto-read off that asks for its first read after 2 s and then reads again
 * from {@code channelReadComplete}, as any Netty reader does.
 */
class HashicorpSmallFramesInteropTest {

    private static final long SIZE = 1024 * 1024;
    /** The slow reader's delay: part of the scenario, not a wait for a result. */
    private static final Duration READER_DELAY = Duration.ofSeconds(2);
    private static final Duration WAIT = Duration.ofSeconds(60);

    enum Reader { RELAY_TO_SLOW_SOCKET, LATE_HANDLER }

    private GoPeerConnection connection;
    private GoPeer peer;
    private StallingServer target;
    private LogWatch overflows;

    @BeforeEach
    void watchForStackOverflow() {
        overflows = LogWatch.forThrowable(StackOverflowError.class);
    }

    @AfterEach
    void tearDown() {
        if (connection != null) {
            connection.close();
        }
        if (target != null) {
            target.close();
        }
        overflows.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(YamuxRole.values()).flatMap(ours -> Stream.of(
                Arguments.of(ours, 16, Reader.RELAY_TO_SLOW_SOCKET),
                Arguments.of(ours, 16, Reader.LATE_HANDLER),
                Arguments.of(ours, 64, Reader.RELAY_TO_SLOW_SOCKET)));
    }

    @ParameterizedTest(name = "ours {0}, {1}-byte frames, {2}")
    @MethodSource("cases")
    void tinyFramesIntoALateReaderArriveByteExactThenEof(YamuxRole ours, int frameBytes, Reader reader) {
        Received received;
        if (reader == Reader.RELAY_TO_SLOW_SOCKET) {
            target = StallingServer.readingAfter(READER_DELAY);
            connect(ours, frameBytes, new RelayTo(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    Integer.parseInt(target.address().split(":")[1]))));
            peer.send("OPEN tiny " + SIZE + " - send");

            awaitWithoutOverflow(target::reachedEof, () -> "the target read no EOF (" + target.receivedBytes() + " bytes)");
            received = new Received(target.receivedBytes(), sha256Of(target));
        } else {
            LateReader late = new LateReader(READER_DELAY);
            connect(ours, frameBytes, late);
            peer.send("OPEN tiny " + SIZE + " - send");

            awaitWithoutOverflow(late.result::isDone, () -> "the late reader saw no EOF");
            received = late.result.join();
        }

        GoPeer.StreamResult sent = peer.awaitResult("tiny");
        assertThat(sent.end()).as("the Go writer's end (%s)", sent).isEqualTo("eof");
        assertThat(sent.sent()).isEqualTo(SIZE);
        assertThat(received.bytes()).isEqualTo(SIZE);
        assertThat(received.sha256()).isEqualTo(sent.shaSent());
        overflows.assertNone();
    }

    /** Waits (bounded) for {@code done}, failing at once with what was logged if the stack overflowed. */
    private void awaitWithoutOverflow(BooleanSupplier done, Supplier<String> whatFailed) {
        try {
            await().atMost(WAIT)
                    .failFast("a StackOverflowError was logged", overflows::sawAny)
                    .until(done::getAsBoolean);
        } catch (Throwable e) {
            throw new AssertionError(whatFailed.get() + "; logged StackOverflowErrors: " + overflows.seen()
                    + "\nGo peer stderr:\n" + peer.stderr(), e);
        }
    }

    private static String sha256Of(StallingServer target) {
        try {
            return target.awaitSha256(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    record Received(long bytes, String sha256) {
    }

    /** Relays each stream the peer opens to {@code target}, dialled on the stream's event loop. */
    @ChannelHandler.Sharable
    private static final class RelayTo extends ChannelInitializer<Channel> {
        private final InetSocketAddress target;

        RelayTo(InetSocketAddress target) {
            this.target = target;
        }

        @Override
        protected void initChannel(Channel stream) {
            // Nothing is read before the relay starts; the tiny frames wait in the stream meanwhile.
            stream.config().setAutoRead(false);
            ChannelFuture dial = new Bootstrap()
                    .group(stream.eventLoop())
                    .channel(Transport.socketChannel())
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(target);
            dial.addListener((ChannelFuture connected) -> {
                if (connected.isSuccess()) {
                    Relay.start(stream, connected.channel());
                } else {
                    ((YamuxStreamChannel) stream).reset();
                }
            });
        }
    }

    /**
     * Auto-read off; the first read {@code delay} after the stream opened, then the next read from each
     * {@code channelReadComplete}. Completes with what it read at EOF, or fails if the stream ends without one.
     */
    private static final class LateReader extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Received> result = new CompletableFuture<>();
        private final Duration delay;
        private final MessageDigest digest;
        private long bytes;

        LateReader(Duration delay) {
            this.delay = delay;
            try {
                this.digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(false);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Runnable firstRead = ctx::read;
            ctx.executor().schedule(firstRead, delay.toMillis(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf data = (ByteBuf) msg;
            try {
                bytes += data.readableBytes();
                digest.update(data.nioBuffer());
            } finally {
                data.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                result.complete(new Received(bytes, HexFormat.of().formatHex(digest.digest())));
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new AssertionError("the stream ended without EOF after " + bytes + " bytes"
                    + (((YamuxStreamChannel) ctx.channel()).isReset() ? " (reset)" : "")));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }

    /** Connects our session in role {@code ours} to a Go peer in the other role that writes {@code frameBytes} per Write. */
    private void connect(YamuxRole ours, int frameBytes, ChannelHandler inboundStreams) {
        connection = GoPeerConnection.open(ours, "small-frames", inboundStreams, "-write-chunk", Integer.toString(frameBytes));
        peer = connection.peer();
    }
}
