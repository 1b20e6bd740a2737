package io.picotunnel.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.picotunnel.bench.traffic.Payloads;
import io.picotunnel.protocol.ws.MaskingWebSocketFrameEncoder;
import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.ws.YamuxWebSocketFrameEncoder;
import io.picotunnel.protocol.yamux.YamuxFrame;
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

import java.util.concurrent.TimeUnit;

/**
 * One yamux Data frame of {@code payloadBytes} through the outbound handlers of a tunnel's WebSocket connection, as
 * the {@code server} (unmasked frames) or the {@code client} (masked) has them after the handshake: the WebSocket
 * byte stream codec (which the frame passes), the yamux-to-WebSocket encoder, the WebSocket frame encoder (which its
 * bytes pass). Run it with {@code -prof gc}: the bytes allocated per frame ({@code gc.alloc.rate.norm}) count the
 * copies and objects of the tunnel's write path.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TunnelFrameWriteBenchmark {

    @Param({"server", "client"})
    public String side;

    @Param({"64", "1024", "16384"})
    public int payloadBytes;

    private ByteBuf payload;
    private EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void open() {
        payload = Payloads.random(payloadBytes);
        ChannelHandler frameEncoder = switch (side) {
            case "server" -> new WebSocket13FrameEncoder(false);
            case "client" -> new MaskingWebSocketFrameEncoder();
            default -> throw new IllegalArgumentException("side must be server or client: " + side);
        };
        YamuxWebSocketFrameEncoder yamuxEncoder = side.equals("server")
                ? YamuxWebSocketFrameEncoder.unmasked() : YamuxWebSocketFrameEncoder.masked();
        channel = new EmbeddedChannel(frameEncoder, yamuxEncoder, new WebSocketByteStreamCodec());
    }

    @TearDown(Level.Trial)
    public void close() {
        channel.finishAndReleaseAll();
        payload.release();
    }

    @Benchmark
    public int writeDataFrame() {
        channel.writeOutbound(YamuxFrame.data(0, 1, payload.retainedDuplicate()));
        int length = 0;
        ByteBuf wire;
        while ((wire = channel.readOutbound()) != null) {
            length += wire.readableBytes();
            wire.release();
        }
        return length;
    }
}
