package io.picotunnel.protocol.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.stream.StreamHeaderException;
import io.picotunnel.protocol.ws.StreamingWebSocketFrameDecoder;
import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxFrameDecoder;
import io.picotunnel.protocol.yamux.YamuxProtocolException;
import io.picotunnel.protocol.yamux.YamuxSpec;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz targets for the decoders that read what a peer sends: the yamux frame decoder, the stream header decoder
 * and the WebSocket path (Netty's frame decoder as the tunnel endpoint sets it up, then our codec, then yamux).
 * Each input is cut into chunks as the network would; the only failures allowed are the decoders' own protocol
 * errors. {@code make test} runs the saved inputs (regression mode, under a second); {@code make fuzz} fuzzes each
 * target for a while ({@code JAZZER_FUZZ=1}).
 */
class ProtocolFuzzTest {

    private static final int MAX_DATA = 256 * 1024;

    /**
     * Writes {@code input} into {@code channel} as the network might deliver it: its first byte picks the chunk size
     * (1 to 256), the rest is the stream. Returns false once a decoder raised {@code protocolError}.
     */
    static boolean feed(byte[] input, EmbeddedChannel channel, Class<?>... protocolErrors) {
        if (input.length < 2) {
            return true;
        }
        int step = (input[0] & 0xff) + 1;
        for (int offset = 1; offset < input.length; offset += step) {
            ByteBuf chunk = Unpooled.wrappedBuffer(input, offset, Math.min(step, input.length - offset));
            try {
                channel.writeInbound(chunk);
            } catch (DecoderException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                if (java.util.Arrays.stream(protocolErrors).noneMatch(type -> type.isInstance(cause) || type.isInstance(e))) {
                    throw e;
                }
                return false;
            }
            drain(channel);
            if (!channel.isOpen()) {
                return false;
            }
        }
        return true;
    }

    private static void drain(EmbeddedChannel channel) {
        Object message;
        while ((message = channel.readInbound()) != null) {
            if (message instanceof YamuxFrame frame) {
                checkFrame(frame);
            }
            ReferenceCountUtil.release(message);
        }
    }

    private static void checkFrame(YamuxFrame frame) {
        assertThat(frame.type()).isBetween(0, 3);
        if (frame.type() == YamuxSpec.TYPE_DATA) {
            assertThat(frame.length()).isLessThanOrEqualTo(MAX_DATA);
            assertThat((long) frame.payload().readableBytes()).isEqualTo(frame.length());
        }
    }

    @FuzzTest(maxDuration = "60s")
    void yamuxFrameDecoder(byte[] input) {
        EmbeddedChannel channel = new EmbeddedChannel(new YamuxFrameDecoder(MAX_DATA));
        try {
            feed(input, channel, YamuxProtocolException.class);
            drain(channel);
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @FuzzTest(maxDuration = "60s")
    void streamHeaderDecoder(byte[] input) {
        EmbeddedChannel channel = new EmbeddedChannel(new StreamHeaderDecoder());
        try {
            feed(input, channel, StreamHeaderException.class);
            drain(channel);
        } finally {
            try {
                channel.finishAndReleaseAll();
            } catch (DecoderException e) {
                if (!(e.getCause() instanceof StreamHeaderException) && !(e instanceof StreamHeaderException)) {
                    throw e;
                }
            }
        }
    }

    /** Masked client frames through the decoder the tunnel endpoint uses, our byte-stream codec, and yamux. */
    @FuzzTest(maxDuration = "60s")
    void webSocketPath(byte[] input) {
        WebSocketDecoderConfig config = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(WebSocketByteStreamCodec.MAX_ACCEPTED_FRAME_PAYLOAD)
                .expectMaskedFrames(true)
                .allowExtensions(false)
                .closeOnProtocolViolation(false)
                .build();
        EmbeddedChannel channel = new EmbeddedChannel(new StreamingWebSocketFrameDecoder(config),
                new WebSocketByteStreamCodec(), new YamuxFrameDecoder(MAX_DATA));
        try {
            feed(input, channel, YamuxProtocolException.class, CorruptedWebSocketFrameException.class);
            drain(channel);
        } catch (CorruptedWebSocketFrameException e) {
            // a protocol violation: the endpoint answers it with a close frame
        } finally {
            channel.finishAndReleaseAll();
        }
    }
}
