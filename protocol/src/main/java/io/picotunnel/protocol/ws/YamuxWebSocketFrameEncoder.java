package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.EncoderException;
import io.picotunnel.protocol.buffer.NewBuffers;
import io.picotunnel.protocol.yamux.EncodesYamuxFrames;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;

import static io.picotunnel.protocol.yamux.YamuxSpec.HEADER_LENGTH;

/**
 * Writes each {@link YamuxFrame} of a tunnel's session as one binary WebSocket frame, the bytes the
 * {@link YamuxFrameEncoder}, the {@link WebSocketByteStreamCodec} and the WebSocket frame encoder wrote together: the
 * yamux frame encoder copied a small frame's payload next to its header, and the WebSocket encoder copied both again
 * into its frame (the client's, {@link MaskingWebSocketFrameEncoder}, as it masked them); on the server, Netty's
 * encoder wrote a frame over 1 KiB as its header and the yamux composite, a promise combiner for each. Here the
 * headers of both protocols share one buffer: a payload of up to {@link #COPY_THRESHOLD} bytes is copied behind them,
 * a larger one follows as it is (the server) or is masked as it is copied in (the client, which must mask: one pass,
 * with a fresh mask key per frame).
 *
 * <p>Sits right below the byte stream codec, which still frames the other {@code ByteBuf} writes (the session's
 * empty flush markers); WebSocket frames pass on to the frame encoder below. A session added above it adds no yamux
 * frame encoder of its own ({@link EncodesYamuxFrames}).
 */
@ChannelHandler.Sharable
public final class YamuxWebSocketFrameEncoder extends ChannelOutboundHandlerAdapter implements EncodesYamuxFrames {

    /**
     * On the server, payloads up to this size are copied behind the headers, cheaper than a second message, and a
     * larger one follows them as it is. The client copies every payload, whatever its size: it masks it as it copies.
     */
    static final int COPY_THRESHOLD = 1024;

    /** FIN, and the opcode of a binary frame. */
    private static final int FIN_BINARY = 0x80 | 0x2;

    private static final YamuxWebSocketFrameEncoder UNMASKED = new YamuxWebSocketFrameEncoder(false);
    private static final YamuxWebSocketFrameEncoder MASKED = new YamuxWebSocketFrameEncoder(true);

    private final boolean masked;

    private YamuxWebSocketFrameEncoder(boolean masked) {
        this.masked = masked;
    }

    /** For the server's side of a tunnel: frames unmasked. */
    public static YamuxWebSocketFrameEncoder unmasked() {
        return UNMASKED;
    }

    /** For the client's side of a tunnel: every frame masked with a key of its own (RFC 6455 5.3). */
    public static YamuxWebSocketFrameEncoder masked() {
        return MASKED;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof YamuxFrame frame)) {
            ctx.write(msg, promise);
            return;
        }
        int payloadLength = frame.payload().readableBytes();
        int length = HEADER_LENGTH + payloadLength;
        if (length > WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD) {
            // The session sends Data frames of at most 64 KiB; one WebSocket frame holds them all.
            frame.release();
            throw new EncoderException("a yamux frame of " + length + " bytes does not fit one WebSocket frame of "
                    + WebSocketByteStreamCodec.MAX_FRAME_PAYLOAD);
        }
        if (!masked && payloadLength > COPY_THRESHOLD) {
            writeHeadersThenPayload(ctx, frame, length, promise);
        } else {
            ctx.write(copied(ctx.alloc(), frame, length), promise);
        }
    }

    /**
     * The headers of both protocols in one small buffer, then the payload itself, whose reference passes on with it:
     * two messages, as Netty's encoder wrote, but no promise combiner. The write's outcome is its payload's, unless
     * its headers fail (refused at once, the payload is released unwritten); and it can no longer be cancelled
     * between the two, as headers out without their payload would have the peer read the next frames as this one's.
     */
    private static void writeHeadersThenPayload(ChannelHandlerContext ctx, YamuxFrame frame, int length,
            ChannelPromise promise) {
        if (!promise.setUncancellable()) {
            frame.release();
            return;
        }
        ByteBuf headers;
        try {
            headers = NewBuffers.filled(ctx.alloc().ioBuffer(FrameHeaders.length(length, false) + HEADER_LENGTH),
                    frame, YamuxWebSocketFrameEncoder::writeUnmaskedHeaders);
        } catch (RuntimeException | Error e) {
            frame.release();
            throw e;
        }
        ChannelFuture headersWritten = ctx.write(headers);
        if (headersWritten.isDone() && !headersWritten.isSuccess()) {
            frame.release();
            promise.tryFailure(headersWritten.cause());
            return;
        }
        if (!promise.isVoid()) {
            headersWritten.addListener(f -> {
                if (!f.isSuccess()) {
                    promise.tryFailure(f.cause());
                }
            });
        }
        ctx.write(frame.payload(), promise);
    }

    /** The whole WebSocket frame in one buffer: its header, then the yamux frame, masked on the client. */
    private ByteBuf copied(ByteBufAllocator alloc, YamuxFrame frame, int length) {
        try {
            return NewBuffers.filled(alloc.ioBuffer(FrameHeaders.length(length, masked) + length), frame,
                    masked ? YamuxWebSocketFrameEncoder::writeMaskedFrame : YamuxWebSocketFrameEncoder::writeFrame);
        } finally {
            frame.release();
        }
    }

    private static void writeUnmaskedHeaders(ByteBuf out, YamuxFrame frame) {
        FrameHeaders.write(out, FIN_BINARY, HEADER_LENGTH + frame.payload().readableBytes(), false);
        YamuxFrameEncoder.writeHeader(frame, out);
    }

    private static void writeFrame(ByteBuf out, YamuxFrame frame) {
        writeUnmaskedHeaders(out, frame);
        out.writeBytes(frame.payload(), frame.payload().readerIndex(), frame.payload().readableBytes());
    }

    private static void writeMaskedFrame(ByteBuf out, YamuxFrame frame) {
        int payloadStart = FrameHeaders.write(out, FIN_BINARY, HEADER_LENGTH + frame.payload().readableBytes(), true);
        YamuxFrameEncoder.writeHeader(frame, out);
        Masking.maskWithFreshKey(out, payloadStart, frame.payload());
    }
}
