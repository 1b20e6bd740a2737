package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.Http2SentBytes;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tls.HttpPipelines;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The HTTP reverse proxy: routes each request by Host and path to an {@code http} service and forwards it
 * over a stream of the service's tunnel, HTTP/1.1 upstream whatever the public side speaks.
 *
 * <p>The listeners call {@link #initHttp1} on an accepted (or TLS-terminated) connection, or
 * {@link #initHttp2} once ALPN chose {@code h2}. Thread-safe; one instance serves every listener.
 */
public final class HttpProxy implements HttpPipelines {

    /** Largest request line; longer gets 414. */
    static final int MAX_REQUEST_LINE = 8 * 1024;
    /** Largest request head (all header lines); larger gets 431. */
    static final int MAX_HEADER_SIZE = 16 * 1024;
    /** Largest body piece decoded at once, which bounds what one read holds. */
    static final int MAX_CHUNK_SIZE = 64 * 1024;

    /**
     * The most a request waits for its access checks. A password check runs on the gate's pool of 2 threads behind a
     * queue of 512 (beyond, the gate answers busy at once), ~0.15 s a bcrypt hash: a full queue clears in about 40 s,
     * 80 s were every check two hashes (a password sent decomposed is tried in both Unicode forms). A check not ended
     * long after is one that never will (a bug; a hash edited by hand to a huge cost matches nothing, without a
     * check), or a full queue on a machine over twice as slow (over ~0.35 s a hash): answered 503 check_timeout
     * rather than holding the request and its connection for ever. Not --proxy-timeout, the target's, which may be a
     * few seconds, well under what a full queue takes.
     */
    public static final Duration ACCESS_CHECK_TIMEOUT = Duration.ofMinutes(3);
    /**
     * Interim answers (102 Processing, 103 Early Hints) each start the wait for the final response head over, but
     * for this many proxy timeouts at most after the request went whole: a target that sends them for ever (an
     * HTTP/1.0 visitor is not even sent them) would otherwise hold the visitor, the stream and the target's
     * connection for ever.
     */
    public static final int INTERIM_WAIT_TIMEOUTS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(HttpProxy.class);
    private static final ChannelHandler CONNECTION_ENDS = new ConnectionEnds();

    private final HttpRoutes routes;
    private final UpstreamPool upstreams;
    private final Duration responseTimeout;
    private final Duration idleTimeout;
    private final Duration headerTimeout;
    private final Duration sendTimeout;
    private final Duration accessCheckTimeout;
    /** Requests whose access checks did not end in time: a bug, logged once a minute with the count of the others. */
    private final RefusalLog checksTimedOut = new RefusalLog(LOG);
    private final Http2UploadBudget uploadBudget;
    private final BodyCopyBudget bodyCopies;
    private final Function<String, Optional<String>> acmeChallenges;
    private final int httpsPort;
    private final Predicate<String> passedThrough;
    private final AccessControl access;
    private final Function<Service, TrafficCounters> traffic;
    /** How many times the timer of a response body looked at its exchange ({@link #responseBodyChecks}). */
    private final LongAdder responseBodyChecks = new LongAdder();
    /** Set once the server closes its tunnel sessions to stop: streams they lose are not lost clients. */
    private volatile boolean stopping;
    /** Set once the server drains to stop: its sessions take no new streams, its listeners no new visitors. */
    private volatile boolean draining;
    /** The visitors' HTTP/1.1 connections, for the drain to close those idle between requests. */
    private final ChannelGroup http1Connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    /** The visitors' HTTP/2 connections, for the drain to send them GOAWAY. */
    private final ChannelGroup http2Connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    private HttpProxy(Builder builder) {
        this.routes = Objects.requireNonNull(builder.routes, "routes");
        this.upstreams = new UpstreamPool(Objects.requireNonNull(builder.opener, "opener"), routes,
                builder.upstreamIdleTimeout, builder.maxIdleUpstreams);
        this.responseTimeout = builder.responseTimeout;
        this.idleTimeout = builder.idleTimeout;
        this.headerTimeout = builder.headerTimeout;
        this.sendTimeout = builder.sendTimeout;
        this.accessCheckTimeout = builder.accessCheckTimeout;
        this.uploadBudget = new Http2UploadBudget(builder.http2UploadBudget, builder.http2LastWriteWait);
        this.bodyCopies = new BodyCopyBudget(BodyCopyBudget.DEFAULT_LIMIT);
        this.acmeChallenges = builder.acmeChallenges;
        this.httpsPort = builder.httpsPort;
        this.passedThrough = builder.passedThrough;
        this.access = builder.access;
        this.traffic = builder.traffic;
    }

    /** The timer of a response body looked at its exchange ({@link Exchange}'s onResponseBodyTimeout). */
    void countResponseBodyCheck() {
        responseBodyChecks.increment();
    }

    /**
     * How many times the timer of a response body looked at its exchange, all exchanges of this proxy together: the
     * tasks an idle long-lived response costs the event loops (tests).
     */
    long responseBodyChecks() {
        return responseBodyChecks.sum();
    }

    /**
     * The server is about to close its tunnel sessions to stop (after its shutdown grace period, if any): a request
     * still waiting for its response then hears that the server stopped, not that the tunnel's client was lost.
     */
    public void stopping() {
        stopping = true;
    }

    boolean isStopping() {
        return stopping;
    }

    /**
     * The server drains to stop ({@code --shutdown-grace}): a request that finds no session taking streams hears that
     * the server is stopping, and every answer closes its connection, so that the visitor's next request goes to the
     * server's next instance rather than to this one. A keep-alive connection idle between requests is closed now,
     * not at its next request; an HTTP/2 connection gets GOAWAY (the streams it opened so far finish) and closes once
     * its last stream ends.
     */
    public void draining() {
        draining = true;
        for (Channel connection : http1Connections) {
            connection.eventLoop().execute(() -> {
                ProxyHandler handler = connection.pipeline().get(ProxyHandler.class);
                if (handler != null) {
                    handler.closeIfIdle();
                }
            });
        }
        http2Connections.forEach(HttpProxy::goAway);
    }

    /**
     * GOAWAY(NO_ERROR) naming the last stream the visitor opened (RFC 9113 6.8): those finish, the next request goes
     * to a new connection; this one closes after its last stream. Not the codec's close, which sends GOAWAY too but
     * gives the streams no time (its graceful timeout is 0, for the closes that mean it).
     */
    private static void goAway(Channel connection) {
        connection.eventLoop().execute(() -> {
            Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
            if (codec == null || !connection.isActive() || codec.connection().goAwaySent()) {
                return;
            }
            Http2Connection http2 = codec.connection();
            http2.addListener(new Http2ConnectionAdapter() {
                @Override
                public void onStreamClosed(Http2Stream stream) {
                    if (http2.numActiveStreams() == 0) {
                        connection.close();
                    }
                }
            });
            connection.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR)).addListener(written -> {
                if (http2.numActiveStreams() == 0) {
                    connection.close();
                }
            });
        });
    }

    /** The server drains or stops: its connections take no next request. */
    boolean isDraining() {
        return draining || stopping;
    }

    /** The lasting traffic counters of {@code service}. */
    TrafficCounters traffic(Service service) {
        return traffic.apply(service);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Installs the HTTP/1.1 server codec and the proxy on an accepted connection. {@code https} says whether
     * TLS was terminated in front: it sets {@code X-Forwarded-Proto} (unless a trusted proxy's says otherwise), and
     * only plain HTTP answers ACME HTTP-01 challenges and redirects to HTTPS (not a visitor a trusted proxy says
     * came over https).
     *
     * <p>The connection allows half-closure: a visitor that ends its side after its request (shutdown(SHUT_WR), with
     * or without TLS close_notify) still gets the answer, then the close ({@link ProxyHandler}); Netty would close the
     * connection at the EOF and drop what was still to be written. It reads only when asked, also at that EOF, so a
     * visitor that uploads mebibytes and then ends its side is read no faster than the target takes the body.
     */
    @Override
    public void initHttp1(ChannelPipeline pipeline, boolean https) {
        // Before the channel can read its EOF: in initChannel, or in the read that completed the TLS handshake.
        pipeline.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(pipeline.channel());
        HttpDecoderConfig config = new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_REQUEST_LINE)
                .setMaxHeaderSize(MAX_HEADER_SIZE)
                .setMaxChunkSize(MAX_CHUNK_SIZE)
                .setStrictLineParsing(true)
                // Rejects Content-Length together with Transfer-Encoding instead of guessing (smuggling).
                .setUseRfc9112TransferEncoding(true)
                // An upload with a Content-Length gets no trailers object of its own, as the targets' responses.
                .setTrailersFactory(LazyTrailers.FACTORY);
        ProxyHandler handler = new ProxyHandler(this, https, false);
        http1Connections.add(pipeline.channel());
        pipeline.addLast("http-feed", handler.decoderFeed());
        pipeline.addLast("http-codec", new HttpServerCodec(config, DecoderFeed.PIPELINE_DEPTH));
        pipeline.addLast("http-proxy", handler);
    }

    /**
     * Installs HTTP/2 on a TLS connection whose ALPN chose {@code h2}: every HTTP/2 stream becomes a child
     * channel that goes through the same proxy logic as an HTTP/1.1 request. The connection must open its first
     * stream within the header timeout, and the next within the idle timeout once none is open
     * ({@link Http2Deadlines}).
     *
     * <p>A visitor that ends its side with a FIN gets GOAWAY and the close ({@link ConnectionEnds}): the connection
     * allows half-closure only so that the FIN is seen as an event rather than closing the connection under the codec,
     * which would send no GOAWAY.
     */
    @Override
    public void initHttp2(ChannelPipeline pipeline) {
        // Before the channel can read its EOF: in the read that completed the TLS handshake.
        pipeline.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        Http2FrameCodec codec = Http2SentBytes.serverCodec(pipeline.channel());
        Http2Deadlines.watch(pipeline.channel(), codec.connection(), headerTimeout, idleTimeout);
        pipeline.addLast("http2-codec", codec);
        uploadBudget.watchConnection(pipeline.channel(), codec);
        pipeline.addLast("http2-multiplex", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(uploadBudget.watchStream(stream));
                stream.pipeline().addLast(new ProxyHandler(HttpProxy.this, true, true));
            }
        }));
        pipeline.addLast("http2-ends", CONNECTION_ENDS);
        http2Connections.add(pipeline.channel());
        if (draining) {
            // Its TLS handshake ended as the drain began: the loop over the connections may have missed it.
            goAway(pipeline.channel());
        }
    }

    /**
     * Last in an HTTP/2 connection's pipeline: a failure below the streams (a bad TLS record, a reset socket) ends
     * the connection with one debug line instead of a WARN with a stack trace from the pipeline's tail. A bad stream
     * never gets here: HTTP/2 resets it, and its own pipeline handles its errors.
     *
     * <p>A visitor that ends its side with a FIN gets the connection closed through the codec: GOAWAY(NO_ERROR) naming
     * the last stream it opened, so that it knows the later ones were never processed (RFC 9113 6.8), then
     * close_notify and the close. HTTP/2 has no half-closed connection (a request ends with its stream's END_STREAM)
     * and a visitor that ended its side can no longer open the windows an answer needs, so the streams still open end
     * with the connection, as in nginx and Go's server, which send no GOAWAY then. A visitor that reads nothing cannot
     * hold this close (nor the idle one) with a full send buffer: the codec does not wait for its GOAWAY to be written
     * (graceful shutdown timeout 0), and the TLS handler closes the socket once its close_notify has waited 3 s
     * ({@code HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT}). A close_notify needs nothing here:
     * the TLS library (BoringSSL) answers it with its own and encrypts nothing more, so no GOAWAY could follow, and
     * the TLS handler closes the connection.
     */
    @ChannelHandler.Sharable
    private static final class ConnectionEnds extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                LOG.debug("HTTP/2 connection from {} ended its side: GOAWAY and close", ctx.channel().remoteAddress());
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("HTTP/2 connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    HttpRoutes routes() {
        return routes;
    }

    /** The streams to the services' targets, kept alive between requests. */
    public UpstreamPool upstreams() {
        return upstreams;
    }

    Duration responseTimeout() {
        return responseTimeout;
    }

    /** The longest wait for a final response head that interim answers can stretch ({@link #INTERIM_WAIT_TIMEOUTS}). */
    Duration interimWaitLimit() {
        return responseTimeout.multipliedBy(INTERIM_WAIT_TIMEOUTS);
    }

    Duration idleTimeout() {
        return idleTimeout;
    }

    Duration headerTimeout() {
        return headerTimeout;
    }

    /** What {@link Http2UploadBudget} counts as held now, over all HTTP/2 connections. */
    public long http2UploadBytesHeld() {
        return uploadBudget.held();
    }

    /** The budget of the uploads HTTP/2 connections hold, for tests of its counts. */
    Http2UploadBudget http2UploadBudget() {
        return uploadBudget;
    }

    /** What the request bodies kept for a retry hold together ({@link BodyCopy}), and their limit. */
    public BodyCopyBudget bodyCopies() {
        return bodyCopies;
    }

    Duration sendTimeout() {
        return sendTimeout;
    }

    /** How long a request waits at most for its access checks ({@link #ACCESS_CHECK_TIMEOUT} but in tests). */
    Duration accessCheckTimeout() {
        return accessCheckTimeout;
    }

    RefusalLog checksTimedOut() {
        return checksTimedOut;
    }

    Function<String, Optional<String>> acmeChallenges() {
        return acmeChallenges;
    }

    int httpsPort() {
        return httpsPort;
    }

    /** Whether the HTTPS listener passes TLS for {@code host} to a passthrough service instead of terminating it. */
    boolean passedThrough(String host) {
        return passedThrough.test(host);
    }

    /** The gate in front of the services: address lists, rate limits, sign-in. */
    AccessControl access() {
        return access;
    }

    public static final class Builder {
        private HttpRoutes routes;
        private UpstreamOpener opener;
        private Duration responseTimeout = Duration.ofSeconds(60);
        private Duration idleTimeout = Duration.ofSeconds(75);
        private Duration headerTimeout = Duration.ofSeconds(20);
        private Duration sendTimeout = LingeringClose.DEFAULT_SEND_TIMEOUT;
        private long http2UploadBudget = YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT;
        private Duration http2LastWriteWait = Http2UploadBudget.LAST_WRITE_WAIT;
        private Duration accessCheckTimeout = ACCESS_CHECK_TIMEOUT;
        private Duration upstreamIdleTimeout = Duration.ofSeconds(60);
        private int maxIdleUpstreams = 128;
        private Function<String, Optional<String>> acmeChallenges = token -> Optional.empty();
        private int httpsPort = 443;
        private Predicate<String> passedThrough = host -> false;
        private AccessControl access = AccessControl.open();
        private Function<Service, TrafficCounters> traffic = service -> TrafficCounters.NONE;

        private Builder() {
        }

        /** The access checks of every request (open by default: no lists, limits or sign-in enforced). */
        public Builder access(AccessControl accessControl) {
            this.access = Objects.requireNonNull(accessControl, "access");
            return this;
        }

        /** The routing table, kept up to date as a {@link io.picotunnel.server.store.ServiceListener}. */
        public Builder routes(HttpRoutes routes) {
            this.routes = routes;
            return this;
        }

        /** How a request reaches its service: normally {@link TunnelUpstream} over the tunnel's client. */
        public Builder opener(UpstreamOpener opener) {
            this.opener = opener;
            return this;
        }

        /**
         * How long the target may take to start its response once the request is sent (504 after); at most
         * {@link Durations#MAX}, as {@code --proxy-timeout}: {@link #INTERIM_WAIT_TIMEOUTS} times it must stay a
         * deadline in nanoseconds (292 years), or the first interim answer would fail on the event loop.
         */
        public Builder responseTimeout(Duration timeout) {
            this.responseTimeout = requirePositiveUpToMax(timeout, "responseTimeout");
            return this;
        }

        /**
         * How long an HTTP/1.1 connection may wait for its next request before it is closed, and an HTTP/2
         * connection for its next stream once none is open.
         */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = requirePositiveUpToMax(timeout, "idleTimeout");
            return this;
        }

        /**
         * How long a visitor may take none of an answer being written to it before its connection (HTTP/2: its stream)
         * is reset (nginx's send_timeout): counted only while the proxy waits on the visitor, whether the body is still
         * coming from the target (reading from it paused by backpressure) or the proxy has it whole.
         */
        public Builder sendTimeout(Duration timeout) {
            this.sendTimeout = requirePositiveUpToMax(timeout, "sendTimeout");
            return this;
        }

        /**
         * Most upload bytes all HTTP/2 connections together may hold for streams whose target reads slower than
         * their visitor sends (each DATA frame counted with {@link Http2UploadBudget#FRAME_COST}); beyond, the
         * stream that has gone longest without its upload moving on is ended: answered 503 if its answer had not
         * begun, else reset.
         */
        public Builder http2UploadBudget(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("http2UploadBudget must be positive");
            }
            this.http2UploadBudget = bytes;
            return this;
        }

        /** For tests: how long the upload budget waits at most for an upload's last write into the tunnel. */
        Builder http2LastWriteWait(Duration wait) {
            this.http2LastWriteWait = requirePositiveUpToMax(wait, "http2LastWriteWait");
            return this;
        }

        /** For tests: how long a request waits at most for its access checks (a password check). */
        Builder accessCheckTimeout(Duration timeout) {
            this.accessCheckTimeout = requirePositiveUpToMax(timeout, "accessCheckTimeout");
            return this;
        }

        /**
         * How long a new HTTP/1.1 connection may take to send its first request head, and any later head once
         * its first bytes came, before it is closed; and a new HTTP/2 connection to open its first stream.
         */
        public Builder headerTimeout(Duration timeout) {
            this.headerTimeout = requirePositiveUpToMax(timeout, "headerTimeout");
            return this;
        }

        /**
         * How long a stream to a service's target (and the client's connection to the target behind it) waits,
         * idle, for the next request after a keep-alive exchange before it is closed; zero: never reused.
         */
        public Builder upstreamIdleTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("upstreamIdleTimeout must not be negative");
            }
            this.upstreamIdleTimeout = requireAtMostMax(timeout, "upstreamIdleTimeout");
            return this;
        }

        /** Most idle streams kept per service; the least recently used is closed beyond. */
        public Builder maxIdleUpstreams(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxIdleUpstreams must be at least 1");
            }
            this.maxIdleUpstreams = max;
            return this;
        }

        /**
         * ACME HTTP-01: maps a token to its key authorization while a challenge is pending. Plain HTTP
         * answers {@code GET /.well-known/acme-challenge/{token}} with it, for any host, before routing;
         * unknown tokens are routed like any other request.
         */
        public Builder acmeChallenges(Function<String, Optional<String>> keyAuthorizations) {
            this.acmeChallenges = Objects.requireNonNull(keyAuthorizations, "acmeChallenges");
            return this;
        }

        /**
         * Whether the HTTPS listener passes TLS for a host name to a passthrough service (none by default): a request for
         * such a name over TLS this proxy terminated came over a connection made for another name, and gets 421.
         */
        public Builder passedThrough(Predicate<String> passedThroughHosts) {
            this.passedThrough = Objects.requireNonNull(passedThroughHosts, "passedThrough");
            return this;
        }

        /** The public HTTPS port, used in redirects (omitted from the URL when 443). */
        public Builder httpsPort(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("httpsPort out of range: " + port);
            }
            this.httpsPort = port;
            return this;
        }

        /** Where each service's requests, body bytes and response statuses are counted. */
        public Builder traffic(Function<Service, TrafficCounters> counters) {
            this.traffic = Objects.requireNonNull(counters, "traffic");
            return this;
        }

        public HttpProxy build() {
            return new HttpProxy(this);
        }

        /** {@code d}, refused unless positive and at most {@link Durations#MAX}. */
        private static Duration requirePositiveUpToMax(Duration d, String name) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive");
            }
            return requireAtMostMax(d, name);
        }

        /**
         * {@code d}, refused beyond {@link Durations#MAX} (the longest a setting takes): a timer armed in nanoseconds
         * with a duration of 292 years or more fails on the event loop, not here.
         */
        private static Duration requireAtMostMax(Duration d, String name) {
            if (d.compareTo(Durations.MAX) > 0) {
                String max = Durations.format(Durations.MAX);
                String given = Durations.format(d);
                // Rounded to the second, a few milliseconds more reads as the longest itself
                throw new IllegalArgumentException(name + " must be at most " + max + ", not "
                        + (given.equals(max) ? max + " and " + Durations.format(d.minus(Durations.MAX)) : given));
            }
            return d;
        }
    }
}
