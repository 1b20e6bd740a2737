package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Turns a WebSocket into a byte stream, so a handler that speaks {@code ByteBuf} (a yamux session) can sit
 * on it. Goes after the WebSocket protocol handler, which answers pings and close frames.
 *
 * <p>Inbound, the payload of binary frames and their continuation frames is passed on as {@code ByteBuf};
 * message boundaries carry no meaning. A text frame is a protocol error: the WebSocket is closed with
 * status 1002 and everything after it is dropped. Other frames pass through untouched. Outbound, each
 * {@code ByteBuf} becomes binary frames of at most {@link #MAX_FRAME_PAYLOAD} bytes.
 */
public final class WebSocketByteStreamCodec extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {

    /**
     * Largest payload of a frame we send: a yamux Data frame of the largest size we send (64 KiB) with its header
     * fits in one, as at 64 KiB it did not (a second frame of 12 bytes each time). Peers accept up to
     * {@link #MAX_ACCEPTED_FRAME_PAYLOAD}; Go's gorilla/websocket sets no limit unless told.
     */
    public static final int MAX_FRAME_PAYLOAD = 128 * 1024;

    /**
     * Largest frame payload to accept (the WebSocket decoder's {@code maxFramePayloadLength}). Bigger than what
     * we send because Go peers write one message per yamux write, and a yamux data frame can carry a whole
     * 256 KiB window.
     */
    public static final int MAX_ACCEPTED_FRAME_PAYLOAD = 1024 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketByteStreamCodec.class);

    private final int maxFramePayload;
    private boolean failed;

    public WebSocketByteStreamCodec() {
        this(MAX_FRAME_PAYLOAD);
    }

    /** With a smaller outbound frame size, for tests. */
    public WebSocketByteStreamCodec(int maxFramePayload) {
        if (maxFramePayload < 1 || maxFramePayload > MAX_FRAME_PAYLOAD) {
            throw new IllegalArgumentException("maxFramePayload must be in 1.." + MAX_FRAME_PAYLOAD);
        }
        this.maxFramePayload = maxFramePayload;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
        int readable = msg.readableBytes();
        if (readable == 0) {
            // Nothing to frame, but the write (often a flush marker) must still reach the socket in order.
            out.add(Unpooled.EMPTY_BUFFER);
            return;
        }
        if (readable <= maxFramePayload) {
            // Nearly every write: the buffer itself is the frame's payload, without a slice object around it.
            out.add(new BinaryWebSocketFrame(msg.retain()));
            return;
        }
        for (int offset = 0; offset < readable; offset += maxFramePayload) {
            int length = Math.min(maxFramePayload, readable - offset);
            out.add(new BinaryWebSocketFrame(msg.retainedSlice(msg.readerIndex() + offset, length)));
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
        if (failed) {
            return;
        }
        if (frame instanceof BinaryWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
            // A continuation can only follow a binary frame here: a text frame ends the connection.
            if (frame.content().isReadable()) {
                out.add(frame.content().retain());
            }
        } else if (frame instanceof TextWebSocketFrame) {
            failed = true;
            LOG.warn("{}: text frame on a binary tunnel WebSocket, closing with protocol error",
                    ctx.channel().remoteAddress());
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.PROTOCOL_ERROR, "binary frames only"))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            out.add(frame.retain());
        }
    }
}
