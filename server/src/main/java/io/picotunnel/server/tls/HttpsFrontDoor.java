package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.PeerFailures;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The first handler of every HTTPS connection: reads the ClientHello (bounded in size and time), asks the
 * {@link HttpsRouter} what to do, and replaces itself with TLS termination, a TLS-ALPN-01 answer, a
 * passthrough relay, or a fatal {@code unrecognized_name} alert.
 */
final class HttpsFrontDoor extends SslClientHelloHandler<HttpsRoute> {

    static final Logger log = LoggerFactory.getLogger(HttpsFrontDoor.class);
    /** A ClientHello is a few hundred bytes, with post-quantum key shares a few KiB. */
    static final int MAX_CLIENT_HELLO = 32 * 1024;
    /**
     * How long a close waits for its close_notify (and what was queued before it: an HTTP/2 GOAWAY, the end of an
     * answer) to be written before the socket is closed anyway: a visitor that reads nothing cannot hold a connection
     * the server closes. Netty's default, made ours so that the bound does not hang on a library default.
     */
    static final Duration CLOSE_NOTIFY_FLUSH_TIMEOUT = Duration.ofSeconds(3);

    private final HttpsRouter router;
    private final HttpPipelines http;
    private final PassthroughForwarder passthrough;
    private final Duration helloTimeout;
    private ScheduledFuture<?> timeout;

    private final RefusalLog refusals;
    private final KeyedRefusalLog unexpected;

    HttpsFrontDoor(HttpsRouter router, HttpPipelines http, PassthroughForwarder passthrough, Duration helloTimeout) {
        this(router, http, passthrough, helloTimeout, new RefusalLog(log),
                new KeyedRefusalLog(log, RefusalLog.DEFAULT_INTERVAL, HttpsListener.MAX_FAILURE_KINDS));
    }

    /**
     * {@code refusals}: the listener's log of refused handshakes, which come in floods (scanners); {@code unexpected}:
     * its log of our own failures in the handshake or the HTTP set-up, met by every connection while the bug lasts,
     * by {@link FailureKind}.
     */
    HttpsFrontDoor(HttpsRouter router, HttpPipelines http, PassthroughForwarder passthrough, Duration helloTimeout,
                   RefusalLog refusals, KeyedRefusalLog unexpected) {
        super(MAX_CLIENT_HELLO);
        this.refusals = refusals;
        this.unexpected = unexpected;
        this.router = router;
        this.http = http;
        this.passthrough = passthrough;
        this.helloTimeout = helloTimeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        super.handlerAdded(ctx);
        timeout = ctx.executor().schedule(() -> {
            log.debug("no ClientHello from {} within {}, closing", ctx.channel().remoteAddress(),
                    Durations.format(helloTimeout));
            ctx.close();
        }, helloTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
        if (timeout != null) {
            timeout.cancel(false);
        }
        super.handlerRemoved0(ctx);
    }

    @Override
    protected Future<HttpsRoute> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) {
        HttpsRoute route;
        if (clientHello == null) {
            route = new HttpsRoute.Reject(null, "not a TLS ClientHello");
        } else {
            try {
                route = router.route(ClientHello.parse(clientHello));
            } catch (IllegalArgumentException e) {
                route = new HttpsRoute.Reject(null, "malformed ClientHello: " + e.getMessage());
            }
        }
        return ctx.executor().newSucceededFuture(route);
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, Future<HttpsRoute> future) {
        if (!future.isSuccess()) {
            ctx.close();
            return;
        }
        switch (future.getNow()) {
            case HttpsRoute.Terminate t -> terminate(ctx, t.sslContext());
            case HttpsRoute.AcmeChallenge c -> answerChallenge(ctx, c);
            case HttpsRoute.Passthrough p -> passthrough.forward(ctx, p);
            case HttpsRoute.Reject r -> reject(ctx, r);
        }
    }

    private void terminate(ChannelHandlerContext ctx, SslContext context) {
        ctx.pipeline().addAfter(ctx.name(), "alpn", new AlpnDispatcher(http, unexpected));
        ctx.pipeline().replace(this, "tls", newSslHandler(ctx, context));
    }

