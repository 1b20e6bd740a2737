package io.picotunnel.protocol.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * Test handler for one stream: sends a prefix and {@code size} random bytes while the stream is writable,
 * then half-closes; records the SHA-256 of everything sent (after the prefix) and received. It starts sending at once,
 * or {@link #afterPeerFin} only once the peer's FIN came.
 */
final class StreamExchange extends ChannelInboundHandlerAdapter {

    private static final int CHUNK = 32 * 1024;

    /** What came back, once the peer ended its side. */
    record Received(long bytes, String sha256, byte[] firstBytes, boolean reset) {
        String text() {
            return new String(firstBytes, java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    private final byte[] prefix;
    private final long size;
    private final Random random = new Random();
    private final MessageDigest sentDigest = sha256();
    private final MessageDigest receivedDigest = sha256();
    private final ByteBuf firstBytes = Unpooled.buffer();
    private final CompletableFuture<Received> received = new CompletableFuture<>();
    private final CompletableFuture<String> sent = new CompletableFuture<>();
    private final boolean waitForPeerFin;
    private long remaining;
    private long receivedBytes;
    private boolean started;

    StreamExchange(byte[] prefix, long size) {
        this(prefix, size, false);
    }

    private StreamExchange(byte[] prefix, long size, boolean waitForPeerFin) {
        this.prefix = prefix;
        this.size = size;
        this.remaining = size;
        this.waitForPeerFin = waitForPeerFin;
    }

    /** Sends its {@code size} bytes, then FIN, only after the peer's FIN. */
    static StreamExchange afterPeerFin(long size) {
        return new StreamExchange(new byte[0], size, true);
    }

    CompletableFuture<Received> received() {
        return received;
    }

    /** SHA-256 of the bytes sent after the prefix, once all are written. */
    CompletableFuture<String> sent() {
        return sent;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive() && !waitForPeerFin) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!waitForPeerFin) {
            start(ctx);
        }
        ctx.fireChannelActive();
    }

    private void start(ChannelHandlerContext ctx) {
        if (started) {
            return;
        }
        started = true;
        if (prefix.length > 0) {
            ctx.write(Unpooled.wrappedBuffer(prefix));
        }
        sendMore(ctx);
    }

    private void sendMore(ChannelHandlerContext ctx) {
        while (remaining > 0 && ctx.channel().isWritable()) {
            int n = (int) Math.min(CHUNK, remaining);
            byte[] chunk = new byte[n];
            random.nextBytes(chunk);
            sentDigest.update(chunk);
            remaining -= n;
            ctx.write(Unpooled.wrappedBuffer(chunk));
        }
        ctx.flush();
        if (remaining == 0 && !sent.isDone()) {
            sent.complete(HexFormat.of().formatHex(sentDigest.digest()));
            ((YamuxStreamChannel) ctx.channel()).shutdownOutput();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (started && remaining > 0 && ctx.channel().isWritable()) {
            sendMore(ctx);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf data = (ByteBuf) msg;
        try {
            receivedBytes += data.readableBytes();
            if (firstBytes.readableBytes() < 256) {
                firstBytes.writeBytes(data, data.readerIndex(), Math.min(256 - firstBytes.readableBytes(), data.readableBytes()));
            }
            byte[] bytes = new byte[data.readableBytes()];
            data.readBytes(bytes);
            receivedDigest.update(bytes);
        } finally {
            data.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            finish(false);
            if (waitForPeerFin) {
                start(ctx);
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish(((YamuxStreamChannel) ctx.channel()).isReset());
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        received.completeExceptionally(cause);
        ctx.close();
    }

    private void finish(boolean reset) {
        if (!received.isDone()) {
            byte[] first = new byte[firstBytes.readableBytes()];
            firstBytes.readBytes(first);
            firstBytes.release();
            received.complete(new Received(receivedBytes, HexFormat.of().formatHex(receivedDigest.digest()), first, reset));
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
