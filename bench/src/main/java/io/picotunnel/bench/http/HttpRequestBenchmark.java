package io.picotunnel.bench.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.bench.e2e.TunnelFixture;
import io.picotunnel.protocol.net.Transport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One operation is one {@code GET /} of a 1 KiB answer on a keep-alive connection, one request at a time: straight to
 * the target ({@code direct}), through an http service of a PicoTunnel server and client in this process
 * ({@code http}, the path of bench/run.sh's HTTP row) or through a tcp service ({@code tcp}). Not in
 * {@code make bench-micro}'s table: it measures what one proxied request costs, with {@code -prof gc}
 * ({@code gc.alloc.rate.norm}: bytes allocated per request by every thread, the load's and the target's included),
 * and prints after each iteration the bytes the server's event loops allocated per request (the proxy's path alone;
 * none for {@code direct}, which has no server), the process's CPU time per request and the server's event loops' share
 * of it. An iteration is a fixed count of requests. The server's bytes move by a few bytes from one iteration to the
 * next where the whole process's move by up to 150, but by up to about 150 from one run (JVM) to the next, as the JIT
 * inlines and removes objects differently: compare the medians of several runs of each version. The CPU time moves with
 * the load (90 to 146 us per request in one run here), so compare it only within one run of a quiet machine
 * (bench/README.md has the command line). One thread only: the state holds one keep-alive connection and a plain count
 * of its requests.
 */
@State(Scope.Benchmark)
@Threads(1)
@BenchmarkMode(Mode.SingleShotTime)
@Warmup(iterations = 6)
@Measurement(iterations = 5)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class HttpRequestBenchmark {

    /**
     * Requests in each iteration, one invocation: a fixed count, not a time, so that what the process allocates in an
     * iteration whatever its requests (timers, the iteration's own bookkeeping) is spread over the same count in every
     * run.
     */
    static final int REQUESTS_PER_ITERATION = 20_000;

    private static final String DOMAIN = "bench.test";
    private static final long TIMEOUT_SECONDS = 30;
    /** The names of the server's event loop threads ({@code PicoTunnelServer}): the proxy's own allocation is theirs. */
    private static final String SERVER_LOOPS = "picotunnel-io";

    @Param({"direct", "http", "tcp"})
    public String path;

    private EventLoopGroup targetGroup;
    private Channel target;
    private TunnelFixture tunnel;
    private KeepAliveGetter getter;
    private long requests;
    private long cpuAtStart;
    private long[] serverLoops;
    private long serverBytesAtStart;
    private long serverCpuAtStart;

    @Setup(Level.Trial)
    public void open() throws Exception {
        targetGroup = Transport.newEventLoopGroup(1, "bench-http-target");
        target = new ServerBootstrap().group(targetGroup).channel(Transport.serverSocketChannel())
                .childHandler(new KibTarget())
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        InetSocketAddress targetAddress = (InetSocketAddress) target.localAddress();
        InetSocketAddress address = switch (path) {
            case "direct" -> targetAddress;
            case "http" -> (tunnel = TunnelFixture.startHttp(targetAddress, DOMAIN)).serviceAddress();
            case "tcp" -> (tunnel = TunnelFixture.start(targetAddress)).serviceAddress();
            default -> throw new IllegalArgumentException("path must be direct, http or tcp: " + path);
        };
        getter = new KeepAliveGetter(address, DOMAIN);
    }

    @Setup(Level.Iteration)
    public void startCounting() {
        requests = 0;
        cpuAtStart = processCpuNanos();
        serverLoops = serverLoops();
        serverBytesAtStart = allocatedBytes(serverLoops);
        serverCpuAtStart = cpuNanos(serverLoops);
    }

    @TearDown(Level.Iteration)
    public void printCpuPerRequest() {
        long cpu = processCpuNanos() - cpuAtStart;
        if (requests == 0) {
            return;
        }
        System.out.printf(Locale.ROOT, "  process CPU per request: %.1f us (%d requests); %s%n",
                cpu / 1000.0 / requests, requests, serverBytesPerRequest());
    }

    /** The server's loops' bytes per request of the iteration, or why there is no such number. */
    private String serverBytesPerRequest() {
        if (tunnel == null) {
            return "no server on this path, so no server's loops' bytes";
        }
        long serverBytes = allocatedBytes(serverLoops);
        if (serverBytes < 0 || serverBytesAtStart < 0) {
            return "a server's loop ended during the iteration, so its bytes are not known";
        }
        if (!Arrays.equals(serverLoops(), serverLoops)) {
            return "a server's loop started or ended during the iteration, so its bytes are not all counted";
        }
        return String.format(Locale.ROOT, "server's loops allocated %.1f B and used %.1f us of CPU per request",
                (double) (serverBytes - serverBytesAtStart) / requests,
                (cpuNanos(serverLoops) - serverCpuAtStart) / 1000.0 / requests);
    }

    private static long[] serverLoops() {
        return Thread.getAllStackTraces().keySet().stream().filter(thread -> thread.getName().startsWith(SERVER_LOOPS))
                .mapToLong(Thread::threadId).sorted().toArray();
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        if (getter != null) {
            getter.close();
        }
        if (tunnel != null) {
            tunnel.close();
        }
        if (target != null) {
            target.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        if (targetGroup != null) {
            targetGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS)
                    .awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Benchmark
    @OperationsPerInvocation(REQUESTS_PER_ITERATION)
    public long get() throws Exception {
        long bytes = 0;
        for (int i = 0; i < REQUESTS_PER_ITERATION; i++) {
            bytes += getter.get();
        }
        requests += REQUESTS_PER_ITERATION;
        return bytes;
    }

    /**
     * Heap bytes the threads allocated so far (the server's event loops live as long as the server); -1 when one of
     * them has ended, whose bytes are no longer known.
     */
    private static long allocatedBytes(long[] threads) {
        long sum = 0;
        for (long bytes : ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(threads)) {
            if (bytes < 0) {
                return -1;
            }
            sum += bytes;
        }
        return sum;
    }

    /** CPU time (user and system) the threads used so far. */
    private static long cpuNanos(long[] threads) {
        long sum = 0;
        for (long thread : threads) {
            sum += Math.max(0, ManagementFactory.getThreadMXBean().getThreadCpuTime(thread));
        }
        return sum;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
