package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.buffer.NewBuffers;


/**
 * WebSocket frames (RFC 6455) from bytes, like Netty's {@code WebSocket08FrameDecoder} with the same checks and
 * {@link WebSocketDecoderConfig}, but without copying payloads: a data frame's payload goes on as slices of the
 * buffers read (unmasked in place), one {@link WebSocketFrame} per piece the reads cut it into, the first of the
 * frame's type and the others {@link ContinuationWebSocketFrame}s; only the last piece of a final frame is final.
 * A tunnel's byte stream gives message boundaries no meaning ({@link WebSocketByteStreamCodec}), so nothing waits
 * for a whole frame. Control frames (at most 125 bytes) are passed on whole.
 *
 * <p>A protocol violation discards everything after it and raises a {@link CorruptedWebSocketFrameException} with
 * the close status (1009 for a frame over the size limit, else 1002); with {@code closeOnProtocolViolation} a close
 * frame with that status is sent first and the connection closed.
 */
public final class StreamingWebSocketFrameDecoder extends ChannelInboundHandlerAdapter implements WebSocketFrameDecoder {

    private static final int OPCODE_CONTINUATION = 0x0;
    private static final int OPCODE_TEXT = 0x1;
    private static final int OPCODE_BINARY = 0x2;
    private static final int OPCODE_CLOSE = 0x8;
    private static final int OPCODE_PING = 0x9;
    private static final int OPCODE_PONG = 0xA;
    private static final int MAX_CONTROL_PAYLOAD = 125;

    private enum State { HEADER, DATA_PAYLOAD, CONTROL_PAYLOAD, CORRUPT }

    private final WebSocketDecoderConfig config;
    /** The header being read: at most 2 + 8 (length) + 4 (mask) bytes. */
    private final byte[] header = new byte[14];
    private final byte[] mask = new byte[4];
    private State state = State.HEADER;
    private int headerRead;
    private boolean finalFrame;
    private int rsv;
    private int opcode;
    private boolean masked;
    private long remaining;
    /** Position of the next payload byte in the frame, for the mask. */
    private long payloadIndex;
    /** No piece of the current data frame went on yet. */
    private boolean firstPiece;
    /** A fragmented data message is open: only continuation frames (and control frames) may come. */
    private boolean inFragmentedMessage;
    private ByteBuf controlPayload;

    public StreamingWebSocketFrameDecoder(WebSocketDecoderConfig config) {
        this.config = config;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            decode(ctx, in);
        } finally {
            in.release();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseControlPayload();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseControlPayload();
        ctx.fireChannelInactive();
    }

    private void decode(ChannelHandlerContext ctx, ByteBuf in) {
        while (in.isReadable()) {
            switch (state) {
                case CORRUPT -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
                case HEADER -> {
                    if (!readHeader(ctx, in)) {
                        return;
                    }
                }
                case DATA_PAYLOAD -> readDataPayload(ctx, in);
                case CONTROL_PAYLOAD -> readControlPayload(ctx, in);
            }
        }
    }

    /** Reads header bytes; true once the whole header is in and checked (state changed). */
    private boolean readHeader(ChannelHandlerContext ctx, ByteBuf in) {
        int needed = headerLength();
        while (headerRead < needed && in.isReadable()) {
            header[headerRead++] = in.readByte();
            needed = headerLength();
        }
        if (headerRead < needed) {
            return false;
        }
        headerRead = 0;
        onHeader(ctx, needed);
        return true;
    }

    /** The header's length as far as the bytes read so far tell it. */
    private int headerLength() {
        if (headerRead < 2) {
            return 2;
        }
        int length7 = header[1] & 0x7F;
        int extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
        return 2 + extended + ((header[1] & 0x80) != 0 ? 4 : 0);
    }

