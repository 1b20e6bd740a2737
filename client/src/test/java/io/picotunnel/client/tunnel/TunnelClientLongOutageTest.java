package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.AbstractScheduledEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.PlatformDependent;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client left running against a server that is down, or answers wrongly, retries for days: whatever each failed
 * attempt leaves behind (a thread, a socket, a buffer, an SSL engine, a timer not cancelled) grows into an outage. Each
 * test drives {@link #ATTEMPTS} failed attempts a millisecond apart (the backoff's seam) and compares what the process
 * holds then with what it held after {@link #WARM_UP} attempts; paranoid leak detection reports a buffer dropped
 * unreleased, however small. It does not track the client's SSL engines (BoringSSL's OpenSslEngine): the TLS handler
 * frees each as its connection closes, and a finalizer one it did not.
 */
class TunnelClientLongOutageTest extends ClientTestBase {

    private static final String TOKEN = "o".repeat(64);
    private static final int WARM_UP = 30;
    private static final int ATTEMPTS = 300;
    /** One or two attempts in flight at either count: a socket each, the server's end of it, an epoll or timer fd. */
    private static final int SPARE_DESCRIPTORS = 8;
    /** GlobalEventExecutor's thread and the virtual threads' carriers come and go. */
    private static final int SPARE_THREADS = 4;
    /** An attempt's timers (lookup, connect, TLS, upgrade) and the reconnection. */
    private static final int SPARE_SCHEDULED = 5;
    /**
     * The allocator takes its memory in chunks of 256 KiB: attempts in flight may hold one or two more. A leak of 4 KiB
     * per attempt is 1.2 MiB after {@link #ATTEMPTS}; a smaller one is for the leak detector.
     */
    private static final long SPARE_DIRECT_BYTES = 1L << 20;

    /** How the server is out. */
    enum Outage {
        /** Nothing listens on its port. */
        REFUSED,
        /** Connections are accepted and closed at once. */
        ACCEPTS_AND_CLOSES,
        /** The upgrade is answered 500 Internal Server Error, and the connection left open. */
        ANSWERS_500,
        /** wss:// with a certificate no trusted CA signed. */
        UNTRUSTED_CERTIFICATE,
        /** Connections are accepted and read, and nothing is ever answered: the upgrade's timeout ends each. */
        NEVER_ANSWERS
    }

    private EventLoopGroup serverGroup;
    private final ResourceLeakDetector.Level leakLevelBefore = ResourceLeakDetector.getLevel();

    @AfterEach
    void stopServer() {
        ResourceLeakDetector.setLevel(leakLevelBefore);
        if (serverGroup != null) {
            serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(Outage.class)
    void manyFailedAttemptsLeaveNoThreadSocketBufferOrTimerBehind(Outage outage) throws Exception {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        reportEarlierTestsLeaks();
        String server = outage == Outage.REFUSED ? refusedAddress() : serverFor(outage);
        ClientConfig config = ClientConfig.of(ServerAddress.parse(server), TOKEN).withShutdownGrace(Duration.ZERO);
        Backoff everyMillisecond = new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime,
                Duration.ofMillis(1), Duration.ofMillis(1));
        // The upgrade's timeout is the attempt's length only when the server never answers; else a timer left
        // scheduled would stay for the default 10 s, through all the attempts.
        Duration handshakeTimeout = outage == Outage.NEVER_ANSWERS ? Duration.ofMillis(20)
                : TunnelConnector.HANDSHAKE_TIMEOUT;

        try (LogCapture attempts = new LogCapture(TunnelClient.class, Level.WARN);
             LogCapture leaks = new LogCapture(ResourceLeakDetector.class, Level.ERROR)) {
            client = new TunnelClient(config, YamuxConfig.defaults(), everyMillisecond, config.connectTimeout(),
                    handshakeTimeout);
            client.start();
            awaitFailedAttempts(attempts, WARM_UP);
            Usage baseline = Usage.of(client);
            // Where Netty does not count its direct memory, usedDirectMemory() is -1 at both counts: no check at all.
            assertThat(baseline.directMemory()).as("Netty counts its direct memory (-1 where it does not)")
                    .isNotNegative();
            awaitFailedAttempts(attempts, WARM_UP + ATTEMPTS);
            Usage after = Usage.of(client);

            assertThat(failedAttempts(attempts).getFirst()).as("the attempts fail as %s", outage)
                    .contains(expectedCause(outage));
            String growth = "after " + ATTEMPTS + " attempts: " + after + "; after " + WARM_UP + ": " + baseline;
            assertThat(after.threads()).as("live threads " + growth)
                    .isLessThanOrEqualTo(baseline.threads() + SPARE_THREADS);
            assertThat(after.descriptors()).as("open file descriptors " + growth)
                    .isLessThanOrEqualTo(baseline.descriptors() + SPARE_DESCRIPTORS);
            assertThat(after.scheduled()).as("tasks scheduled on the client's loop " + growth)
                    .isLessThanOrEqualTo(baseline.scheduled() + SPARE_SCHEDULED);
            assertThat(after.directMemory()).as("Netty's direct memory " + growth)
                    .isLessThanOrEqualTo(baseline.directMemory() + SPARE_DIRECT_BYTES);
            assertThat(after.allocatorDirectMemory()).as("the allocator's direct memory " + growth)
                    .isLessThanOrEqualTo(baseline.allocatorDirectMemory() + SPARE_DIRECT_BYTES);

            // A leak is reported when the next buffer is tracked after the collector found it: the attempts after a
            // collection allocate some.
            System.gc();
            awaitFailedAttempts(attempts, WARM_UP + ATTEMPTS + WARM_UP);
            assertThat(leaks.messages(Level.ERROR)).as("leaks Netty's detector reported").isEmpty();
        }
    }

    /**
     * Has the detector report, before this test counts what it reports, the buffers earlier tests in this JVM dropped
     * unreleased (tracked under paranoid detection, or sampled): the collection before the last attempts would find
     * them too, and their report would fail this test for another's leak.
     */
    private static void reportEarlierTestsLeaks() throws InterruptedException {
        ReferenceQueue<Object> collected = new ReferenceQueue<>();
        WeakReference<Object> sentinel = new WeakReference<>(new Object(), collected);
        System.gc();
        // The reference handler queues what a collection found together: once the sentinel is queued, so are the
        // earlier tests' buffers, and the next tracked buffer has the detector log them.
        // Bounded: where System.gc() is turned off the sentinel stays, and so does the leak the check would find.
        collected.remove(Duration.ofSeconds(5).toMillis());
        Reference.reachabilityFence(sentinel);
        ByteBufAllocator.DEFAULT.directBuffer(1).release();
    }

    private static void awaitFailedAttempts(LogCapture log, int count) {
        await().atMost(Duration.ofSeconds(60)).until(() -> failedAttempts(log).size() >= count);
    }

    private static List<String> failedAttempts(LogCapture log) {
        return log.messages(Level.WARN).stream().filter(line -> line.startsWith("cannot connect to ")).toList();
    }

    private static String expectedCause(Outage outage) {
        return switch (outage) {
            case REFUSED -> "refused";
            case ACCEPTS_AND_CLOSES -> "closed";
            case ANSWERS_500 -> "500";
            case UNTRUSTED_CERTIFICATE -> "certificate";
            case NEVER_ANSWERS -> "20 ms";
        };
    }

    private static String refusedAddress() {
        int port = Ports.freePort();
        assertThat(Ports.refuses(port)).as("nothing listens on port %d", port).isTrue();
        return "ws://127.0.0.1:" + port;
    }

    /** A server on 127.0.0.1 that is out as {@code outage} says; its ws:// or wss:// address. */
    private String serverFor(Outage outage) throws Exception {
        SslContext tls = outage == Outage.UNTRUSTED_CERTIFICATE ? untrustedTls() : null;
        serverGroup = Transport.newEventLoopGroup(1, "outage-server");
        Channel listener = new ServerBootstrap()
                .group(serverGroup)
                .channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new OutOfOrder(outage));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        return (tls != null ? "wss" : "ws") + "://127.0.0.1:" + port;
    }

    private static SslContext untrustedTls() throws Exception {
        ClientTlsTest.Certificate certificate = ClientTlsTest.Certificate.selfSigned("localhost");
        return SslContextBuilder.forServer(certificate.key(), certificate.cert()).build();
    }

    /** What the server does with each connection; it closes its end when the client closes its own. */
    private static final class OutOfOrder extends ChannelInboundHandlerAdapter {
        private static final byte[] ERROR_500 = ("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n"
                + "Content-Type: text/plain\r\n\r\noops\n").getBytes(StandardCharsets.US_ASCII);
        private final Outage outage;
        private boolean answered;

        OutOfOrder(Outage outage) {
            this.outage = outage;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (outage == Outage.ACCEPTS_AND_CLOSES) {
                ctx.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            if (outage == Outage.ANSWERS_500 && !answered) {
                answered = true;
                ctx.writeAndFlush(Unpooled.wrappedBuffer(ERROR_500));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** What the process holds, in what a leak per attempt would grow. */
    record Usage(int threads, long descriptors, int scheduled, long directMemory, long allocatorDirectMemory) {

        static Usage of(TunnelClient client) throws Exception {
            return new Usage(ManagementFactory.getThreadMXBean().getThreadCount(), openDescriptors(),
                    scheduledTasks(client.loop()), PlatformDependent.usedDirectMemory(),
                    ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory());
        }

        private static long openDescriptors() {
            try (Stream<Path> descriptors = Files.list(Path.of("/proc/self/fd"))) {
                return descriptors.count();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The tasks scheduled on {@code loop} and not run yet, counted on the loop (Netty keeps its queue private). */
        private static int scheduledTasks(EventExecutor loop) throws Exception {
            Method queue = AbstractScheduledEventExecutor.class.getDeclaredMethod("scheduledTaskQueue");
            queue.setAccessible(true);
            return loop.submit(() -> ((Collection<?>) queue.invoke(loop)).size()).get(10, TimeUnit.SECONDS);
        }
    }
}
