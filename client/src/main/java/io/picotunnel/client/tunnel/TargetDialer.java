package io.picotunnel.client.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.client.config.HostPort;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.OnLoop;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Handles one stream the server opened: takes the {@link StreamHeader} (decoded in front of it), checks the
 * target against {@code --allow}, dials it (on the targets' event loops) and hands both channels to the
 * {@link Relay}. A refused or unreachable target resets only this stream, with a log line naming it (one a minute
 * per target and at most 60 a minute in all, {@link TargetFailureLog}), and
 * the RST says why ({@link ResetReason}).
 *
 * <p>The stream's auto-read is off, so while the target is being dialled the only bytes held here are those
 * that came in together with the header. A stream that ends while the target is being dialled cancels the
 * dial, or resets the connection that was just made; from the relay on, a reset of the stream (its session
 * lost included) resets the target's connection.
 */
final class TargetDialer extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(TargetDialer.class);
    /** How many of a name's other addresses the log line of a failed dial says something about. */
    static final int MAX_ADDRESSES_LISTED = 8;

    private final AllowList allow;
    private final Duration dialTimeout;
    private final Executor resolver;
    private final EventLoopGroup targets;
    private final ChannelGroup connectedTargets;
    private final TargetFailureLog failures;
    /** After the header: keeps the bytes (and EOF) that come before the target is connected, for the relay. */
    private Hold early;
    private HappyEyeballs dial;
    /** First for the header, then for the name lookup (whose end leaves the rest to the addresses' shares). */
    private ScheduledFuture<?> deadline;
    /** When the dial timeout, counted from the header, runs out ({@link System#nanoTime()}). */
    private long dialDeadlineNanos;

    /** @param connected where connected targets' sockets are kept while open (the client resets them at its stop) */
    TargetDialer(AllowList allow, Duration dialTimeout, Executor resolver, EventLoopGroup targets,
            ChannelGroup connected, TargetFailureLog failures) {
        this.allow = allow;
        this.dialTimeout = dialTimeout;
        this.resolver = resolver;
        this.targets = targets;
        this.connectedTargets = connected;
        this.failures = failures;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            awaitHeader(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        awaitHeader(ctx);
        ctx.fireChannelActive();
    }

    /**
     * Reads the header, for at most the dial timeout: a stream whose header never completes (a server that sends
     * part of it, or drips it) is reset, or it would hold one of the session's streams for ever.
     */
    private void awaitHeader(ChannelHandlerContext ctx) {
        if (deadline == null) {
            deadline = ctx.executor().schedule(() -> {
                if (early == null && ctx.channel().isActive()) {
                    LOG.warn("stream {}: no whole stream header within {}, resetting", id(ctx),
                            Durations.format(dialTimeout));
                    reset(ctx);
                }
            }, dialTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof StreamHeader header && early == null) {
            if (deadline != null) {
                deadline.cancel(false);
            }
            // What the stream sends while its target is dialled counts toward the session's buffer limit.
            early = ctx.channel() instanceof YamuxStreamChannel stream ? new Hold(stream::countHeld) : new Hold();
            ctx.pipeline().addAfter(ctx.name(), Hold.HANDLER_NAME, early);
            onHeader(ctx, header);
        } else if (msg instanceof ByteBuf data && early != null) {
            ctx.fireChannelRead(data);
        } else {
            ReferenceCountUtil.release(msg);
            LOG.warn("stream {}: unexpected {} before the stream header, resetting", id(ctx), msg.getClass().getSimpleName());
            reset(ctx);
        }
    }

    private void onHeader(ChannelHandlerContext ctx, StreamHeader header) {
        HostPort target;
        try {
            target = HostPort.parse(header.target());
        } catch (IllegalArgumentException e) {
            LOG.warn("stream {}: refused target {}: {}", id(ctx), ControlCharacters.bounded(header.target()),
                    e.getMessage());
            reset(ctx);
            return;
        }
        if (!allow.permits(target)) {
            resetLogged(ctx, target, ResetReason.NOT_ALLOWED,
                    () -> "refused target " + target + ": not in the --allow list");
            return;
        }
        // Name lookups block, so they run off the event loop; the system resolver's own timeouts can add up to
        // far more than the dial timeout, which bounds the lookup and the connects together, as Go's net.Dialer
        // Timeout does.
        Channel stream = ctx.channel();
        dialDeadlineNanos = System.nanoTime() + dialTimeout.toNanos();
        deadline = ctx.executor().schedule(() -> {
            // Only the lookup is left to this timer: the first dial cancels it, and the addresses' shares end by then.
            if (stream.isActive() && dial == null) {
                resetLogged(ctx, target, ResetReason.TARGET_TIMEOUT, () -> "target " + target
                        + " unreachable: its name did not resolve within the dial timeout of "
                        + Durations.format(dialTimeout));
            }
        }, dialTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            resolver.execute(() -> lookUp(ctx, target));
        } catch (RejectedExecutionException stopped) {
            // The client is stopping: it shut its resolver down before the stream's loop.
            LOG.debug("stream {}: the client is stopping, not dialling {}", id(ctx), target);
            reset(ctx);
        }
    }

    /** On the resolver: looks {@code target}'s name up, then dials its addresses on the stream's loop. */
    private void lookUp(ChannelHandlerContext ctx, HostPort target) {
        Channel stream = ctx.channel();
        InetAddress[] addresses;
        try {
            // The name checked against --allow is the one resolved and dialled.
            addresses = InetAddress.getAllByName(target.host());
        } catch (UnknownHostException e) {
            onStreamLoop(stream, () -> {
                if (stream.isActive()) {
                    resetLogged(ctx, target, ResetReason.UNKNOWN_HOST,
                            () -> "target " + target + " unreachable: unknown host");
                }
            });
            return;
        }
        onStreamLoop(stream, () -> dial(ctx, target, addresses));
    }

    /**
     * Hands the lookup's result to the stream's event loop. One that has stopped (the client's stop) closed the stream
     * with it, and nothing has been dialled yet: the result has nowhere to go, and no one to tell.
     */
    private static void onStreamLoop(Channel stream, Runnable task) {
        OnLoop.run(stream.eventLoop(), task, () -> {
        });
    }

    /**
     * Dials the name's addresses, in the resolver's order, as Go's net.Dialer does ({@link HappyEyeballs}): a name
     * with an A and an AAAA record (localhost, for one) reaches a target that listens on only one of them, and one
     * whose first address drops the packets (a firewalled A or AAAA record) on the other, 300 ms later. The addresses
     * of each family share what the lookup left of the dial timeout ({@link AddressShares}): each gets the time left
     * split over the addresses left, and one that refuses at once leaves its time to the next.
     */
    private void dial(ChannelHandlerContext ctx, HostPort target, InetAddress[] addresses) {
        Channel stream = ctx.channel();
        if (!stream.isActive()) {
            return;
        }
        // From here the shares end by the deadline: the last address's connect timeout is what is left of it, so
        // that its failure, not the timer, ends the dial, and the log line says what each address did.
        deadline.cancel(false);
        dial = new HappyEyeballs(stream.eventLoop(), addresses, dialDeadlineNanos,
                (address, shareMillis) -> connect(new InetSocketAddress(address, target.port()), shareMillis),
                new HappyEyeballs.Outcome() {
                    @Override
                    public void connected(Channel socket) {
                        onConnected(ctx, target, socket);
                    }

                    @Override
                    public void failed(Throwable[] tried) {
                        fail(ctx, target, addresses, tried);
                    }
                });
        dial.start();
    }

    private ChannelFuture connect(InetSocketAddress address, int connectTimeoutMillis) {
        return new Bootstrap()
                .group(targets)
                .channel(Transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.RECVBUF_ALLOCATOR, Transport.bulkReads())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel socket) {
                        HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(socket);
                        Transport.keepAlive(socket);
                        // Whatever is read before the relay runs (nothing is asked for, but a transport that reads
                        // at a peer's end anyway would deliver the bytes before it and the end) waits here.
                        socket.pipeline().addLast(Hold.HANDLER_NAME, new Hold());
                    }
                })
                .connect(address);
    }

    /** On the stream's event loop (the target's socket lives on a loop of its own). */
    private void onConnected(ChannelHandlerContext ctx, HostPort target, Channel socket) {
        Channel stream = ctx.channel();
        if (!stream.isActive()) {
            // The stream was reset (or its session lost) while dialling: the target sees a reset, not an EOF.
            Relay.abortChannel(socket);
            return;
        }
        if (!socket.isActive()) {
            // Its loop stopped and closed it (the client's stop, with --target-threads), or the target hung up with a
            // reset: nothing to relay, and a closed socket's group entry would never be taken out.
            LOG.debug("stream {}: the connection to {} closed before the relay started, resetting", id(ctx), target);
            reset(ctx);
            return;
        }
        LOG.debug("stream {}: connected to {} ({})", id(ctx), target, socket.remoteAddress());
        connectedTargets.add(socket);
        ctx.pipeline().remove(this);
        Relay.start(stream, socket);
        early.release();
        try {
            socket.eventLoop().execute(() -> {
                if (socket.pipeline().get(Hold.HANDLER_NAME) instanceof Hold targetHold) {
                    targetHold.release();
                }
            });
        } catch (RejectedExecutionException stopped) {
            // The target's loop stopped since: it closed the socket, and the relay resets the stream (again here, in
            // case the relay's handler never got onto the socket).
            Relay.abortChannel(stream);
        }
    }

    /**
     * Resets the stream for the failure of the first address ({@code tried}: why each address tried failed, in the
     * name's order), as Go's dialer reports a dial ("the error from the first address is most relevant"): a silent
     * first address is a timeout though the next one refused at once. With no address tried (the lookup took the
     * whole dial timeout), a timeout. The log line says what the other addresses did.
     */
    private void fail(ChannelHandlerContext ctx, HostPort target, InetAddress[] addresses, Throwable[] tried) {
        if (!ctx.channel().isActive()) {
            return;
        }
        Throwable cause = HappyEyeballs.firstFailure(tried, "the name lookup took the whole dial timeout of "
                + Durations.format(dialTimeout));
        resetLogged(ctx, target, reasonOf(cause), () -> "target " + target + " unreachable: " + describe(cause)
                + otherAddresses(addresses, tried, dialTimeout));
    }

    /**
     * Resets the stream for {@code reason}, with a WARN "stream N: " and {@code line}, unless {@link TargetFailureLog}
     * holds the lines about {@code target} back for now.
     */
    private void resetLogged(ChannelHandlerContext ctx, HostPort target, ResetReason reason, Supplier<String> line) {
        String note = failures.admit(target.toString());
        if (note != null) {
            LOG.warn("stream {}: {}{}", id(ctx), line.get(), note);
        }
        reset(ctx, reason);
    }

    /**
     * For the log line of a name with several {@code addresses}, what happened beyond the first's failure: what each
     * other address tried did ({@code tried}, in the name's order, null for one not tried), and how many the dial
     * timeout left untried; empty for a name with one address. Names at most {@link #MAX_ADDRESSES_LISTED} of the
     * others, then how many more failed: a name with hundreds of addresses would otherwise make a line of kilobytes.
     */
    static String otherAddresses(InetAddress[] addresses, Throwable[] tried, Duration dialTimeout) {
        if (addresses.length < 2) {
            return "";
        }
        long triedCount = Arrays.stream(tried).filter(Objects::nonNull).count();
        if (triedCount == 0) {
            return " (none of its " + addresses.length + " addresses was tried)";
        }
        StringBuilder line = new StringBuilder(" (the first of its ").append(addresses.length)
                .append(" addresses, which share the dial timeout of ").append(Durations.format(dialTimeout));
        String separator = "; then ";
        int listed = 0;
        for (int i = 1; i < tried.length; i++) {
            Throwable cause = tried[i];
            if (cause == null) {
                continue;
            }
            if (listed == MAX_ADDRESSES_LISTED) {
                long othersTried = Arrays.stream(tried, 1, tried.length).filter(Objects::nonNull).count();
                line.append(", and ").append(othersTried - listed).append(" more");
                break;
            }
            listed++;
            String what = switch (reasonOf(cause)) {
                case TARGET_REFUSED -> " refused";
                case TARGET_TIMEOUT -> " did not answer";
                case TARGET_UNREACHABLE -> " was unreachable";
                default -> ": " + describe(cause);
            };
            line.append(separator).append(addresses[i].getHostAddress()).append(what);
            separator = ", ";
        }
        long untried = addresses.length - triedCount;
        if (untried > 0) {
            line.append("; no time was left for the ").append(untried == 1 ? "other one" : "other " + untried);
        }
        return line.append(')').toString();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Reading stops after the header until the target is connected; the relay reads from then on.
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            if (early == null) {
                ctx.close();
                return;
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        releaseEarly();
        if (dial != null) {
            dial.cancel();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("stream {}: {}, resetting", id(ctx), describe(cause));
        reset(ctx);
    }

    private void reset(ChannelHandlerContext ctx) {
        reset(ctx, ResetReason.NONE);
    }

    /** Resets the stream, telling the server why in the RST frame (docs/protocol.md). */
    private void reset(ChannelHandlerContext ctx, ResetReason reason) {
        releaseEarly();
        if (ctx.channel() instanceof YamuxStreamChannel stream) {
            stream.reset(reason);
        } else {
            ctx.close();
        }
    }

    private void releaseEarly() {
        if (early != null) {
            early.discard();
        }
    }

    private static Object id(ChannelHandlerContext ctx) {
        return ctx.channel() instanceof YamuxStreamChannel stream ? stream.streamId() : ctx.channel().id();
    }

    /** Why a dial failed, as the server is told: refused, no answer within the dial timeout, or no route. */
    static ResetReason reasonOf(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return ResetReason.TARGET_TIMEOUT;
        }
        if (noRoute(cause)) {
            return ResetReason.TARGET_UNREACHABLE;
        }
        if (cause instanceof ConnectException && !resetAfterAccepting(cause)) {
            return ResetReason.TARGET_REFUSED;
        }
        return ResetReason.NONE;
    }

    /**
     * EHOSTUNREACH or ENETUNREACH: the JDK reports them as a {@link NoRouteToHostException} or a plain
     * SocketException ("Network is unreachable"), Netty's epoll transport (4.2) as a NoRouteToHostException; a
     * ConnectException that says so ("finishConnect(..) failed: No route to host") is no refusal either.
     */
    private static boolean noRoute(Throwable cause) {
        if (cause instanceof NoRouteToHostException) {
            return true;
        }
        String message = cause.getMessage();
        if (!(cause instanceof SocketException) || message == null) {
            return false;
        }
        String lower = message.toLowerCase(Locale.ROOT);
        return lower.contains("no route to host") || lower.contains("network is unreachable")
                || lower.contains("host is unreachable");
    }

    /**
     * The epoll transport reports a target that accepted and reset at once as a failed connect ("finishConnect(..)
     * failed: Connection reset by peer"); NIO as a connection that ends with a reset. Either way it did not refuse.
     */
    private static boolean resetAfterAccepting(Throwable cause) {
        String message = cause.getMessage();
        return message != null && message.toLowerCase(Locale.ROOT).contains("connection reset");
    }

    /** The exception's message (a socket's in plain words), or its kind for one without (a log line reading "null" says nothing). */
    static String describe(Throwable cause) {
        String message = cause.getMessage();
        if (message == null) {
            return cause.getClass().getSimpleName();
        }
        return cause instanceof java.net.SocketException ? SocketErrors.plain(message) : message;
    }
}