    private void onHeader(ChannelHandlerContext ctx, int length) {
        finalFrame = (header[0] & 0x80) != 0;
        rsv = (header[0] & 0x70) >> 4;
        opcode = header[0] & 0x0F;
        masked = (header[1] & 0x80) != 0;
        int length7 = header[1] & 0x7F;
        long payloadLength;
        if (length7 == 126) {
            payloadLength = ((header[2] & 0xFF) << 8) | (header[3] & 0xFF);
        } else if (length7 == 127) {
            payloadLength = 0;
            for (int i = 2; i < 10; i++) {
                payloadLength = (payloadLength << 8) | (header[i] & 0xFF);
            }
        } else {
            payloadLength = length7;
        }
        if (masked) {
            System.arraycopy(header, length - 4, mask, 0, 4);
        }
        if (rsv != 0 && !config.allowExtensions()) {
            violation(ctx, "RSV != 0 and no extension negotiated, RSV:" + rsv);
            return;
        }
        if (!config.allowMaskMismatch() && config.expectMaskedFrames() != masked) {
            violation(ctx, "received a frame that is not masked as expected");
            return;
        }
        if (opcode > 7) {
            if (!finalFrame) {
                violation(ctx, "fragmented control frame");
                return;
            }
            if (payloadLength > MAX_CONTROL_PAYLOAD) {
                violation(ctx, "control frame with payload length > 125 octets");
                return;
            }
            if (opcode != OPCODE_CLOSE && opcode != OPCODE_PING && opcode != OPCODE_PONG) {
                violation(ctx, "control frame using reserved opcode " + opcode);
                return;
            }
            if (opcode == OPCODE_CLOSE && payloadLength == 1) {
                violation(ctx, "received close control frame with payload len 1");
                return;
            }
        } else {
            if (opcode != OPCODE_CONTINUATION && opcode != OPCODE_TEXT && opcode != OPCODE_BINARY) {
                violation(ctx, "data frame using reserved opcode " + opcode);
                return;
            }
            if (!inFragmentedMessage && opcode == OPCODE_CONTINUATION) {
                violation(ctx, "received continuation data frame outside fragmented message");
                return;
            }
            if (inFragmentedMessage && opcode != OPCODE_CONTINUATION) {
                violation(ctx, "received non-continuation data frame while inside fragmented message");
                return;
            }
        }
        if ((length7 == 126 && payloadLength < 126) || (length7 == 127 && payloadLength < 65536)) {
            violation(ctx, "invalid data frame length (not using minimal length encoding)");
            return;
        }
        if (payloadLength < 0 || payloadLength > config.maxFramePayloadLength()) {
            violation(ctx, WebSocketCloseStatus.MESSAGE_TOO_BIG,
                    "Max frame length of " + config.maxFramePayloadLength() + " has been exceeded.");
            return;
        }
        remaining = payloadLength;
        payloadIndex = 0;
        if (opcode > 7) {
            controlPayload = ctx.alloc().heapBuffer((int) payloadLength, (int) payloadLength);
            state = State.CONTROL_PAYLOAD;
            if (payloadLength == 0) {
                finishControlFrame(ctx);
            }
            return;
        }
        inFragmentedMessage = !finalFrame;
        firstPiece = true;
        state = State.DATA_PAYLOAD;
        if (payloadLength == 0) {
            // An empty data frame still says where a message ends.
            firePiece(ctx, Unpooled.EMPTY_BUFFER);
            state = State.HEADER;
        }
    }

    private void readDataPayload(ChannelHandlerContext ctx, ByteBuf in) {
        int length = (int) Math.min(remaining, in.readableBytes());
        ByteBuf piece;
        if (masked) {
            piece = unmaskedPiece(ctx, in, length);
        } else {
            piece = in.readRetainedSlice(length);
        }
        remaining -= length;
        if (remaining == 0) {
            state = State.HEADER;
        }
        firePiece(ctx, piece);
    }

