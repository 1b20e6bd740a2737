package io.picotunnel.server.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.net.SocketAddresses;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where tunnel clients connect: {@code GET /tunnel} upgraded to a WebSocket carrying a yamux session, one
 * per client, registered in the {@link TunnelRegistry} while it lasts.
 */
public final class TunnelEndpoint implements AutoCloseable {

    /** Limits of the HTTP request before the upgrade: it carries nothing but a token. */
    static final int MAX_INITIAL_LINE = 4096;
    static final int MAX_HEADER_SIZE = 8192;

    private static final Logger LOG = LoggerFactory.getLogger(TunnelEndpoint.class);

    private final TunnelEndpointConfig config;
    private final TunnelTokens tokens;
    private final TunnelRegistry registry;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final Supplier<ChannelHandler> tls;
    private final ConnectionLimits limits;
    private final ExecutorService lookups = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("tunnel-token-lookup-", 0).factory());
    private final ChannelGroup connections = new DefaultChannelGroup("tunnel-connections", GlobalEventExecutor.INSTANCE);
    /** Wrong tokens per client address: logged, and throttled after a few (429). */
    private final FailedLogins failures = new FailedLogins("tunnel endpoint", FailedLogins.TUNNEL);
    /** The handshakes' warnings for errors of our own: at most a line an interval, however many connections meet one. */
    private final RefusalLog unexpectedHandshakeErrors =
            new RefusalLog(LoggerFactory.getLogger(TunnelHandshakeHandler.class));
    private Channel serverChannel;
    /** Set once {@link #drain} began: handshakes still under way are refused with 503 instead of upgraded. */
    private volatile boolean draining;
    /** Completed from a signal's thread while {@link #drain} waits: the streams left are reset now. */
    private final CompletableFuture<Void> cutShort = new CompletableFuture<>();
    /** Where {@link #start} bound it, kept once it stops listening: a draining shutdown still tells its port. */
    private volatile InetSocketAddress boundAddress;
    /** Whether refusals are answered in plain HTTP: no TLS, or TLS and plain ws by the first bytes. */
    private final boolean plainAnswers;
    /** How long and how much a refused connection is read before it closes; other bounds in tests. */
    private volatile LingeringClose.Bounds linger = LingeringClose.Bounds.DEFAULT;

    public TunnelEndpoint(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry,
                          EventLoopGroup acceptors, EventLoopGroup workers) {
        this(config, tokens, registry, acceptors, workers, null);
    }

    /**
     * As above; {@code tls}, when not null, makes a handler put first in every connection's pipeline that
     * terminates TLS (wss), such as {@code TunnelEndpointTls::newHandler}.
     */
    public TunnelEndpoint(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry,
                          EventLoopGroup acceptors, EventLoopGroup workers, Supplier<ChannelHandler> tls) {
        this(config, tokens, registry, acceptors, workers, tls, null);
    }

    /**
     * As above; a connection over {@code limits} (none when null) is refused before its handshake: with plain
     * WebSocket it gets a {@code 429} or {@code 503}, with TLS it is closed at once.
     */
    public TunnelEndpoint(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry,
                          EventLoopGroup acceptors, EventLoopGroup workers, Supplier<ChannelHandler> tls,
                          ConnectionLimits limits) {
        this(config, tokens, registry, acceptors, workers, tls, false, limits);
    }

    /**
     * As above; {@code plainToo}: the {@code tls} handler lets plain WebSocket through as well (it picks TLS or
     * plain by the first bytes), so a refused connection gets the plain HTTP answer, which a plain client reads
     * and a TLS client takes for a failed handshake, as it would a close.
     */
    public TunnelEndpoint(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry,
                          EventLoopGroup acceptors, EventLoopGroup workers, Supplier<ChannelHandler> tls,
                          boolean plainToo, ConnectionLimits limits) {
        this.plainAnswers = tls == null || plainToo;
        this.limits = limits;
        this.config = config;
        this.tokens = tokens;
        this.registry = registry;
        this.acceptors = acceptors;
        this.workers = workers;
        this.tls = tls;
    }

    /** Starts listening on {@code address} (port 0 picks a free port); fails with a sentence naming it. */
    public synchronized InetSocketAddress start(InetSocketAddress address) throws IOException {
        if (serverChannel != null) {
            throw new IllegalStateException("the tunnel endpoint is running already");
        }
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptors, workers)
                .channel(Transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, Transport.tunnelReads())
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Transport.tunnelWriteMarks())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        if (limits != null && !limits.admit(channel, plainAnswers)) {
                            return;
                        }
                        connections.add(channel);
                        if (tls != null) {
                            channel.pipeline().addLast("tls", tls.get());
                        }
                        channel.pipeline().addLast("http",
                                new HttpServerCodec(new HttpDecoderConfig()
                                        .setMaxInitialLineLength(MAX_INITIAL_LINE)
                                        .setMaxHeaderSize(MAX_HEADER_SIZE)));
                        channel.pipeline().addLast("http-aggregator", new NoBodyAggregator());
                        channel.pipeline().addLast("handshake",
                                new TunnelHandshakeHandler(config, tokens, registry, lookups, failures, linger,
                                        () -> draining, unexpectedHandshakeErrors));
                    }
                });
        ChannelFuture bind = bootstrap.bind(address).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            Throwable cause = bind.cause();
            throw new IOException("cannot listen for tunnel clients on " + describe(address) + ": "
                    + cause.getMessage(), cause);
        }
        serverChannel = bind.channel();
        InetSocketAddress bound = (InetSocketAddress) serverChannel.localAddress();
        boundAddress = bound;
        LOG.info("tunnel endpoint listening on {}", describe(bound));
        return bound;
    }

    /** For tests: the bounds of the lingering close after a refusal, for connections accepted from now on. */
    void linger(LingeringClose.Bounds bounds) {
        this.linger = bounds;
    }

    /** For tests: connections open now that got past the connection limits (upgraded, in the handshake, lingering). */
    int openConnections() {
        return connections.size();
    }

    /** The bound address, or null before {@link #start}; still the same while it drains and after it stopped. */
    public InetSocketAddress localAddress() {
        return boundAddress;
    }

    public int port() {
        InetSocketAddress bound = localAddress();
        if (bound == null) {
            throw new IllegalStateException("the tunnel endpoint is not running");
        }
        return bound.getPort();
    }

    /**
     * Drains for a shutdown: stops taking client connections, refuses the handshakes under way (503 with
     * Retry-After), sends GoAway(NORMAL) on every session so that no new streams open (clients reconnect elsewhere
     * or later), and waits up to {@code grace} for the open streams to end. Returns how many streams are still
     * open; {@link #close()} then resets them.
     */
    public int drain(Duration grace) {
        draining = true;
        registry.serverStopping();
        synchronized (this) {
            if (serverChannel != null) {
                serverChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
                serverChannel = null;
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        List<YamuxSession> sessions = new ArrayList<>();
        List<CompletableFuture<Void>> idle = new ArrayList<>();
        for (Channel channel : connections) {
            YamuxSession session = YamuxSession.of(channel);
            if (session != null) {
                sessions.add(session);
                idle.add(goAwayForStop(channel, session));
            }
        }
        int open = openStreams(sessions);
        if (open > 0) {
            LOG.info("draining: {} open stream(s) may finish within {}", open, Durations.format(grace));
        }
        try {
            CompletableFuture.anyOf(CompletableFuture.allOf(idle.toArray(CompletableFuture[]::new)), cutShort)
                    .get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // The grace period is over: close() resets the streams left.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the drain failed", e.getCause());
        }
        return openStreams(sessions);
    }

    /**
     * GoAway then, once no stream is left, the close frame of a stopping server; completes then. On the connection's
     * loop, where the session found in its pipeline has been added in full.
     */
    private static CompletableFuture<Void> goAwayForStop(Channel channel, YamuxSession session) {
        CompletableFuture<Void> idle = new CompletableFuture<>();
        try {
            channel.eventLoop().execute(() -> {
                WebSocketControlFrames.goAwayForStop(channel, session);
                session.whenNoStreams(() -> idle.complete(null));
            });
        } catch (RejectedExecutionException e) {
            idle.complete(null);
        }
        return idle;
    }

    /** Ends a {@link #drain} under way now, as if its grace period were over (a second Ctrl-C). */
    public void cutDrainShort() {
        cutShort.complete(null);
    }

    /** Whether {@link #cutDrainShort} ended the drain before its grace period. */
    public boolean drainWasCutShort() {
        return cutShort.isDone();
    }

    private static int openStreams(List<YamuxSession> sessions) {
        int open = 0;
        for (YamuxSession session : sessions) {
            Channel parent = session.parent();
            if (parent != null && parent.isActive()) {
                open += session.activeStreams();
            }
        }
        return open;
    }

    /** Stops listening and ends every client connection with GoAway. */
    @Override
    public synchronized void close() {
        registry.serverStopping();
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            serverChannel = null;
        }
        for (Channel channel : connections) {
            YamuxSession session = YamuxSession.of(channel);
            // The close frame after the GoAway on the same loop: the client learns the server is stopping, not its
            // token revoked.
            channel.eventLoop().execute(() -> {
                if (session != null) {
                    WebSocketControlFrames.goAwayOfTheStop(channel, session);
                }
                WebSocketControlFrames.close(channel, TunnelCloseStatus.SERVER_STOPPING);
            });
        }
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        lookups.shutdownNow();
    }

    /**
     * An upgrade request has no body. One with a body is handed on as a request that failed to decode with
     * {@link TooLongHttpContentException}, which the handshake refuses as it does other bad requests (413 and a
     * lingering close), instead of the aggregator's own 413: that one closed at once with the body unread, or for a
     * request with a Content-Length kept the connection open until the handshake timeout.
     */
    private static final class NoBodyAggregator extends HttpObjectAggregator {
        NoBodyAggregator() {
            super(0);
        }

        /**
         * No interim or expectation answer of Netty's: it answered {@code Expect: 100-continue} with a bare 413 (no
         * JSON, no {@code Connection: close}, the connection left open until the handshake timeout) when a
         * Content-Length was announced, and with {@code 100 Continue} when the body was chunked.
         */
        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            return null;
        }

        /** A chunked body expected after {@code 100 Continue} is refused at once too, not after the client's wait. */
        @Override
        protected boolean isContentLengthInvalid(HttpMessage start, int maxContentLength) {
            return super.isContentLengthInvalid(start, maxContentLength)
                    || (HttpUtil.is100ContinueExpected(start) && HttpUtil.isTransferEncodingChunked(start));
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            if (!(oversized instanceof HttpRequest request)) {
                ctx.close();
                return;
            }
            FullHttpRequest refused = new DefaultFullHttpRequest(request.protocolVersion(), request.method(),
                    request.uri(), Unpooled.EMPTY_BUFFER, request.headers().copy(), EmptyHttpHeaders.INSTANCE);
            refused.setDecoderResult(
                    DecoderResult.failure(new TooLongHttpContentException("a body in an upgrade request")));
            ctx.fireChannelRead(refused);
        }
    }

    private static String describe(InetSocketAddress address) {
        return SocketAddresses.describe(address);
    }
}
