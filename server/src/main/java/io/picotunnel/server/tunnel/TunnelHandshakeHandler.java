package io.picotunnel.server.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.ws.StreamingWebSocketFrameDecoder;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.ws.YamuxWebSocketFrameEncoder;
import io.picotunnel.protocol.ws.WebSocketPings;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.net.ApiErrorCodes;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.net.PeerFailures;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.net.RetryAfter;
import io.picotunnel.server.store.Tunnel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The HTTP phase of a tunnel connection: {@code GET /tunnel} with the tunnel's token is upgraded to a
 * WebSocket that carries a yamux session in the server role; anything else gets an HTTP error and is closed.
 * A missing or unknown token gets the same 401 either way, before any upgrade.
 */
final class TunnelHandshakeHandler extends ChannelInboundHandlerAdapter {

    static final String PATH = "/tunnel";
    static final String SUBPROTOCOL = "tunnel";
    /**
     * The client's version and host name, sent with the upgrade; shown in the API. A version at all says the client is
     * ours, which takes no stream after its GoAway (a client that lies could as well refuse a stream with reason 8).
     */
    static final String VERSION_HEADER = "X-PicoTunnel-Client-Version";
    static final String HOSTNAME_HEADER = "X-PicoTunnel-Client-Hostname";
    static final int MAX_VERSION_LENGTH = 64;
    /** The longest DNS name. */
    static final int MAX_HOSTNAME_LENGTH = 253;
    /**
     * {@code Retry-After} of the 503 a connection gets while the endpoint closes (after the drain, its token lookups
     * stopped): a restarted server is back within seconds, as the HTTP proxy's pages for the same drain say.
     */
    static final Duration RETRY_WHEN_SHUTTING_DOWN = RetryAfter.IN_A_MOMENT;
    /** {@code Retry-After} of the 503 when the token store fails (a locked or broken database): no pile-up on it. */
    static final Duration RETRY_WHEN_STORE_FAILS = Duration.ofSeconds(10);
    /** Tokens are 64 hex characters; anything much longer is not looked up. */
    private static final int MAX_TOKEN_LENGTH = 256;

    private static final Logger LOG = LoggerFactory.getLogger(TunnelHandshakeHandler.class);

    private final TunnelEndpointConfig config;
    private final TunnelTokens tokens;
    private final TunnelRegistry registry;
    private final Executor lookups;
    private final FailedLogins failures;
    private final LingeringClose.Bounds linger;
    private final BooleanSupplier draining;
    private final RefusalLog unexpected;
    private ScheduledFuture<?> handshakeTimeout;
    private Phase phase = Phase.WAITING_FOR_REQUEST;
    /** The client upgraded, set with {@link Phase#RECHECKING}: what the handshake timeout then drops. */
    private Upgraded upgraded;
    /** The token's look-up or recheck out on the store, if any: cancelled when the connection is given up or ends. */
    private CompletableFuture<?> lookup = CompletableFuture.completedFuture(null);

    /** Where the handshake is: what its timeout does, and whether the token's recheck still decides. */
    private enum Phase {
        /** The timeout closes the connection; the first request is read. */
        WAITING_FOR_REQUEST,
        /** The request is being answered, its token looked up: the timeout closes the connection. */
        CHECKING_TOKEN,
        /** The 101 is being written: the timeout closes the connection. */
        UPGRADING,
        /**
         * The request was refused with an HTTP error ({@link #send}), before the 101 or in its place (a handshake the
         * handshaker rejects): the lingering close's bounds replace the timeout.
         */
        REFUSED,
        /** The 101 is written and the token's recheck out: the timeout drops the client ({@code recheckTooSlow}). */
        RECHECKING,
        /**
         * The timeout closed the connection, or dropped the client before the recheck answered: the recheck's answer is
         * ignored, and so is a 101 written after it (TLS writes it ahead of its close_notify).
         */
        GIVEN_UP
    }

    /** What a client upgraded while its token is rechecked comes with. */
    private record Upgraded(WebSocketDecoderConfig decoderConfig, Tunnel tunnel, String version,
                            TunnelRegistry.Arrival arrival) {
    }

    TunnelHandshakeHandler(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry, Executor lookups,
                           FailedLogins failures) {
        this(config, tokens, registry, lookups, failures, LingeringClose.Bounds.DEFAULT, () -> false);
    }

