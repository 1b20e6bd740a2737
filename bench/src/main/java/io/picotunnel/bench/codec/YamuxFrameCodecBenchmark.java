package io.picotunnel.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.bench.traffic.Payloads;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxFrameDecoder;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Data frames through the yamux frame encoder and decoder, each in an {@link EmbeddedChannel} as in the codec
 * tests (so a pipeline pass is part of every operation). One operation is one frame of {@code payloadBytes}.
 * The decoder gets {@value #FRAMES_PER_READ} frames per read, as a socket read delivers them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class YamuxFrameCodecBenchmark {

    static final int FRAMES_PER_READ = 16;

    @Param({"64", "16384"})
    public int payloadBytes;

    private ByteBuf payload;
    private ByteBuf encodedFrames;
    private EmbeddedChannel encoder;
    private EmbeddedChannel decoder;

    @Setup(Level.Trial)
    public void open() {
        payload = Payloads.random(payloadBytes);
        encoder = new EmbeddedChannel(YamuxFrameEncoder.INSTANCE);
        decoder = new EmbeddedChannel(new YamuxFrameDecoder(YamuxConfig.INITIAL_STREAM_WINDOW));
        encodedFrames = Unpooled.directBuffer();
        for (int i = 0; i < FRAMES_PER_READ; i++) {
            encodedFrames.writeBytes(encode());
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
        payload.release();
        encodedFrames.release();
    }

    @Benchmark
    public int encodeDataFrame() {
        ByteBuf encoded = encode();
        int length = encoded.readableBytes();
        encoded.release();
        return length;
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES_PER_READ)
    public long decodeDataFrames() {
        decoder.writeInbound(encodedFrames.retainedDuplicate());
        long total = 0;
        YamuxFrame frame;
        while ((frame = decoder.readInbound()) != null) {
            total += frame.length();
            frame.release();
        }
        return total;
    }

    private ByteBuf encode() {
        encoder.writeOutbound(YamuxFrame.data(0, 1, payload.retainedDuplicate()));
        return encoder.readOutbound();
    }
}
