package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.picotunnel.protocol.buffer.NewBuffers;

import java.util.List;

/**
 * A WebSocket client's frame encoder (RFC 6455 5.2 and 5.3): each frame in one buffer, its payload masked eight
 * bytes at a time with a fresh mask key as it is copied in. It replaces Netty's {@code WebSocket13FrameEncoder} on the
 * tunnel client after the handshake: that one masks through {@link ByteBuf} accessors, each of which checks the
 * index and the reference count of the buffer under the payload's slice, which JFR showed as a third of the
 * client's CPU under HTTP load. Same frames on the wire, same refusal of control frames above 125 bytes.
 */
public final class MaskingWebSocketFrameEncoder extends MessageToMessageEncoder<WebSocketFrame>
        implements WebSocketFrameEncoder {

    private static final int MAX_CONTROL_PAYLOAD = 125;

    public MaskingWebSocketFrameEncoder() {
        super(WebSocketFrame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
        ByteBuf payload = frame.content();
        int opcode = opcode(frame);
        int length = payload.readableBytes();
        if (opcode >= 0x8 && length > MAX_CONTROL_PAYLOAD) {
            throw new TooLongFrameException("invalid payload for " + frame.getClass().getSimpleName()
                    + " (payload length must be <= " + MAX_CONTROL_PAYLOAD + ")");
        }
        out.add(NewBuffers.filled(ctx.alloc().buffer(FrameHeaders.length(length, true) + length), frame,
                MaskingWebSocketFrameEncoder::writeMasked));
    }

    private static void writeMasked(ByteBuf buf, WebSocketFrame frame) {
        ByteBuf payload = frame.content();
        int payloadStart = FrameHeaders.write(buf, (frame.isFinalFragment() ? 0x80 : 0) | (frame.rsv() & 0x7) << 4
                | opcode(frame), payload.readableBytes(), true);
        Masking.maskWithFreshKey(buf, payloadStart, payload);
    }

    private static int opcode(WebSocketFrame frame) {
        return switch (frame) {
            case BinaryWebSocketFrame f -> 0x2;
            case ContinuationWebSocketFrame f -> 0x0;
            case TextWebSocketFrame f -> 0x1;
            case PingWebSocketFrame f -> 0x9;
            case PongWebSocketFrame f -> 0xA;
            case CloseWebSocketFrame f -> 0x8;
            default -> throw new UnsupportedOperationException("cannot encode a " + frame.getClass().getSimpleName());
        };
    }
}
