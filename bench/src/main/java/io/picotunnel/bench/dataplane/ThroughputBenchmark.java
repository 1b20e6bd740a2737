package io.picotunnel.bench.dataplane;

import io.netty.buffer.ByteBuf;
import io.picotunnel.bench.traffic.ByteSink;
import io.picotunnel.bench.traffic.Payloads;
import io.picotunnel.bench.traffic.Pump;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One operation sends {@code sizeMiB} MiB, split evenly over {@code streams} concurrent streams, from one
 * side to the other and waits until the last byte has arrived; the same bytes travel over plain loopback
 * TCP connections ({@code direct}, the baseline), over yamux streams of one connection ({@code yamux}), or
 * through a tcp service of a PicoTunnel server and client ({@code tunnel}); see {@link Path}.
 * The connections and streams are opened once per trial, as a tunnel would keep them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ThroughputBenchmark {

    private static final Duration TRANSFER_TIMEOUT = Duration.ofSeconds(60);

    @Param({"direct", "yamux", "tunnel"})
    public String path;

    @Param({"1"})
    public int streams;

    @Param({"64"})
    public int sizeMiB;

    private ByteBuf chunk;
    private ByteSink sink;
    private List<Pump> pumps;
    private Loopback loopback;
    private long bytesPerStream;

    @Setup(Level.Trial)
    public void open() throws Exception {
        chunk = Payloads.random(Payloads.CHUNK_BYTES);
        sink = new ByteSink();
        pumps = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            pumps.add(new Pump(chunk));
        }
        loopback = Loopback.open(Path.of(path), sink, pumps);
        bytesPerStream = sizeMiB * 1024L * 1024L / streams;
    }

    @TearDown(Level.Trial)
    public void close() {
        if (loopback != null) {
            loopback.close();
        }
        chunk.release();
    }

    /** The bytes one operation moves: throughput in bytes/s is operations/s times this. */
    public static long bytesPerOperation(int sizeMiB, int streams) {
        return sizeMiB * 1024L * 1024L / streams * streams;
    }

    @Benchmark
    public void transfer() throws Exception {
        sink.expect(bytesPerStream * streams);
        for (Pump pump : pumps) {
            pump.send(bytesPerStream);
        }
        sink.await(TRANSFER_TIMEOUT);
    }
}
