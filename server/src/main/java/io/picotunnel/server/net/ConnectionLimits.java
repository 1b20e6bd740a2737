package io.picotunnel.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The open connections of one listener, in total and per client IP address, bounded: a connection over either
 * limit is refused at once (plain HTTP gets a {@code 429} or {@code 503} first, TLS and the management API a
 * close), and the refusals are logged at most once a minute ({@link RefusalLog}). Thread-safe.
 */
public final class ConnectionLimits {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimits.class);

    /** Why a connection was not admitted. */
    public enum Refusal {
        /** Over the limit for its client address: 429. */
        ADDRESS,
        /** Over the listener's limit: 503. */
        LISTENER
    }

    private final String listener;
    private final int max;
    private final int maxPerAddress;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final RefusalLog refusals = new RefusalLog(LOG);

    /** {@code listener} names the listener in the log, e.g. "HTTP". */
    public ConnectionLimits(String listener, int max, int maxPerAddress) {
        if (max < 1 || maxPerAddress < 1) {
            throw new IllegalArgumentException("connection limits must be positive");
        }
        this.listener = listener;
        this.max = max;
        this.maxPerAddress = maxPerAddress;
    }

    /**
     * Counts a new connection from {@code address}; null when admitted (then {@link #release} it once closed),
     * else why not (nothing counted).
     */
    public Refusal admit(InetAddress address) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            refusals.refused(true, listener + " listener: refused a connection from " + LogValues.escape(name(address))
                    + ": " + max + " connections are open (--max-connections)");
            return Refusal.LISTENER;
        }
        if (address == null) {
            return null;
        }
        AtomicInteger count = perAddress.compute(address, (a, c) -> {
            AtomicInteger result = c == null ? new AtomicInteger() : c;
            result.incrementAndGet();
            return result;
        });
        if (count.get() > maxPerAddress) {
            release(address);
            refusals.refused(true, listener + " listener: refused a connection from " + LogValues.escape(name(address))
                    + ": it has " + maxPerAddress + " connections open (--max-connections-per-address)");
            return Refusal.ADDRESS;
        }
        return null;
    }

    /** A connection admitted earlier closed. */
    public void release(InetAddress address) {
        open.decrementAndGet();
        if (address != null) {
            perAddress.computeIfPresent(address, (a, c) -> c.decrementAndGet() <= 0 ? null : c);
        }
    }

    /** Connections open now (admitted, not yet released). */
    public int open() {
        return open.get();
    }

    /**
     * In a listener's {@code initChannel}: admits {@code channel} and releases it when it closes (true), or refuses
     * it (false): with {@code httpAnswer} a plain-HTTP 429 or 503 goes out before the close.
     */
    public boolean admit(Channel channel, boolean httpAnswer) {
        InetAddress address = addressOf(channel.remoteAddress());
        Refusal refusal = admit(address);
        if (refusal == null) {
            channel.closeFuture().addListener(f -> release(address));
            return true;
        }
        channel.pipeline().addLast("connection-refused", new Refuse(httpAnswer ? httpAnswer(refusal) : null));
        return false;
    }

    static InetAddress addressOf(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    private static String name(InetAddress address) {
        return address == null ? "an unknown address" : address.getHostAddress();
    }

    private static byte[] httpAnswer(Refusal refusal) {
        String status = refusal == Refusal.ADDRESS ? "429 Too Many Requests" : "503 Service Unavailable";
        String error = refusal == Refusal.ADDRESS ? "too_many_connections" : "overloaded";
        String message = refusal == Refusal.ADDRESS
                ? "Too many connections are open from your address. Close some and try again."
                : "The server has too many open connections. Try again in a moment.";
        String body = "{\"error\":\"" + error + "\",\"message\":\"" + message + "\"}\n";
        String head = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                + "\r\nRetry-After: 10\r\nConnection: close\r\n\r\n";
        return (head + body).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Answers (or not) and closes a refused connection. After an answer it reads and drops what the client still
     * sends (its request, at most {@link #LINGER_BYTES}) until it closes or {@link #LINGER} passes
     * ({@link LingeringClose}).
     */
    private static final class Refuse extends ChannelInboundHandlerAdapter {
        private static final Duration LINGER = Duration.ofSeconds(1);
        private static final int LINGER_BYTES = 64 * 1024;

        private final byte[] answer;
        private boolean done;
        private long dropped;

        Refuse(byte[] answer) {
            this.answer = answer;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (ctx.channel().isActive()) {
                refuse(ctx);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            refuse(ctx);
        }

        private void refuse(ChannelHandlerContext ctx) {
            if (done) {
                return;
            }
            done = true;
            if (answer == null) {
                ctx.close();
                return;
            }
            LingeringClose.after(ctx.writeAndFlush(Unpooled.wrappedBuffer(answer)), LINGER);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                dropped += buf.readableBytes();
            }
            ReferenceCountUtil.release(msg);
            if (dropped > LINGER_BYTES) {
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