    /**
     * As above; {@code linger} bounds the reads after a refusal ({@link LingeringClose}); {@code draining} says
     * whether the server has begun to shut down, when a handshake is refused at once (503 with Retry-After).
     */
    TunnelHandshakeHandler(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry, Executor lookups,
                           FailedLogins failures, LingeringClose.Bounds linger, BooleanSupplier draining) {
        this(config, tokens, registry, lookups, failures, linger, draining, new RefusalLog(LOG));
    }

    /**
     * As above; {@code unexpected} writes the warnings for errors of our own, shared by the endpoint's connections so
     * that one bug met by every connection is a line an interval, not one per connection.
     */
    TunnelHandshakeHandler(TunnelEndpointConfig config, TunnelTokens tokens, TunnelRegistry registry, Executor lookups,
                           FailedLogins failures, LingeringClose.Bounds linger, BooleanSupplier draining,
                           RefusalLog unexpected) {
        this.unexpected = unexpected;
        this.linger = linger;
        this.draining = draining;
        this.config = config;
        this.tokens = tokens;
        this.registry = registry;
        this.lookups = lookups;
        this.failures = failures;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Duration timeout = config.handshakeTimeout();
        handshakeTimeout = ctx.executor().schedule(() -> {
            handshakeTimeout = null;
            if (phase == Phase.RECHECKING) {
                recheckTooSlow(ctx.channel(), upgraded);
                return;
            }
            LOG.debug("{}: no tunnel handshake within {}, closing", ctx.channel().remoteAddress(),
                    Durations.format(timeout));
            giveUp();
            ctx.close();
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimeout();
        lookup.cancel(true);
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request) || phase != Phase.WAITING_FOR_REQUEST) {
            // Only the first request of a connection is answered: it is upgraded or the connection closes.
            ReferenceCountUtil.release(msg);
            return;
        }
        phase = Phase.CHECKING_TOKEN;
        try {
            handle(ctx, request);
        } finally {
            request.release();
        }
    }

    /**
     * A client reset or gone in the middle of its handshake is no news (a debug line); what our own code throws while
     * a request is handled (reading its token, the failure count, the answer) is a bug, warned about with its stack.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (PeerFailures.fromPeer(cause)) {
            LOG.debug("{}: tunnel handshake failed: {}", ctx.channel().remoteAddress(), cause.toString());
        } else {
            Object remote = ctx.channel().remoteAddress();
            unexpected.failed(() -> remote + ": tunnel handshake closed on an unexpected error", cause);
        }
        ctx.close();
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            if (cause instanceof TooLongHttpContentException) {
                respond(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, ApiErrorCodes.BODY_NOT_ALLOWED,
                        "a tunnel upgrade request has no body");
            } else if (cause instanceof TooLongHttpLineException) {
                respond(ctx, HttpResponseStatus.REQUEST_URI_TOO_LONG, ApiErrorCodes.URI_TOO_LONG,
                        "the request line is too long");
            } else if (cause instanceof TooLongHttpHeaderException) {
                respond(ctx, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, ApiErrorCodes.HEADERS_TOO_LARGE,
                        "the request headers are too large");
            } else {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, ApiErrorCodes.BAD_REQUEST, "malformed HTTP request");
            }
            return;
        }
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        try {
            // Decoded once here (the decoder keeps them): a broken escape throws, which would close without an answer.
            uri.path();
            uri.parameters();
        } catch (IllegalArgumentException e) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, ApiErrorCodes.BAD_REQUEST,
                    "the request's URL has a '%' not followed by two hex digits");
            return;
        }
        if (!PATH.equals(uri.path())) {
            respond(ctx, HttpResponseStatus.NOT_FOUND, ApiErrorCodes.NOT_FOUND,
                    "tunnel clients connect to GET " + PATH);
            return;
        }
        if (!HttpMethod.GET.equals(request.method())) {
            FullHttpResponse response = response(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    ApiErrorCodes.METHOD_NOT_ALLOWED, "tunnel clients connect with GET " + PATH);
            response.headers().set(HttpHeaderNames.ALLOW, HttpMethod.GET.name());
            send(ctx, response);
            return;
        }
        if (draining.getAsBoolean()) {
            shuttingDown(ctx);
            return;
        }
        String token = token(request, uri);
        if (token == null) {
            unauthorized(ctx);
            return;
        }
        String address = address(ctx, request);
        Duration wait = failures.retryAfter(address);
        if (!wait.isZero()) {
            send(ctx, retryAfter(response(HttpResponseStatus.TOO_MANY_REQUESTS, TunnelErrorCodes.TOO_MANY_ATTEMPTS,
                    "too many wrong tunnel tokens from this address: wait, then connect with the tunnel's current token"),
                    wait));
            return;
        }
        // The store may block: look the token up off the event loop, and read nothing meanwhile.
        ctx.channel().config().setAutoRead(false);
        request.retain();
        try {
            CompletableFuture<Optional<Tunnel>> found =
                    InterruptibleLookup.supplyAsync(() -> tokens.findTunnelByToken(token), lookups);
            lookup = found;
            found.whenComplete((tunnel, error) -> registry.lookedUp.accept(ctx.channel(), () -> runOnLoop(ctx,
                    request, () -> afterLookup(ctx, request, address, token, tunnel, error))));
        } catch (RejectedExecutionException e) {
            request.release();
            shuttingDown(ctx);
        }
    }

    /**
     * 503 with Retry-After: the server drains for a shutdown. A client upgraded now would get GoAway at once and
     * carry nothing; told plainly, it waits and reconnects to the server that comes back (or to another replica).
     */
    private void shuttingDown(ChannelHandlerContext ctx) {
        // The code the HTTP proxy's pages use for the drain; the client tells the drain from a store failure by it.
        send(ctx, retryAfter(response(HttpResponseStatus.SERVICE_UNAVAILABLE, TunnelErrorCodes.SERVER_STOPPING,
                "the server is shutting down"), RETRY_WHEN_SHUTTING_DOWN));
    }

