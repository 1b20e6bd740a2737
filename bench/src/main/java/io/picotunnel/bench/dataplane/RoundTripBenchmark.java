package io.picotunnel.bench.dataplane;

import io.netty.buffer.ByteBuf;
import io.picotunnel.bench.traffic.Echo;
import io.picotunnel.bench.traffic.Payloads;
import io.picotunnel.bench.traffic.Pinger;
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

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One operation sends a small message to an echo on the other side and waits for all of it to come back,
 * over a plain loopback TCP connection ({@code direct}, the baseline), a yamux stream ({@code yamux}) or a
 * tcp service of a PicoTunnel server and client ({@code tunnel}); see {@link Path}.
 * Sampled, so the result has percentiles. The time includes handing the message to the event loop and being
 * woken by it, as an application thread would be.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RoundTripBenchmark {

    @Param({"direct", "yamux", "tunnel"})
    public String path;

    @Param({"64"})
    public int messageBytes;

    private ByteBuf message;
    private Pinger pinger;
    private Loopback loopback;

    @Setup(Level.Trial)
    public void open() throws Exception {
        message = Payloads.random(messageBytes);
        pinger = new Pinger(message);
        loopback = Loopback.open(Path.of(path), Echo.INSTANCE, List.of(pinger));
    }

    @TearDown(Level.Trial)
    public void close() {
        if (loopback != null) {
            loopback.close();
        }
        message.release();
    }

    @Benchmark
    public void roundTrip() throws Exception {
        pinger.roundTrip().get(10, TimeUnit.SECONDS);
    }
}
