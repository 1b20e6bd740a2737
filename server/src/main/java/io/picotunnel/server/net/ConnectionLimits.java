package io.picotunnel.server.net;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The open connections of one listener, in total and per client address ({@link ClientBlock}: IPv6 by its /64),
 * bounded: a connection over either limit is refused at once (plain HTTP gets a {@code 429} or {@code 503} first,
 * TLS and the management API a close), and the refusals are logged at most once a minute ({@link RefusalLog}).
 * Behind the PROXY protocol the address is the visitor's its header names ({@link #admitVisitorWhenActive}).
 * A trusted front proxy's address ({@code --trusted-proxies}) counts in the listener's total only: every visitor
 * behind it comes from that one address, and it would otherwise hold them all to one visitor's limit.
 * Thread-safe.
 */
public final class ConnectionLimits {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimits.class);
    /** How often at most a listener's refusals are logged. */
    public static final Duration REFUSAL_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;
    private static final String REFUSED = "connection-refused";
    private static final String VISITOR_GATE = "connection-limit-per-address";
    /** {@code Retry-After} of a refused connection's plain-HTTP answer. */
    public static final Duration RETRY_AFTER = Duration.ofSeconds(10);
    /** The lingering close after a refused connection's plain-HTTP answer: short, as the server is busy. */
    static final LingeringClose.Bounds LINGER =
            new LingeringClose.Bounds(Duration.ofSeconds(1), Duration.ofSeconds(1), 64 * 1024);

    /** Why a connection was not admitted, with the status and {@code error} of its plain-HTTP answer. */
    public enum Refusal {
        /** Over the limit for its client address. */
        ADDRESS(429, "Too Many Requests", TunnelErrorCodes.TOO_MANY_CONNECTIONS,
                "Too many connections are open from your address. Close some and try again."),
        /** Over the listener's limit. */
        LISTENER(503, "Service Unavailable", TunnelErrorCodes.OVERLOADED,
                "The server has too many open connections. Try again in a moment.");

        private final int status;
        private final String reason;
        private final String error;
        private final String message;

        Refusal(int status, String reason, String error, String message) {
            this.status = status;
            this.reason = reason;
            this.error = error;
            this.message = message;
        }

        /** The status of the plain-HTTP answer. */
        public int status() {
            return status;
        }

        /** The {@code error} of the plain-HTTP answer's JSON body. */
        public String error() {
            return error;
        }

        private byte[] httpAnswer() {
            String body = "{\"error\":\"" + error + "\",\"message\":\"" + message + "\"}\n";
            String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\nRetry-After: " + RETRY_AFTER.toSeconds() + "\r\nConnection: close\r\n\r\n";
            return (head + body).getBytes(StandardCharsets.US_ASCII);
        }
    }

    private final String listener;
    private final int max;
    private final int maxPerAddress;
    private final Predicate<InetAddress> trustedProxy;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final RefusalLog refusals = new RefusalLog(LOG, REFUSAL_LOG_INTERVAL);

    /** {@code listener} names the listener in the log, e.g. "HTTP"; no address is a trusted proxy. */
    public ConnectionLimits(String listener, int max, int maxPerAddress) {
        this(listener, max, maxPerAddress, address -> false);
    }

    /** As above; {@code trustedProxy} tells the front proxies' addresses, which are not counted per address. */
    public ConnectionLimits(String listener, int max, int maxPerAddress, Predicate<InetAddress> trustedProxy) {
        if (max < 1 || maxPerAddress < 1) {
            throw new IllegalArgumentException("connection limits must be positive");
        }
        this.listener = listener;
        this.max = max;
        this.maxPerAddress = maxPerAddress;
        this.trustedProxy = trustedProxy;
    }

    /**
     * Counts a new connection from {@code address}; null when admitted (then {@link #release} it once closed),
     * else why not (nothing counted).
     */
    public Refusal admit(InetAddress address) {
        if (!countInListener(address)) {
            return Refusal.LISTENER;
        }
        if (!countForAddress(address)) {
            open.decrementAndGet();
            return Refusal.ADDRESS;
        }
        return null;
    }

    /** A connection admitted earlier closed. */
    public void release(InetAddress address) {
        open.decrementAndGet();
        uncount(address);
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
        channel.pipeline().addLast(REFUSED, new Refuse(answer(refusal, httpAnswer)));
        return false;
    }

    /**
     * As {@link #admit(Channel, boolean)}, for a listener that reads the PROXY protocol: the connection takes its
     * place in the listener's count now, and in its address's count only when the channel becomes active, which the
     * PROXY protocol reader puts off until the header has named the visitor; {@code visitor} gives the address then.
     * A connection that never gets that far (no header in time, a bad one) holds its place in the listener's count
     * only, until it closes. Over the address's limit it is refused then, as {@link #admit(Channel, boolean)} would
     * have. The handler this adds goes first in the pipeline: add the PROXY protocol reader afterwards, in front.
     */
    public boolean admitVisitorWhenActive(Channel channel, boolean httpAnswer, Function<Channel, InetAddress> visitor) {
        if (!countInListener(addressOf(channel.remoteAddress()))) {
            channel.pipeline().addLast(REFUSED, new Refuse(answer(Refusal.LISTENER, httpAnswer)));
            return false;
        }
        VisitorGate gate = new VisitorGate(httpAnswer, visitor);
        channel.closeFuture().addListener(f -> gate.closed());
        channel.pipeline().addFirst(VISITOR_GATE, gate);
        return true;
    }

    /** True when counted in the listener's total; false (nothing counted) when it is full. */
    private boolean countInListener(InetAddress address) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            refusals.refused(true, () -> listener + " listener: refused a connection from " + ControlCharacters.bounded(name(address))
                    + ": " + max + " connections are open (--max-connections)");
            return false;
        }
        return true;
    }

    /**
     * True when counted for its {@link ClientBlock} (or it has no address, or is a trusted proxy's, which are not
     * counted); false (nothing counted) when full.
     */
    private boolean countForAddress(InetAddress address) {
        if (!counted(address)) {
            return true;
        }
        InetAddress block = ClientBlock.of(address);
        AtomicInteger count = perAddress.compute(block, (a, c) -> {
            AtomicInteger result = c == null ? new AtomicInteger() : c;
            result.incrementAndGet();
            return result;
        });
        if (count.get() > maxPerAddress) {
            uncount(address);
            String holder = block instanceof Inet6Address ? "its /64 has " : "it has ";
            refusals.refused(true, () -> listener + " listener: refused a connection from " + ControlCharacters.bounded(name(address))
                    + ": " + holder + maxPerAddress + " connections open (--max-connections-per-address)");
            return false;
        }
        return true;
    }

    private void uncount(InetAddress address) {
        if (counted(address)) {
            perAddress.computeIfPresent(ClientBlock.of(address), (a, c) -> c.decrementAndGet() <= 0 ? null : c);
        }
    }

    private boolean counted(InetAddress address) {
        return address != null && !trustedProxy.test(address);
    }

    static InetAddress addressOf(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    private static String name(InetAddress address) {
        return address == null ? "an unknown address" : address.getHostAddress();
    }

    private static byte[] answer(Refusal refusal, boolean http) {
        return http ? refusal.httpAnswer() : null;
    }

    /**
     * The per-address half of {@link #admitVisitorWhenActive}: counts the connection for its visitor when the channel
     * becomes active (or refuses it then), and gives back both of its places when it closes. Both happen on the
     * channel's event loop, so a connection closed before it became active is never counted for an address.
     */
    private final class VisitorGate extends ChannelInboundHandlerAdapter {
        private final boolean httpAnswer;
        private final Function<Channel, InetAddress> visitor;
        private InetAddress counted;
        private boolean closed;

        VisitorGate(boolean httpAnswer, Function<Channel, InetAddress> visitor) {
            this.httpAnswer = httpAnswer;
            this.visitor = visitor;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (closed) {
                return;
            }
            InetAddress address = visitor.apply(ctx.channel());
            if (!countForAddress(address)) {
                ctx.pipeline().replace(this, REFUSED, new Refuse(answer(Refusal.ADDRESS, httpAnswer)));
                return;
            }
            counted = address;
            ctx.fireChannelActive();
            ctx.pipeline().remove(this);
        }

        void closed() {
            closed = true;
            open.decrementAndGet();
            uncount(counted);
        }
    }

    /**
     * Answers (or not) and closes a refused connection. After an answer it reads and drops what the client still
     * sends (its request) within {@link #LINGER} ({@link LingeringClose}).
     */
    private static final class Refuse extends ChannelInboundHandlerAdapter {
        private final byte[] answer;
        private boolean done;

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
            // Only what came before the lingering close's own handler took over.
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