    private static void runOnLoop(ChannelHandlerContext ctx, FullHttpRequest request, Runnable task) {
        try {
            ctx.executor().execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.warn("{}: tunnel handshake failed", ctx.channel().remoteAddress(), e);
                    ctx.close();
                } finally {
                    request.release();
                }
            });
        } catch (RejectedExecutionException e) {
            request.release();
        }
    }

    private void afterLookup(ChannelHandlerContext ctx, FullHttpRequest request, String address, String token,
                             Optional<Tunnel> tunnel, Throwable error) {
        if (!ctx.channel().isActive() || phase == Phase.GIVEN_UP) {
            // Closed, or closing: the timeout passed first (with TLS the close waits for close_notify to be written).
            return;
        }
        if (error != null) {
            LOG.error("looking up a tunnel token failed", error);
            send(ctx, retryAfter(response(HttpResponseStatus.SERVICE_UNAVAILABLE, TunnelErrorCodes.UNAVAILABLE,
                    "the server cannot check tokens right now"), RETRY_WHEN_STORE_FAILS));
            return;
        }
        if (tunnel.isEmpty()) {
            failures.failed(address, "a tunnel token that belongs to no tunnel (" + FailedLogins.length(token) + ")");
            unauthorized(ctx);
            return;
        }
        failures.succeeded(address);
        if (draining.getAsBoolean()) {
            shuttingDown(ctx);
            return;
        }
        if (!isWebSocketUpgrade(request)) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, ApiErrorCodes.BAD_REQUEST,
                    "expected a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)");
            return;
        }
        WebSocketDecoderConfig decoderConfig = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(config.maxFramePayload())
                .expectMaskedFrames(true)
                .allowExtensions(false)
                .closeOnProtocolViolation(false)
                .build();
        String location = "ws://" + request.headers().get(HttpHeaderNames.HOST, "localhost") + PATH;
        WebSocketServerHandshaker handshaker =
                new WebSocketServerHandshakerFactory(location, SUBPROTOCOL, decoderConfig).newHandshaker(request);
        if (handshaker == null) {
            FullHttpResponse response = response(HttpResponseStatus.UPGRADE_REQUIRED,
                    ApiErrorCodes.UNSUPPORTED_WEBSOCKET_VERSION,
                    "the tunnel endpoint speaks WebSocket version 13");
            response.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, WebSocketVersion.V13.toHttpHeaderValue());
            send(ctx, response);
            return;
        }
        Channel channel = ctx.channel();
        // Before the 101: the client is online for itself once it reads it, and visitors then wait for its registration.
        TunnelRegistry.Arrival arrival = registry.arriving(tunnel.get().id(), Secrets.sha256Hex(token),
                channel.eventLoop());
        // The token once more, now that a revocation finds the arrival: one between the look-up above and the arrival
        // found nothing to drop. The session is registered only once this says the token still holds.
        CompletableFuture<Optional<TunnelCloseStatus>> recheck;
        try {
            recheck = InterruptibleLookup.supplyAsync(() -> revocation(tunnel.get(), token), lookups);
            lookup = recheck;
        } catch (RejectedExecutionException e) {
            arrival.abandon();
            shuttingDown(ctx);
            return;
        }
        ChannelFuture written;
        phase = Phase.UPGRADING;
        try {
            written = handshaker.handshake(channel, request);
        } catch (WebSocketHandshakeException e) {
            arrival.abandon();
            respond(ctx, HttpResponseStatus.BAD_REQUEST, ApiErrorCodes.BAD_REQUEST, e.getMessage());
            return;
        } catch (RuntimeException e) {
            arrival.abandon();
            throw e;
        }
        String version = headerText(request, VERSION_HEADER, MAX_VERSION_LENGTH);
        String hostname = headerText(request, HOSTNAME_HEADER, MAX_HOSTNAME_LENGTH);
        written.addListener(f -> {
            if (phase == Phase.GIVEN_UP) {
                // The timeout closed the connection while the 101 was written: a close under way, not a client.
                arrival.abandon();
                channel.close();
            } else if (f.isSuccess()) {
                upgraded = new Upgraded(decoderConfig, tunnel.get(), version, arrival);
                phase = Phase.RECHECKING;
                // A client that leaves while the recheck is out: the streams waiting for it fail now, not at its answer.
                channel.closeFuture().addListener(closed -> arrival.abandon());
                recheck.whenComplete((revoked, failed) -> onLoop(channel, arrival, () ->
                        registry.registration.accept(channel, () -> {
                            try {
                                startSession(channel, decoderConfig, tunnel.get(), version, hostname, arrival, revoked,
                                        failed);
                            } finally {
                                arrival.abandon();
                            }
                        })));
            } else {
                arrival.abandon();
                LOG.debug("{}: WebSocket upgrade failed: {}", channel.remoteAddress(), f.cause().toString());
                channel.close();
            }
        });
    }

    /** Runs {@code task} on the channel's loop; gives {@code arrival} up when the loop has shut down. */
    private static void onLoop(Channel channel, TunnelRegistry.Arrival arrival, Runnable task) {
        try {
            channel.eventLoop().execute(task);
        } catch (RejectedExecutionException e) {
            arrival.abandon();
        }
    }

    /**
     * Registers the session through {@code arrival}; left without it (given up by the caller) when the channel closed,
     * the server began to drain, or the token's second look-up ({@code revoked}, or {@code recheckFailed} when the store
     * failed) says it no longer holds.
     */
    private void startSession(Channel channel, WebSocketDecoderConfig decoderConfig, Tunnel tunnel, String version,
            String hostname, TunnelRegistry.Arrival arrival, Optional<TunnelCloseStatus> revoked,
            Throwable recheckFailed) {
        if (phase == Phase.GIVEN_UP) {
            // The handshake timeout passed first: the client was told to go away (recheckTooSlow).
            return;
        }
        cancelTimeout();
        if (!channel.isActive()) {
            return;
        }
        YamuxSession session = installSession(channel, decoderConfig, version);
        if (draining.getAsBoolean()) {
            // Upgraded just as the drain began, too late for it to find this session (a drain that begins after this
            // check does). No stream will ever open on it: not registered, so neither the log nor the listeners see a
            // client that connects only to leave. The close frame saying the server stops follows the GoAway at once.
            LOG.debug("{}: upgraded as the server began to stop, told to go away", channel.remoteAddress());
            dropWith(channel, session, TunnelCloseStatus.SERVER_STOPPING);
            return;
        }
        if (recheckFailed != null) {
            LOG.error("tunnel {} ({}): cannot recheck the token, dropping the client", tunnel.id(),
                    ControlCharacters.bounded(tunnel.name()), recheckFailed);
            // Not registered either; the close frame tells the client the fault is the server's, not its token's.
            dropWith(channel, session, TunnelCloseStatus.INTERNAL_ERROR);
            return;
        }
        if (revoked.isPresent()) {
            // Revoked after the first look-up, before the arrival was recorded, so the revocation found neither the
            // arrival nor a connection. Not registered: neither the log nor the listeners see a client that leaves at once.
            LOG.info("tunnel {} ({}): {} during the handshake, dropping the client", tunnel.id(),
                    ControlCharacters.bounded(tunnel.name()), revoked.get().description());
            dropWith(channel, session, revoked.get());
            return;
        }
        TunnelRegistry.Connection connection = arrival.register(session, version, hostname);
        if (connection == null) {
            TunnelCloseStatus why = arrival.revokedBy();
            LOG.info("tunnel {} ({}): {} during the handshake, dropping the client", tunnel.id(),
                    ControlCharacters.bounded(tunnel.name()), why.description());
            // As for a client already registered: the close frame lets its line say which.
            dropWith(channel, session, why);
            return;
        }
        ConnectedClient client = connection.describe();
        LOG.info("tunnel {} ({}): client {} connected from {} (version {}, host {}), {} connected", tunnel.id(),
                ControlCharacters.bounded(tunnel.name()), client.id(), client.remoteAddr(),
                ControlCharacters.bounded(client.versionOrUnknown()),
                ControlCharacters.bounded(client.hostnameOrUnknown()), registry.connections(tunnel.id()).size());
        channel.closeFuture().addListener(f -> {
            registry.unregister(connection);
            LOG.info("tunnel {} ({}): client {} disconnected, {} connected", tunnel.id(),
                    ControlCharacters.bounded(tunnel.name()), connection.id(), registry.connections(tunnel.id()).size());
        });
        channel.config().setAutoRead(true);
    }

    /** The WebSocket and yamux handlers in place of this one; the session is returned, not yet registered. */
    private YamuxSession installSession(Channel channel, WebSocketDecoderConfig decoderConfig, String version) {
        ChannelPipeline pipeline = channel.pipeline();
        pipeline.remove(this);
        // Same checks as the handshaker's decoder, without copying payloads; bytes it already holds are handed over.
        pipeline.replace(WebSocketFrameDecoder.class, "ws-decoder", new StreamingWebSocketFrameDecoder(decoderConfig));
        pipeline.addLast("ws-pings", new WebSocketPings());
        pipeline.addLast("ws-control", new WebSocketControlFrames());
        // Each yamux frame straight into one WebSocket frame; the byte stream codec above frames the other writes.
        pipeline.addLast("ws-yamux", YamuxWebSocketFrameEncoder.unmasked());
        pipeline.addLast("ws-bytes", new WebSocketByteStreamCodec());
        YamuxSession session = new YamuxSession(YamuxRole.SERVER, config.yamux(), RefuseInboundStreams.INSTANCE);
        if (version != null) {
            // Our client (it says its version) refuses every stream once it sent GoAway; hashicorp/yamux need not.
            session.peerTakesNoStreamAfterItsGoAway();
        }
        pipeline.addLast("yamux", session);
        return session;
    }

    /**
     * The handshake timeout passed after the 101 while the token's recheck was still out (a store slower than the
     * timeout): not a bare close, which the client would take for a lost connection, but GoAway and the close frame of
     * an internal error, as when the recheck fails. The arrival is given up now, so the streams waiting for it fail
     * at once instead of when the store answers.
     */
    private void recheckTooSlow(Channel channel, Upgraded upgraded) {
        giveUp();
        upgraded.arrival().abandon();
        if (!channel.isActive()) {
            return;
        }
        Tunnel tunnel = upgraded.tunnel();
        YamuxSession session = installSession(channel, upgraded.decoderConfig(), upgraded.version());
        if (draining.getAsBoolean()) {
            dropWith(channel, session, TunnelCloseStatus.SERVER_STOPPING);
            return;
        }
        LOG.warn("tunnel {} ({}): the token's recheck took longer than the handshake timeout ({}), dropping the "
                + "client", tunnel.id(), ControlCharacters.bounded(tunnel.name()),
                Durations.format(config.handshakeTimeout()));
        dropWith(channel, session, TunnelCloseStatus.INTERNAL_ERROR);
    }

    /**
     * Drops a client upgraded but not registered: GoAway on its session, then at once the close frame saying
     * {@code why}, and what the client sent meanwhile and its answer read before the connection ends: nothing was read
     * since its 101. The session was installed just now and carries no stream, so a stopping server need not wait for
     * streams to end either ({@link WebSocketControlFrames#goAwayForStop}).
     */
    private static void dropWith(Channel channel, YamuxSession session, TunnelCloseStatus why) {
        WebSocketControlFrames.goAway(channel, session, why);
    }

    /**
     * The handshake timeout ends the handshake: the token's look-up or recheck still out is cancelled, so that its
     * thread and the read connection it waits for are free for other clients, not held for one already given up.
     */
    private void giveUp() {
        phase = Phase.GIVEN_UP;
        lookup.cancel(true);
    }

    /** Why {@code token} no longer lets a client of {@code tunnel} in; empty while it does. Reads the store. */
    private Optional<TunnelCloseStatus> revocation(Tunnel tunnel, String token) {
        if (tokens.findTunnelByToken(token).map(t -> t.id().equals(tunnel.id())).orElse(false)) {
            return Optional.empty();
        }
        return Optional.of(tokens.findTunnel(tunnel.id()).isPresent()
                ? TunnelCloseStatus.TOKEN_REGENERATED : TunnelCloseStatus.TUNNEL_DELETED);
    }

    private void cancelTimeout() {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
            handshakeTimeout = null;
        }
    }

    /** The token from {@code Authorization: Bearer} or else from {@code ?token=}; null when absent or absurd. */
    static String token(FullHttpRequest request, QueryStringDecoder uri) {
        String token = null;
        String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            token = authorization.substring(7).trim();
        } else {
            List<String> values = uri.parameters().get("token");
            if (values != null && !values.isEmpty()) {
                token = values.get(0);
            }
        }
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
            return null;
        }
        return token;
    }

    /**
     * A header's value as shown to people: the characters that do not show as themselves ({@link ControlCharacters#isHidden}:
     * controls, invisible formatting such as the soft hyphen U+00AD) removed, trimmed, at most {@code maxLength}
     * characters; null when absent or blank. Removed rather than refused: the text is only shown, and a client whose
     * host name has one should still connect.
     */
    static String headerText(FullHttpRequest request, String name, int maxLength) {
        String value = request.headers().get(name);
        if (value == null) {
            return null;
        }
        StringBuilder clean = new StringBuilder(Math.min(value.length(), maxLength));
        value.codePoints().filter(c -> !ControlCharacters.isHidden(c)).forEach(clean::appendCodePoint);
        String text = clean.toString().strip();
        if (text.length() > maxLength) {
            int end = Character.isHighSurrogate(text.charAt(maxLength - 1)) ? maxLength - 1 : maxLength;
            text = text.substring(0, end).strip();
        }
        return text.isEmpty() ? null : text;
    }

    /**
     * The client's IP address, for the failure count and the log: the peer's, or, when the peer is a front proxy in
     * {@code --trusted-proxies}, the client its {@code X-Forwarded-For} names. Behind a reverse proxy every client
     * comes from the proxy: one client with a revoked token would otherwise make every other client's reconnect wait.
     */
    private String address(ChannelHandlerContext ctx, HttpRequest request) {
        if (!(ctx.channel().remoteAddress() instanceof InetSocketAddress remote) || remote.getAddress() == null) {
            return String.valueOf(ctx.channel().remoteAddress());
        }
        return config.trustedProxies()
                .visitor(remote.getAddress(), () -> request.headers().getAll("x-forwarded-for"))
                .getHostAddress();
    }

    private static boolean isWebSocketUpgrade(FullHttpRequest request) {
        return request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && request.headers().contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    private void unauthorized(ChannelHandlerContext ctx) {
        FullHttpResponse response = response(HttpResponseStatus.UNAUTHORIZED, TunnelErrorCodes.UNAUTHORIZED,
                "missing or invalid tunnel token: pass the tunnel's token as ?token= or Authorization: Bearer");
        response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"picotunnel\"");
        send(ctx, response);
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String error, String message) {
        send(ctx, response(status, error, message));
    }

    private static FullHttpResponse response(HttpResponseStatus status, String error, String message) {
        String json = "{\"error\":\"" + error + "\",\"message\":\"" + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
        ByteBuf body = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return response;
    }

    /** {@code response} with {@code Retry-After} in whole seconds, rounded up and at least 1. */
    private static FullHttpResponse retryAfter(FullHttpResponse response, Duration wait) {
        response.headers().set(HttpHeaderNames.RETRY_AFTER, FailedLogins.seconds(wait));
        return response;
    }

    /**
     * Sends a refusal ({@code Connection: close}) and ends the connection with a lingering close: the client may
     * still be sending (a body, or bytes after its request), and closing with them unread would reset the connection
     * and could discard the answer. The handshake timeout no longer applies; the lingering close's bounds do.
     */
    private void send(ChannelHandlerContext ctx, FullHttpResponse response) {
        phase = Phase.REFUSED;
        cancelTimeout();
        LingeringClose.after(ctx.writeAndFlush(response), linger);
    }
}
