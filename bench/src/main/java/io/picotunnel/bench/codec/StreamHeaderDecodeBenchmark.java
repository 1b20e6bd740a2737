package io.picotunnel.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.stream.StreamType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * The stream header as the client reads it at the start of every stream: a {@link StreamHeaderDecoder} is added
 * to the pipeline, decodes the header and removes itself. One operation is one header.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class StreamHeaderDecodeBenchmark {

    private static final StreamHeader HEADER = new StreamHeader(StreamType.TCP, "db.internal.example:5432");

    private ByteBuf encoded;
    private EmbeddedChannel channel;

    /** Bytes of the header on the wire. */
    public static int encodedLength() {
        ByteBuf buf = Unpooled.buffer();
        HEADER.encode(buf);
        int length = buf.readableBytes();
        buf.release();
        return length;
    }

    @Setup(Level.Trial)
    public void open() {
        encoded = Unpooled.directBuffer();
        HEADER.encode(encoded);
        channel = new EmbeddedChannel();
    }

    @TearDown(Level.Trial)
    public void close() {
        channel.finishAndReleaseAll();
        encoded.release();
    }

    @Benchmark
    public StreamHeader decode() {
        channel.pipeline().addLast(new StreamHeaderDecoder());
        channel.writeInbound(encoded.retainedDuplicate());
        StreamHeader header = channel.readInbound();
        if (header == null) {
            throw new IllegalStateException("the stream header was not decoded");
        }
        return header;
    }
}