    /**
     * The next {@code length} bytes of {@code in} unmasked: in place in a slice, or in a copy when {@code in} is
     * read-only. A copy or an unmasking that fails releases the piece.
     */
    private ByteBuf unmaskedPiece(ChannelHandlerContext ctx, ByteBuf in, int length) {
        ByteBuf piece = in.isReadOnly()
                ? NewBuffers.filled(ctx.alloc().buffer(length, length), in,
                        (copy, from) -> copy.writeBytes(from, copy.writableBytes()))
                : in.readRetainedSlice(length);
        return NewBuffers.filled(piece, this, (unmasked, decoder) -> decoder.unmask(unmasked));
    }

    private void firePiece(ChannelHandlerContext ctx, ByteBuf piece) {
        boolean last = remaining == 0 && finalFrame;
        WebSocketFrame frame;
        if (!firstPiece || opcode == OPCODE_CONTINUATION) {
            frame = new ContinuationWebSocketFrame(last, rsv, piece);
        } else if (opcode == OPCODE_TEXT) {
            frame = new TextWebSocketFrame(last, rsv, piece);
        } else {
            frame = new BinaryWebSocketFrame(last, rsv, piece);
        }
        firstPiece = false;
        ctx.fireChannelRead(frame);
    }

    private void readControlPayload(ChannelHandlerContext ctx, ByteBuf in) {
        int length = (int) Math.min(remaining, in.readableBytes());
        controlPayload.writeBytes(in, length);
        remaining -= length;
        if (remaining == 0) {
            unmask(controlPayload);
            finishControlFrame(ctx);
        }
    }

    private void finishControlFrame(ChannelHandlerContext ctx) {
        ByteBuf payload = controlPayload;
        if (opcode == OPCODE_CLOSE && payload.readableBytes() >= 2
                && !WebSocketCloseStatus.isValidStatusCode(payload.getUnsignedShort(payload.readerIndex()))) {
            violation(ctx, "invalid close frame status code " + payload.getUnsignedShort(payload.readerIndex()));
            return;
        }
        controlPayload = null;
        state = State.HEADER;
        WebSocketFrame frame = switch (opcode) {
            case OPCODE_PING -> new PingWebSocketFrame(true, rsv, payload);
            case OPCODE_PONG -> new PongWebSocketFrame(true, rsv, payload);
            default -> new CloseWebSocketFrame(true, rsv, payload);
        };
        ctx.fireChannelRead(frame);
    }

    /** XORs {@code buf}'s readable bytes with the mask, in place, continuing at {@link #payloadIndex}. */
    private void unmask(ByteBuf buf) {
        if (!masked) {
            return;
        }
        int index = buf.readerIndex();
        int end = buf.writerIndex();
        int offset = (int) (payloadIndex & 3);
        payloadIndex += end - index;
        Masking.xor(buf, index, end - index, (mask[0] & 0xFF) << 24 | (mask[1] & 0xFF) << 16 | (mask[2] & 0xFF) << 8
                | mask[3] & 0xFF, offset);
    }

    private void violation(ChannelHandlerContext ctx, String reason) {
        violation(ctx, WebSocketCloseStatus.PROTOCOL_ERROR, reason);
    }

    private void violation(ChannelHandlerContext ctx, WebSocketCloseStatus status, String reason) {
        state = State.CORRUPT;
        releaseControlPayload();
        CorruptedWebSocketFrameException error = new CorruptedWebSocketFrameException(status, reason);
        if (config.closeOnProtocolViolation() && ctx.channel().isActive()) {
            ctx.writeAndFlush(new CloseWebSocketFrame(status, reason.length() <= 123 ? reason : status.reasonText()))
                    .addListener(ChannelFutureListener.CLOSE);
        }
        ctx.fireExceptionCaught(error);
    }

    private void releaseControlPayload() {
        if (controlPayload != null) {
            ReferenceCountUtil.release(controlPayload);
            controlPayload = null;
        }
    }
}