    private void answerChallenge(ChannelHandlerContext ctx, HttpsRoute.AcmeChallenge challenge) {
        log.info("answering TLS-ALPN-01 validation for {} from {}", ControlCharacters.bounded(challenge.serverName()),
                ctx.channel().remoteAddress());
        ctx.pipeline().addAfter(ctx.name(), "acme-tls-1", new CloseAfterHandshake());
        ctx.pipeline().replace(this, "tls", newSslHandler(ctx, challenge.sslContext()));
    }

    private static SslHandler newSslHandler(ChannelHandlerContext ctx, SslContext context) {
        SslHandler handler = context.newHandler(ctx.alloc());
        handler.setHandshakeTimeoutMillis(10_000);
        handler.setCloseNotifyFlushTimeoutMillis(CLOSE_NOTIFY_FLUSH_TIMEOUT.toMillis());
        return handler;
    }

    private void reject(ChannelHandlerContext ctx, HttpsRoute.Reject reject) {
        refusals.refused(false, () -> "TLS handshake from " + ctx.channel().remoteAddress() + " for "
                + (reject.serverName() == null ? "(no server name)" : ControlCharacters.quoted(reject.serverName()))
                + " refused with unrecognized_name: " + ControlCharacters.bounded(reject.reason()));
        ctx.writeAndFlush(TlsAlerts.fatal(ctx.alloc(), TlsAlerts.UNRECOGNIZED_NAME))
                .addListener(ChannelFutureListener.CLOSE);
        ctx.pipeline().replace(ctx.name(), "refused", new DiscardInbound());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HTTPS connection from {} failed before the handshake: {}", ctx.channel().remoteAddress(),
                cause.toString());
        ctx.close();
    }

    /** Hands the decrypted connection to HTTP/2 or HTTP/1.1 per the negotiated ALPN protocol. */
    private static final class AlpnDispatcher extends ApplicationProtocolNegotiationHandler {
        private final HttpPipelines http;
        private final KeyedRefusalLog unexpected;

        AlpnDispatcher(HttpPipelines http, KeyedRefusalLog unexpected) {
            super(ApplicationProtocolNames.HTTP_1_1);
            this.http = http;
            this.unexpected = unexpected;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            switch (protocol) {
                case ApplicationProtocolNames.HTTP_2 -> http.initHttp2(ctx.pipeline());
                case ApplicationProtocolNames.HTTP_1_1 -> http.initHttp1(ctx.pipeline(), true);
                default -> {
                    log.debug("unsupported ALPN protocol {} from {}", protocol, ctx.channel().remoteAddress());
                    ctx.close();
                }
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }

        /**
         * A visitor gone in the middle of its handshake (reset, as scanners do) is no news: Netty's handler would log
         * it as a warning with its stack trace, and again at the pipeline's end. Netty also brings here what fails in
         * our own code, as the TLS handshake is set up ({@link HttpsFrontDoor#terminate},
         * {@link HttpsFrontDoor#newSslHandler}) or the HTTP handling ({@link #configurePipeline}): those stay warnings,
         * with their stack trace, one an interval for the listener and {@link FailureKind}: a bug met by every
         * connection, or a flood of handshakes whose failure is not one we know for the peer's, would write a line
         * each; and a flood of one kind does not hide the first stack trace of another.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Object remote = ctx.channel().remoteAddress();
            if (PeerFailures.fromPeer(cause)) {
                log.debug("HTTPS connection from {} failed during the handshake: {}", remote, cause.toString());
            } else {
                unexpected.failed(FailureKind.of(cause), () -> "HTTPS connection from " + remote + " closed on an unexpected error in the TLS"
                        + " handshake or the HTTP set-up", cause);
            }
            ctx.close();
        }
    }

    /** What is left of a refused connection until it is closed: nothing more is read or answered. */
    private static final class DiscardInbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** A TLS-ALPN-01 validation only needs the handshake. */
    private static final class CloseAfterHandshake extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent) {
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
