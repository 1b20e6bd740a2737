package io.picotunnel.server.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.relay.ResetOnDeath;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.StreamAcknowledgedEvent;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.net.SendWatch;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.ClientStoppingException;
import io.picotunnel.server.tunnel.TunnelOfflineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One request and its response over one upstream stream, for the public connection ({@link ProxyHandler}) that
 * read the request, on that connection's event loop. The request body goes up as the connection hands it over
 * ({@link #forwardRequestContent}); the response comes back through the stream's handler ({@link Upstream}),
 * whose events are handed over to this loop. The response side moves through {@link Phase}; the request side
 * only has to say whether it is sent whole ({@code requestDone}), which can happen before or after the response.
 */
final class Exchange {

    private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

    /** Where the exchange is, as the public side sees it. */
    enum Phase {
        /** Waiting for a stream (from the pool or a new one). */
        OPENING,
        /** Request going up (or sent); no final response head yet. */
        AWAITING_RESPONSE,
        /** A 1xx interim response is being passed on; the final one follows. */
        INFORMATIONAL,
        /** The final response head went out; its body follows. */
        RESPONDING,
        /** The target switched protocols: the relay has both channels. */
        UPGRADED,
        /** Over: answered whole, failed, timed out or aborted; the stream was closed or given back to the pool. */
        ENDED
    }

    /** What an exchange needs from the public connection it serves. */
    interface PublicSide {
        ChannelHandlerContext ctx();

        /** The exchange is still the connection's current one. */
        boolean isCurrent(Exchange exchange);

        /** The connection's timer for the wait for a response head, which each exchange arms and disarms. */
        LazyTimer responseTimer();

        /** The stream is ready for (more of) the request: go on handing over what was read, read more. */
        void requestFlows();

        /** Read the public side again if it is waiting for the stream. */
        void readIfReady();

        /**
         * The exchange failed before a response head went out: answer {@code page} here, and close the connection
         * after it if {@code close} (the request's own Connection header is in it: the request's headers may be the
         * ones passed on, their hop-by-hop ones removed), in the format the visitor's {@code accept} prefers (read
         * before that removal, which takes any header Connection names).
         */
        void answerLocally(HttpRequest request, String accept, ErrorPage page, boolean close, boolean requestFinished);

        /** The response went out whole: the connection takes its next request, or closes after {@code lastWrite}. */
        void responded(boolean keepAlive, boolean requestFinished, ChannelFuture lastWrite);

        /** The response was cut after its head went out: end the public side so that it cannot look whole. */
        void abort();

        /** The target accepted the upgrade: answer {@code head} (101) and relay raw bytes with {@code upstream}. */
        void upgrade(HttpResponse head, Channel upstream, Hold upstreamHeld);
    }

    private final PublicSide owner;
    /** {@link #readPublicIfCurrent}, and as a task of the hand-over (queued after a write to the stream): made once. */
    private final Runnable readPublic = this::readPublicIfCurrent;
    private final Runnable readPublicHandedOver = () -> runHandedOver(readPublic);
    private final ChannelHandlerContext ctx;
    private final HttpProxy proxy;
    /** Whether the visitor used https (this connection's TLS, or a trusted proxy's): the target's X-Forwarded-Proto. */
    private final boolean https;
    private final boolean http2;
    private final String clientIp;
    private final HttpRequest request;
    private final Service service;
    private final boolean keepAliveRequested;
    /** The visitor's Accept, for the format of a local answer: read before the headers lose what Connection names. */
    private final String accept;
    /** The visitor asked for Expect: 100-continue (and may hold its body until a 100): read before the strip too. */
    private final boolean continueExpected;
    private final boolean upgradeRequested;
    /** The Upgrade protocols passed on ({@code h2c} never is); null without an upgrade. */
    private final String upgradeProtocols;
    private final boolean expectsResponseBody;
    /** GET, HEAD or OPTIONS without a body: may be sent again when a reused stream fails before answering. */
    private final boolean retryable;
    /** The request's body is chunked: its Transfer-Encoding goes out again after the hop-by-hop headers are taken. */
    private final boolean chunked;
    /** The request has a body (Content-Length above 0, or chunked, even if empty): the target may leave it unread. */
    private final boolean hasBody;
    /** The Connection values of a chunked request's head, whose options name trailers too (RFC 9110 7.6.1); or none. */
    private final List<String> headConnection;
    private Channel upstream;
    /** The pool's lease of {@link #upstream}, which gives it back. */
    private UpstreamPool.Lease upstreamLease;
    /** The stream asked for and not come yet: an exchange that ends first takes the ask back. */
    private Future<UpstreamPool.Lease> opening;
    /** The handler on the current stream: events from an earlier (failed, retried) stream are ignored. */
    private Upstream upstreamHandler;
    /** The current stream ended before this side knew it was open. */
    private boolean upstreamEndedEarly;
    /** The stream carried an exchange before this one. */
    private boolean reused;
    private boolean retried;
    /** The clients that refused a stream to this request: none is asked again; the last one's page if none takes it. */
    private final Refusals refusals = new Refusals();
    /** Anything (even a 1xx) came back on the current stream. */
    private boolean upstreamAnswered;
    /** The target said 100 Continue: it will read the body before its final answer. */
    private boolean continued;
    /**
     * The target's final response head came, and what it says lets its connection carry another request
     * ({@link #headLetsStreamGoOn}): read from the head before its headers are edited for the visitor.
     */
    private boolean headAllowsReuse;
    /** The request as passed on, once made ({@link #upstreamRequest}). */
    private HttpRequest upstreamHead;
    private ChannelFuture lastUpstreamWrite;
    /** The write of the request head to the current stream: failed, nothing of the request left the server. */
    private ChannelFuture requestHeadWrite;
    /** Written to the stream and not flushed yet: one flush sends a request head and body as one frame. */
    private boolean upstreamFlushPending;
    /** Handing over a batch of the stream's messages: public writes wait for one flush at its end. */
    private boolean batchingPublicWrites;
    /**
     * Messages of the current upstream batch after the one being handled: any past a whole response means the
     * target sent more than it announced, and its stream is not reused.
     */
    private int upstreamMessagesAfter;
    private boolean publicFlushPending;
    /** Runs while the request body is expected from the public side: no progress for the proxy timeout ends it. */
    private ScheduledFuture<?> bodyTimer;
    /** When the body last made progress (or the wait for it started), in {@link System#nanoTime} terms. */
    private long bodyProgressAt;
    /** When the request went whole, so the wait for the final response head began, in {@link System#nanoTime} terms. */
    private long headWaitFrom;
    /** The wait for the final response head is set to end at {@link HttpProxy#interimWaitLimit}, whatever 1xx come. */
    private boolean headWaitAtLimit;
    /** Some of the request body went up the stream. */
    private boolean bodySent;
    /** A small request body as it went up, until the response starts: sent again when a client refuses the stream. */
    private final BodyCopy bodyCopy;
    private final LastByteHold lastByteHold;
    /**
     * While the response body goes out, the wait on the target (nginx's proxy_read_timeout): when it last began,
     * in {@link System#nanoTime} terms: a piece from the target, the proxy reading on after it had held back for the
     * visitor ({@link #readWithheld}), or a piece of the request body sent up. Counts while no write of this exchange
     * to the visitor is pending ({@link #writePending}); the proxy timeout without any of these cuts the body.
     */
    private long targetWaitFrom;
    /**
     * The writes to the visitor and the wait on it (nginx's send_timeout), which starts over when a write completes,
     * when one starts while none was pending, and when the response head comes. Counts only while
     * {@link #writePending}: an HTTP/2 stream whose connection takes nothing because of other streams, with nothing of
     * its own pending, is not the visitor holding this answer. The send timeout without progress resets the visitor.
     */
    private final SendWatch send;
    /**
     * The proxy held back reading from the target for the visitor (a write pending, or the channel not writable): when
     * it reads on, the wait on the target starts again. Not set, a writability change (of the channel, or over HTTP/2
     * passed on from the connection) does not restart it, so a silent target is not hidden by a busy connection.
     */
    private boolean readWithheld;
    /** Within this exchange's read() of its stream ({@link #readUpstream}). */
    private boolean readingUpstream;
    private Phase phase = Phase.OPENING;
    /** The whole request (its last content) has been written to the stream. */
    private boolean requestDone;
    /** The public connection may take another request after this response. */
    private boolean keepAlive;
    /**
     * The final answer is a 205, whose content and trailers, if its target sent any, the visitor is not sent (RFC 9110
     * 15.3.6), over HTTP/1 and HTTP/2 alike.
     */
    private boolean contentDropped;
    private final TrafficCounters traffic;
    /** Counted as ended in {@link #traffic} (once, however the exchange ends). */
    private boolean trafficClosed;
    private final long startNanos;

    Exchange(PublicSide owner, HttpProxy proxy, boolean https, boolean http2, String clientIp, HttpRequest request,
            Service service) {
        this.owner = owner;
        this.ctx = owner.ctx();
        this.send = new SendWatch(ctx.channel(), proxy.sendTimeout());
        this.proxy = proxy;
        this.https = https;
        this.http2 = http2;
        this.clientIp = clientIp;
        this.request = request;
        this.service = service;
        this.traffic = proxy.traffic(service);
        this.bodyCopy = new BodyCopy(proxy.bodyCopies());
        this.lastByteHold = LastByteHold.of(request, http2);
        traffic.opened();
        this.startNanos = System.nanoTime();
        this.keepAliveRequested = HttpUtil.isKeepAlive(request);
        this.accept = request.headers().get(HttpHeaderNames.ACCEPT);
        this.continueExpected = HttpUtil.is100ContinueExpected(request);
        this.upgradeProtocols = http2 ? null : RequestSanitizer.upgradeToForward(request);
        this.upgradeRequested = upgradeProtocols != null;
        this.expectsResponseBody = !request.method().equals(HttpMethod.HEAD);
        HttpMethod method = request.method();
        this.chunked = HttpUtil.isTransferEncodingChunked(request);
        this.hasBody = ProxyHandler.mayHaveBody(request, chunked);
        this.headConnection = chunked && request.headers().contains(HttpHeaderNames.CONNECTION)
                ? request.headers().getAll(HttpHeaderNames.CONNECTION) : List.of();
        this.retryable = (method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)
                || method.equals(HttpMethod.OPTIONS)) && !hasBody;
    }

    void open() {
        Upstream handler = new Upstream(this, ctx.executor());
        upstreamHandler = handler;
        upstreamEndedEarly = false;
        upstreamAnswered = false;
        continued = false;
        Future<UpstreamPool.Lease> opened = retried
                ? proxy.upstreams().acquireNew(service, handler, refusals.passOver())
                : proxy.upstreams().acquire(service, handler, refusals.passOver());
        opening = opened;
        opened.addListener(f -> ctx.executor().execute(() -> onOpened(opened)));
    }

    private void onOpened(Future<UpstreamPool.Lease> opened) {
        if (opening == opened) {
            opening = null;
        }
        if (opened.isSuccess()) {
            if (opened.getNow().reused()) {
                traffic.upstreamReused();
            } else {
                traffic.upstreamOpened();
            }
        }
        if (isOver()) {
            if (opened.isSuccess()) {
                opened.getNow().channel().close();
            }
            return;
        }
        if (!opened.isSuccess()) {
            Throwable cause = opened.cause();
            ErrorPage page = noStreamPage(cause);
            if (page.error().equals(ErrorPage.TUNNEL_ERROR)) {
                LOG.warn("service {}: no stream to the tunnel's client ({}); {} {} from {} {}", service.id(),
                        cause.toString(), request.method(), ControlCharacters.bounded(service.domain()), clientIp,
                        answered(page));
            } else if (chosenClientEnded(cause)) {
                // Not the steady state of a tunnel without clients: the one chosen went (or the server ended it) just
                // now. After refusals, one line tells both: the clients that refused, then why the last one chosen took
                // none.
                String clients = refusals.tell(ResetReason.NONE);
                LOG.info("service {}: {}no stream to the tunnel's client ({}); {} {} from {} {}", service.id(),
                        clients == null ? "" : clients + "; then ", cause.getMessage(), request.method(),
                        ControlCharacters.bounded(service.domain()), clientIp, answered(page));
            } else {
                LOG.debug("no stream for {}: {}", ControlCharacters.bounded(service.domain()), cause.toString());
            }
            logRefusals(ResetReason.NONE, answered(page));
            end();
            // A retry's request went whole to the failed stream: the connection's next message is the next request.
            answerLocally(page, false, requestDone);
            return;
        }
        upstreamLease = opened.getNow();
        upstream = upstreamLease.channel();
        reused = upstreamLease.reused();
        if (reused) {
            // An idle stream, acknowledged long ago: the request went to a client that took it.
            logRefusals(ResetReason.NONE, "went to another client");
        }
        writeUpstream(upstreamRequest());
        requestHeadWrite = lastUpstreamWrite;
        if (requestDone) {
            // A retry: the body went whole to the failed stream already; it goes again if it was kept, else it was
            // empty.
            if (bodyCopy.isWhole()) {
                bodyCopy.writeTo(this::writeUpstream);
            } else {
                writeUpstream(LastHttpContent.EMPTY_LAST_CONTENT);
            }
            startResponseTimer();
        }
        phase = Phase.AWAITING_RESPONSE;
        readUpstream();
        if (upstreamEndedEarly) {
            flushUpstream();
            onUpstreamEnded();
            return;
        }
        // Hands over what the public side read already (a GET's end, a small body) and flushes it with the head.
        owner.requestFlows();
        flushUpstream();
        bodyProgressAt = System.nanoTime();
        startBodyTimer(proxy.responseTimeout().toNanos());
    }

    /**
     * The client chosen for the stream was lost, or ended by the server for its token regenerated or its tunnel
     * deleted, before the stream opened, and no other took it, with no refusal to tell of instead
     * ({@link #logRefusals}); or, after refusals, ended by the server for any reason (the server stopping too): the
     * refusals' line alone would name the last refusal as the reason, which it is not.
     */
    private boolean chosenClientEnded(Throwable cause) {
        if (!(cause instanceof TunnelOfflineException offline)) {
            return false;
        }
        return refusals.last() == null ? offline.clientLost() : offline.endedBy() != null;
    }

    /** The answer to a request that got no stream, failed with {@code cause}. */
    private ErrorPage noStreamPage(Throwable cause) {
        if (cause instanceof TunnelOfflineException offline && offline.endedBy() != null) {
            // The last client chosen refused nothing: the server ended it, so an earlier refusal is not the reason.
            return offline.endedBy() == TunnelCloseStatus.SERVER_STOPPING || proxy.isDraining()
                    ? ErrorPage.serverDraining() : ErrorPage.tunnelOffline();
        }
        if (cause instanceof TunnelOfflineException) {
            return noClientPage();
        }
        if (cause instanceof ClientStoppingException) {
            // As if it had refused the stream: it was chosen before its GoAway came, and gone when the stream opened.
            return ErrorPage.targetFailed(ResetReason.REFUSED_GOING_AWAY);
        }
        if (cause instanceof StreamOpenException full && full.atStreamLimit()) {
            // The server's session to the client is at the server's --max-streams: the request never left the server.
            return ErrorPage.tunnelBusy();
        }
        if (cause instanceof StreamOpenException) {
            // The session closed or going away while its connection still looked usable (the session marks itself
            // closing before its connection is closed): no client took the request.
            return noClientPage();
        }
        // No stream, so the request never reached the client, let alone the target: the target is not to blame.
        return cause instanceof TunnelBusyException ? ErrorPage.tunnelBusy() : ErrorPage.tunnelError();
    }

    /** No client of the tunnel took the request: after a client's refusal, its refusal (stopping, full) is why. */
    private ErrorPage noClientPage() {
        if (refusals.last() != null) {
            return ErrorPage.targetFailed(refusals.last());
        }
        // While the server drains, its own GoAway is why no session takes the stream, not a client that is gone.
        return proxy.isDraining() ? ErrorPage.serverDraining() : ErrorPage.tunnelOffline();
    }

    /**
     * The stream's client was lost with the stream's SYN, or the request's head, still queued: the client never heard
     * of the request and nothing of it reached the target, so it goes to another client of the tunnel as after a
     * refusal, whatever its method, unless its body went up the lost stream and was not kept ({@link #bodyLeftBehind}).
     * It is no refusal: not counted towards {@link Refusals#MAX_CLIENTS} (the lost session is never chosen again), nor
     * named one in the log. With no other client the open fails and the request gets the page of a tunnel without
     * clients, or, after refusals, the last refusal's; so does a request whose body cannot go again, at once.
     */
    private void sendElsewhereAfterLostClient() {
        if (!bodyLeftBehind()) {
            LOG.debug("the client chosen for {} {} was lost before the request reached it: opening it on another",
                    request.method(), ControlCharacters.bounded(service.domain()));
            reopen();
            return;
        }
        ErrorPage page = noClientPage();
        String outcome = answered(page)
                + " (its body went up the lost stream, and the proxy kept no copy to send again)";
        String clients = refusals.tell(ResetReason.NONE);
        LOG.info("service {}: {}the tunnel's client chosen for the request was lost before its stream reached it; {} {}"
                        + " from {} {}",
                service.id(), clients == null ? "" : clients + "; ", request.method(),
                ControlCharacters.bounded(service.domain()), clientIp, outcome);
        end();
        answerLocally(page, !requestDone, requestDone);
    }

    /**
     * The stream's session was lost before the request's head was written to its connection (the write failed, as the
     * writes queued behind it): nothing of the request left the server. Its stream is gone as the SYN of
     * {@link YamuxStreamChannel#synNeverSent} is: the request reached no client, whether the stream was new or reused.
     */
    private boolean requestNeverLeft() {
        return requestHeadWrite != null && requestHeadWrite.isDone() && !requestHeadWrite.isSuccess();
    }

    /**
     * A reused stream ended before any answer: most likely the target closed its idle connection just as
     * the request went out (nginx's case too). An idempotent request without a body goes once more, on a
     * new stream. Not when the stream's session was lost: that is no closed idle connection, and the request may have
     * reached the app, as on a new stream ({@link #answerTunnelLost}).
     */
    private boolean retryOnNewStream() {
        if (!reused || retried || upstreamAnswered || !retryable
                || upstream instanceof YamuxStreamChannel stream && stream.sessionLost()) {
            return false;
        }
        LOG.debug("reused stream to {} ended before answering {} {}: retrying on a new stream",
                service.targetAddr(), request.method(), ControlCharacters.bounded(service.domain()));
        retried = true;
        reopen();
        return true;
    }

    /**
     * A client refused the stream at its opening (stopping: its GoAway and our SYN crossed; or at its stream limit):
     * the target never saw the request, so any method may go again, to another client of the tunnel (never one that
     * refused it already, and {@link Refusals#MAX_CLIENTS} clients in all at most), as long as none of its body went to
     * the refused stream, or all of it did and it was small enough to be kept ({@link BodyCopy}): the proxy keeps no
     * bigger or unfinished body to send again. Null when it may; else why not, for the log (empty when that says it).
     */
    private String whyNotSentAgain() {
        if (bodyLeftBehind()) {
            return " (its body went up the refused stream, and the proxy kept no copy to send again)";
        }
        if (refusals.exhausted()) {
            return " (no more than " + Refusals.MAX_CLIENTS + " clients are asked)";
        }
        return upstreamAnswered ? "" : null;
    }

    /** Some of the request's body went up the current stream, and the proxy has no whole copy to send again. */
    private boolean bodyLeftBehind() {
        return (bodySent || (requestDone && hasBody)) && !(requestDone && bodyCopy.isWhole());
    }

    /**
     * The request's one line about the clients that refused its stream, once its {@code outcome} is known (it went to
     * another client, or was answered here); for a stream reset before its answer for another {@code reason} (not
     * NONE), that reason first. Nothing when neither happened, or for NONE once told.
     */
    private void logRefusals(ResetReason reason, String outcome) {
        String clients = refusals.tell(reason);
        if (clients != null) {
            LOG.info("service {}: {}; {} {} from {} {}", service.id(), clients, request.method(),
                    ControlCharacters.bounded(service.domain()), clientIp, outcome);
        }
    }

    private static String answered(ErrorPage page) {
        return "is answered " + page.status().code() + " " + page.error();
    }

    /** The client acknowledged the current stream: a request other clients refused went to this one. */
    void onUpstreamAcknowledged() {
        logRefusals(ResetReason.NONE, "went to another client");
    }

    /** Drops the stream that ended without an answer and opens another for the same request. */
    private void reopen() {
        cancelResponseTimer();
        upstream.close();
        upstream = null;
        upstreamLease = null;
        lastUpstreamWrite = null;
        requestHeadWrite = null;
        phase = Phase.OPENING;
        open();
    }

    /**
     * The request as the target gets it, made once: a retry sends the very same (its first stream's codec may still
     * read it on that stream's loop, so it is never edited again). Its headers are the visitor's, edited in place
     * rather than copied: what the exchange and {@link ProxyHandler} read of the hop-by-hop ones after this
     * (keep-alive, the upgrade, the body's framing) was read in the constructor, or is put back below (a chunked
     * Transfer-Encoding); Content-Length and Host stay.
     */
    private HttpRequest upstreamRequest() {
        if (upstreamHead == null) {
            upstreamHead = passedOnRequest();
        }
        return upstreamHead;
    }

    private HttpRequest passedOnRequest() {
        HttpHeaders headers = request.headers();
        String publicHost = RequestTarget.hostOf(request);
        HopByHop.strip(headers, RequestSanitizer.FORWARDING);
        String ip = clientIp;
        headers.set("x-forwarded-for", ip)
                .set("x-real-ip", ip)
                .set("x-forwarded-proto", https ? "https" : "http");
        if (publicHost != null) {
            headers.set("x-forwarded-host", publicHost).set(HttpHeaderNames.HOST, publicHost);
        }
        if (chunked) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        if (upgradeRequested) {
            headers.set(HttpHeaderNames.UPGRADE, upgradeProtocols)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        }
        // Otherwise HTTP/1.1 without Connection: keep-alive, so the stream can carry the next request.
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), RequestTarget.originForm(request.uri()),
                headers);
    }


    /** The request asks to switch protocols: what the public side sends after it is not HTTP. */
    boolean upgradeRequested() {
        return upgradeRequested;
    }

    /** Whether the request's body goes up now: the stream is open and the body not sent whole yet. */
    boolean takesRequestContent() {
        return upstream != null && !requestDone && !isOver() && phase != Phase.OPENING;
    }

    /** Whether the request went up whole: what the visitor sends next is no part of it. */
    boolean requestSentWhole() {
        return requestDone;
    }

    /** The next piece of the request body, read from the public side. */
    void forwardRequestContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            Http2UploadBudget.passedOn(content); // undecodable, it goes nowhere
            rejectRequestBody(content);
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (last) {
            RequestSanitizer.stripTrailers(((LastHttpContent) content).trailingHeaders(), headConnection);
        }
        bodySent |= content.content().isReadable();
        traffic.received(content.content().readableBytes());
        if (hasBody) {
            bodyCopy.keep(content);
        }
        // Counted, its credit withheld, until it is in the tunnel: the stream may queue it, its window taken
        writeUpstream(lastByteHold.passOn(content));
        Http2UploadBudget.passedOnOnceWritten(content, lastUpstreamWrite);
        if (last) {
            requestDone = true;
            cancelBodyTimer();
            if (phase == Phase.AWAITING_RESPONSE || phase == Phase.INFORMATIONAL) {
                startResponseTimer();
            }
        } else {
            bodyProgressAt = System.nanoTime();
            targetWaitFrom = bodyProgressAt;
        }
    }

    /**
     * The body could not be decoded (an invalid chunk size or chunk end): the target must not take what went up
     * for a whole body, so its stream is reset; the client gets 400 (when no response started) and the close.
     */
    private void rejectRequestBody(HttpContent content) {
        Throwable cause = content.decoderResult().cause();
        content.release();
        LOG.info("invalid request body from {} for {} {}: {}", clientIp, request.method(),
                ControlCharacters.bounded(service.domain()),
                ControlCharacters.bounded(cause == null ? "undecodable" : cause.getMessage()));
        boolean responseStarted = phase == Phase.RESPONDING;
        endWithReset();
        if (responseStarted) {
            owner.abort();
        } else {
            answerLocally(ErrorPage.badRequest("The request body is not valid chunked encoding."),
                    true, false);
        }
    }

    /**
     * Looks at the body's progress in {@code nanos}; nothing when the body went whole. One timer for the whole body
     * (as Netty's IdleStateHandler): a piece arriving only notes the time.
     */
    private void startBodyTimer(long nanos) {
        cancelBodyTimer();
        if (requestDone || isOver()) {
            return;
        }
        bodyTimer = ctx.executor().schedule(this::onBodyTimeout, nanos, TimeUnit.NANOSECONDS);
    }

    private void cancelBodyTimer() {
        if (bodyTimer != null) {
            bodyTimer.cancel(false);
            bodyTimer = null;
        }
    }

    /**
     * No piece of the body for the proxy timeout. Only the client's silence counts: while the stream holds the
     * body back (the target reads slowly), the wait starts again. A client that sent none of the body while it awaits
     * the target's word on a 100-continue is silent for want of that word: the target did not answer in time (504).
     */
    private void onBodyTimeout() {
        bodyTimer = null;
        if (requestDone || isOver()) {
            return;
        }
        long timeout = proxy.responseTimeout().toNanos();
        long now = System.nanoTime();
        long left = bodyProgressAt + timeout - now;
        if (left > 0) {
            startBodyTimer(left);
            return;
        }
        if (!upstreamReady()) {
            bodyProgressAt = now;
            startBodyTimer(timeout);
            return;
        }
        // An interim answer other than 100 (102 Processing, 103 Early Hints) does not let the visitor send its body.
        if (continueExpected && !continued && !bodySent && phase != Phase.RESPONDING) {
            LOG.info("{} did not answer {} {} (Expect: 100-continue) within {}", service.targetAddr(), request.method(),
                    ControlCharacters.bounded(service.domain()), Durations.format(proxy.responseTimeout()));
            endWithReset();
            answerLocally(ErrorPage.timeout(proxy.responseTimeout()), true, false);
            return;
        }
        LOG.info("request body from {} for {} {} stalled for {}: ending the exchange", clientIp, request.method(),
                ControlCharacters.bounded(service.domain()), Durations.format(proxy.responseTimeout()));
        boolean responseStarted = phase == Phase.RESPONDING;
        endWithReset();
        if (bodySent || responseStarted) {
            owner.abort();
        } else {
            answerLocally(ErrorPage.requestTimeout(proxy.responseTimeout()), true, false);
        }
    }

    /**
     * The whole request went into the tunnel: its last piece written to the stream, and the write done. Whole in the
     * stream's queue only, it is not: what waits there still counts against the HTTP/2 upload budget.
     */
    boolean requestInTheTunnel() {
        return requestDone && lastUpstreamWrite != null && lastUpstreamWrite.isSuccess();
    }

    /**
     * The write of the request's last piece into the tunnel while it is under way, the request whole in the stream's
     * queue (on another event loop, the tunnel stream's, it completes later); else null.
     */
    ChannelFuture lastRequestWriteUnderWay() {
        return requestDone && !isOver() && lastUpstreamWrite != null && !lastUpstreamWrite.isDone()
                ? lastUpstreamWrite : null;
    }

    /**
     * HTTP/2: the server's budget for held uploads ends this one before the response head went out, its request not
     * in the tunnel whole ({@link #requestInTheTunnel}): the stream up the tunnel is reset, so the target sees the
     * request cut, never whole, and the visitor is answered 503 (its WARN, once a minute, is the budget's). False,
     * doing nothing, once the head went out or the exchange is over.
     */
    boolean endOverBudget() {
        if (isOver() || phase == Phase.RESPONDING) {
            return false;
        }
        LOG.debug("the upload of {} {} from {} was ended for the server's budget of held uploads", request.method(),
                ControlCharacters.bounded(service.domain()), clientIp);
        endWithReset();
        answerLocally(ErrorPage.serverBufferFull(), true, requestDone);
        return true;
    }

    /** The response head went out and its body is still coming from the target. */
    boolean responseBodyComing() {
        return phase == Phase.RESPONDING;
    }

    /** Answered whole, failed, timed out, aborted or upgraded: nothing more goes through this exchange. */
    boolean isOver() {
        return phase == Phase.ENDED || phase == Phase.UPGRADED;
    }

    /**
     * Writes to the stream, flushed by {@link #flushUpstream}; the public side is read again once this write is done
     * (and the stream writable). Once the request went whole ({@link #requestDone}) the public side is read again when
     * the response is done ({@link PublicSide#responded}), not when a write is: no task is queued for it then. That
     * spares a GET two tasks that found nothing to do (its head's write completes after its end was written).
     */
    private void writeUpstream(HttpObject msg) {
        lastUpstreamWrite = upstream.write(msg);
        upstreamFlushPending = true;
        if (msg instanceof LastHttpContent) {
            return;
        }
        lastUpstreamWrite.addListener(f -> {
            EventExecutor loop = ctx.executor();
            // requestDone only ever turns true, and is read here only on its own loop.
            if (!loop.inEventLoop() || !requestDone) {
                loop.execute(readPublicHandedOver);
            }
        });
    }

    /** Sends what {@link #writeUpstream} wrote: called once the public side's messages at hand are handed over. */
    void flushUpstream() {
        if (upstreamFlushPending && upstream != null) {
            upstreamFlushPending = false;
            upstream.flush();
        }
    }

    void readPublicIfCurrent() {
        if (owner.isCurrent(this)) {
            owner.readIfReady();
        }
    }

    boolean upstreamReady() {
        return upstream != null && upstream.isWritable()
                && (lastUpstreamWrite == null || lastUpstreamWrite.isDone());
    }

    void readUpstreamIfReady() {
        if (upstream == null || isOver()) {
            return;
        }
        if (visitorHolds()) {
            readWithheld = true;
            return;
        }
        if (readWithheld && phase == Phase.RESPONDING) {
            targetWaitFrom = System.nanoTime(); // the wait on the target starts again now
        }
        readWithheld = false;
        readUpstream();
    }

    /**
     * A read of the stream, which may deliver what it holds at once: on one loop, {@link Upstream} hands that over
     * through a task rather than into the middle of this exchange's own work.
     */
    private void readUpstream() {
        readingUpstream = true;
        try {
            upstream.read();
        } finally {
            readingUpstream = false;
        }
    }

    /** The request went whole: the wait for the final response head begins. */
    private void startResponseTimer() {
        headWaitFrom = System.nanoTime();
        headWaitAtLimit = false;
        owner.responseTimer().arm(proxy.responseTimeout().toNanos(), TimeUnit.NANOSECONDS, this::onTimeout);
    }

    /**
     * An interim answer: the target is at work (102 Processing, 103 Early Hints), so the wait starts over, but ends
     * {@link HttpProxy#interimWaitLimit} after the request went whole at the latest.
     */
    private void restartResponseTimer() {
        long timeout = proxy.responseTimeout().toNanos();
        long left = headWaitFrom + proxy.interimWaitLimit().toNanos() - System.nanoTime();
        headWaitAtLimit = left <= timeout;
        owner.responseTimer().arm(Math.max(0, Math.min(timeout, left)), TimeUnit.NANOSECONDS, this::onTimeout);
    }

    private void onTimeout() {
        if (phase != Phase.AWAITING_RESPONSE && phase != Phase.INFORMATIONAL) {
            return;
        }
        Duration waited = headWaitAtLimit ? proxy.interimWaitLimit() : proxy.responseTimeout();
        if (headWaitAtLimit) {
            LOG.info("{} sent only interim answers (1xx) to {} {} for {}, the longest they stretch the wait for its"
                            + " answer ({} times the proxy timeout)", service.targetAddr(), request.method(),
                    ControlCharacters.bounded(service.domain()), Durations.format(waited),
                    HttpProxy.INTERIM_WAIT_TIMEOUTS);
        } else {
            LOG.info("{} did not answer {} {} within {}", service.targetAddr(), request.method(),
                    ControlCharacters.bounded(service.domain()), Durations.format(waited));
        }
        end();
        answerLocally(ErrorPage.timeout(waited), !requestDone, requestDone);
    }

    /**
     * Messages decoded from one read of the upstream stream (a response head and its body often come together),
     * on this channel's event loop: written to the public side with one flush.
     */
    void onUpstreamMessages(List<Object> messages) {
        boolean visitorsExchange = owner.isCurrent(this);
        batchingPublicWrites = true;
        int i = 0;
        try {
            for (; i < messages.size(); i++) {
                upstreamMessagesAfter = messages.size() - 1 - i;
                onUpstreamMessage(messages.get(i));
            }
        } catch (Throwable e) {
            for (int after = i + 1; after < messages.size(); after++) {
                ReferenceCountUtil.release(messages.get(after));
            }
            onHandOverFailed(e, visitorsExchange);
        } finally {
            upstreamMessagesAfter = 0;
            batchingPublicWrites = false;
            flushPublic();
            watchPendingWrite();
        }
    }

    /**
     * Runs a task of the stream's hand-over on this exchange's loop (the stream's end, acknowledgement or writability,
     * a switch of protocols, the public side's read after a write to the stream): one that throws ends the exchange
     * ({@link #onHandOverFailed}), where the event loop would only log it and leave the visitor waiting.
     */
    void runHandedOver(Runnable task) {
        boolean visitorsExchange = owner.isCurrent(this);
        try {
            task.run();
        } catch (Throwable e) {
            onHandOverFailed(e, visitorsExchange);
        }
    }

    /**
     * Passing the target's answer on, or a task of the hand-over, threw: a bug of the proxy, not the target's doing,
     * so one WARN with the trace; the stream is reset and the visitor's connection (or HTTP/2 stream) aborted, since
     * what reached it is not known to be whole. The same whether the stream's read came here at once (its loop the
     * visitor's) or through a task, where the event loop would log it and leave the exchange to its timers (or to none
     * after a switch of protocols), or the stream's exceptionCaught at DEBUG. An Error of the proxy's own (an
     * AssertionError, a class that failed to load) is its bug as a RuntimeException is; a VirtualMachineError (out of
     * memory, a stack overflow) is the JVM's and goes on to the loop, as neither this exchange's end nor the log can be
     * counted on after it (as HttpRoutes.tell). The visitor's connection is aborted only when {@code visitorsExchange},
     * this exchange the public side's when the work began: a late task of an exchange that ended, its connection on to
     * the next request (keep-alive), leaves that request alone; one that started the next request, whose work threw,
     * does not.
     */
    private void onHandOverFailed(Throwable e, boolean visitorsExchange) {
        if (e instanceof VirtualMachineError jvm) {
            throw jvm;
        }
        LOG.warn("relaying between {} and {} {} from {} failed: resetting the stream{}", service.targetAddr(),
                request.method(), ControlCharacters.bounded(service.domain()), clientIp,
                visitorsExchange ? " and the visitor's connection" : " (the visitor's connection is on to another"
                        + " request)", e);
        abort();
        if (phase == Phase.UPGRADED && upstream != null) {
            Relay.abortChannel(upstream); // a switch of protocols cut short: no relay may have the stream
        }
        if (visitorsExchange) {
            owner.abort();
        }
    }

    private void flushPublic() {
        if (publicFlushPending) {
            publicFlushPending = false;
            ctx.flush();
        }
    }

    /** A message decoded from the upstream stream, on this channel's event loop. */
    void onUpstreamMessage(Object msg) {
        if (isOver()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!upstreamAnswered) {
            upstreamAnswered = true;
            bodyCopy.release();
            logRefusals(ResetReason.NONE, "went to another client");
        }
        if (msg instanceof HttpResponse response) {
            onResponseHead(response);
        } else if (msg instanceof HttpContent content) {
            onResponseContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * The target's response head cannot be passed on: one line says why, the visitor gets 502 and the stream ends (a
     * target that sent one invalid head is not trusted with the next request).
     */
    private void answerInvalidResponse(String why) {
        ErrorPage page = ErrorPage.invalidResponse();
        LOG.info("{} sent an invalid response to {} {}: {}; {}", service.targetAddr(), request.method(),
                ControlCharacters.bounded(service.domain()), why, answered(page));
        end();
        answerLocally(page, !requestDone, requestDone);
    }

    /**
     * The target accepted the upgrade: answer 101, drop the HTTP codecs on both sides and relay raw bytes.
     * Bytes either side sent after the switch were held back and go first.
     */
    void onSwitchingProtocols(HttpResponse response, Hold upstreamHeld) {
        if (isOver()) {
            upstreamHeld.discard();
            if (upstream != null) { // null once a visitor who left had the stream reset
                upstream.close();
            }
            return;
        }
        phase = Phase.UPGRADED;
        bodyCopy.release();
        traffic.responded(response.status().code());
        closeTraffic();
        cancelResponseTimer();
        HttpHeaders headers = response.headers();
        String protocol = headers.get(HttpHeaderNames.UPGRADE);
        HopByHop.strip(headers);
        AccessHook.stripOurSetCookies(headers);
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        if (protocol != null) {
            headers.set(HttpHeaderNames.UPGRADE, protocol);
        }
        owner.upgrade(new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers), upstream,
                upstreamHeld);
    }

    private void onResponseHead(HttpResponse response) {
        if (response.decoderResult().isFailure()) {
            // Netty's message may hold the target's bytes (a header name it refused)
            answerInvalidResponse(ControlCharacters.bounded(response.decoderResult().cause().toString()));
            return;
        }
        int code = response.status().code();
        if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
            // Only an upgrade we forwarded can switch (the stream side switched already); else it is invalid.
            answerInvalidResponse("it switched protocols without being asked to");
            return;
        }
        if (code < 200) {
            phase = Phase.INFORMATIONAL;
            continued |= code == HttpResponseStatus.CONTINUE.code();
            if (requestDone && owner.responseTimer().isArmed()) {
                restartResponseTimer();
            }
            if (!request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                HttpHeaders headers = response.headers();
                HopByHop.strip(headers);
                // HTTP/2 sends an interim answer as one HEADERS frame: the codec takes it only whole, and its
                // end (the 1xx's empty last content) is not passed on (onResponseContent).
                writePublic(http2
                        ? new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, response.status(), Unpooled.EMPTY_BUFFER,
                                headers, EmptyHttpHeaders.INSTANCE)
                        : new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers));
            }
            return;
        }
        if (!framedByChunkedAlone(response)) {
            // As nginx ("upstream sent unknown Transfer-Encoding") and Go's ReverseProxy: a coding other than chunked
            // (gzip, chunked) stays in the body the decoder passes on, and the visitor, told nothing of it once the
            // hop-by-hop header is gone, would take the coded bytes for the body.
            answerInvalidResponse("Transfer-Encoding '" + ControlCharacters.bounded(String.join(", ",
                    response.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING)))
                    + "', where only chunked is supported");
            return;
        }
        cancelResponseTimer();
        phase = Phase.RESPONDING;
        traffic.responded(code);
        headAllowsReuse = headLetsStreamGoOn(response);
        send.restart(); // a 1xx write may be pending still: the wait for this answer starts now
        targetWaitFrom = System.nanoTime();
        // Before the head's write: once it is flushed, a write the visitor did not take starts the polling.
        armResponseBodyTimer();
        writePublic(publicResponse(response));
    }

    /**
     * Whether the response's Transfer-Encoding, if any, is chunked and nothing else: the only transfer coding the
     * proxy decodes (RFC 9112 6.1 lets a recipient answer others with 501; a proxy answers 502 for its target).
     */
    private static boolean framedByChunkedAlone(HttpResponse response) {
        List<String> values = response.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (values.isEmpty()) {
            return true;
        }
        int chunked = 0;
        for (String value : values) {
            for (String coding : value.split(",", -1)) {
                String trimmed = coding.strip();
                if (!trimmed.isEmpty() && !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(trimmed)) {
                    return false;
                }
                chunked += trimmed.isEmpty() ? 0 : 1;
            }
        }
        // chunked twice would have to be decoded twice (RFC 9112 6.1 forbids it); the decoder decodes it once.
        return chunked == 1;
    }

    /**
     * A response body that stops moving is cut, each side on its own clock as nginx does: while the proxy waits on the
     * target, the target's silence for the proxy timeout (proxy_read_timeout); while it waits on the visitor (a write
     * of this exchange to it pending, {@link #writePending}), the visitor taking nothing for the send timeout
     * (send_timeout). An HTTP/2 stream whose connection takes nothing for the moment (another stream filled it) but
     * with nothing of its own pending waits on its target: its visitor is not blamed. The time spent waiting on one
     * side never counts against the other: a visitor reading a big body slowly but steadily is not cut by the proxy
     * timeout, a fast target is not blamed for a stalled visitor. Without the cut, either side would hold the
     * visitor's connection, the stream and the client's connection to the target for as long as it keeps its socket
     * open. A piece moving only notes the time. While no write is pending the timer is set for the rest of the
     * proxy timeout (an idle event stream costs the event loop no task until then); when it finds that the target sent
     * something meanwhile, it is set again for what is left. While a write is pending it looks every
     * {@link SendWatch#CHECK} (the visitor taking part of a write is progress too, which only a look at its
     * buffer shows), so a stalled visitor is reset within about a second of its timeout; a write that the visitor
     * does not take at once starts that polling ({@link #watchPendingWrite}).
     */
    private void armResponseBodyTimer() {
        if (!owner.isCurrent(this)) {
            return;
        }
        long delay = writePending() ? send.nextLook()
                : targetWaitFrom + proxy.responseTimeout().toNanos() - System.nanoTime();
        owner.responseTimer().arm(Math.max(0, delay), TimeUnit.NANOSECONDS, this::onResponseBodyTimeout);
    }

    /**
     * After a flush to the visitor while the body streams: a write it did not take at once starts the polling of the
     * send clock, unless the timer looks soon enough already. In the common case (the write done at once, or the
     * polling on) it costs no timer change.
     */
    private void watchPendingWrite() {
        if (phase != Phase.RESPONDING || !writePending() || !owner.isCurrent(this)) {
            return;
        }
        if (!owner.responseTimer().armedWithin(send.nextLook(), TimeUnit.NANOSECONDS)) {
            armResponseBodyTimer();
        }
    }

    private void onResponseBodyTimeout() {
        if (phase != Phase.RESPONDING) {
            return;
        }
        proxy.countResponseBodyCheck();
        if (writePending()) {
            if (send.look()) {
                armResponseBodyTimer();
                return;
            }
            LOG.info("visitor {} took none of the response to {} {} for {}: resetting it", clientIp,
                    request.method(), ControlCharacters.bounded(service.domain()),
                    Durations.format(proxy.sendTimeout()));
        } else {
            if (targetWaitFrom + proxy.responseTimeout().toNanos() - System.nanoTime() > 0) {
                armResponseBodyTimer(); // the target sent something since the timer was set, or a write got done
                return;
            }
            LOG.info("{} sent nothing more of its response to {} {} for {}: cutting the response", service.targetAddr(),
                    request.method(), ControlCharacters.bounded(service.domain()),
                    Durations.format(proxy.responseTimeout()));
        }
        endWithReset();
        owner.abort();
    }

    /**
     * The proxy waits on the visitor: a write to it is not done, or its channel (an HTTP/2 stream: its window, or the
     * connection) takes no more; reading from the target waits for it ({@link #readUpstreamIfReady}).
     */
    private boolean visitorHolds() {
        return !ctx.channel().isWritable() || writePending();
    }

    /** A write of this exchange to the visitor is not done: the proxy waits on the visitor (the send clock runs). */
    private boolean writePending() {
        return send.pending();
    }

    /**
     * The response head for the visitor: the target's, its headers edited in place, also while the stream's decoder, on
     * the stream's loop, is still within the body. Netty 4.2's decoder lets go of a head as it hands it on and keeps
     * what it still needs of it (the body's framing, a switch of protocols) in fields; 4.1's read the head's
     * Transfer-Encoding again when the stream closed, which this edit changes ({@code UpstreamCodecHeadHandedOnTest}).
     * What the head says of the stream's reuse is read before ({@link #headAllowsReuse}).
     */
    private HttpResponse publicResponse(HttpResponse response) {
        HttpHeaders headers = response.headers();
        HopByHop.strip(headers);
        AccessHook.stripOurSetCookies(headers);
        int code = response.status().code();
        // A 205 is sent without content and trailers (contentDropped), and says so: Content-Length: 0 (RFC 9110
        // 15.3.6). HTTP/1's encoder would do both itself; HTTP/2's codec would pass the target's on.
        boolean bodyless = !expectsResponseBody || code == 204 || code == 205 || code == 304;
        keepAlive = keepAliveRequested && requestDone && !proxy.isDraining();
        contentDropped = code == 205;
        if (contentDropped) {
            headers.setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        if (!http2 && !headers.contains(HttpHeaderNames.CONTENT_LENGTH) && !bodyless) {
            if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                // Delimited by the close: should the process die before the end, the kernel's FIN would make the cut
                // answer look whole. A reset then, until the answer's end is marked (LingeringClose) or a close.
                keepAlive = false;
                ResetOnDeath.arm(ctx.channel());
            } else {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
        }
        HttpResponse result = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers);
        if (!http2) {
            HopByHop.tellKeepAlive(result, request.protocolVersion(), keepAlive);
        }
        return result;
    }

    private void onResponseContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (phase == Phase.INFORMATIONAL) {
            if (last) {
                phase = Phase.AWAITING_RESPONSE;
            }
            if (request.protocolVersion().equals(HttpVersion.HTTP_1_0) || http2) {
                content.release();
                if (last && !http2) {
                    // An HTTP/1.0 visitor was sent nothing of the 1xx, so no write's end reads on: the final answer is
                    // still to be read.
                    readUpstreamIfReady();
                }
            } else {
                writePublic(content);
            }
            return;
        }
        if (phase != Phase.RESPONDING) {
            content.release();
            return;
        }
        if (last && content.decoderResult().isFailure()) {
            content.release();
            onUpstreamEnded();
            return;
        }
        targetWaitFrom = System.nanoTime();
        if (contentDropped) {
            // Its trailers too: they belong to a chunked body, which a bodyless answer has not.
            content.release();
            if (!last) {
                readUpstreamIfReady();
                return;
            }
            content = LastHttpContent.EMPTY_LAST_CONTENT;
        }
        traffic.sent(content.content().readableBytes());
        writePublic(content);
        if (last) {
            if (requestDone) {
                finish();
            } else {
                // The target answered before taking the whole upload: the connection cannot be reused.
                keepAlive = false;
                finish();
            }
        }
    }

    private void writePublic(HttpObject msg) {
        readWithheld = true; // the next read waits for this write
        ChannelFuture write;
        if (batchingPublicWrites) {
            write = ctx.write(msg);
            send.watch(write);
            publicFlushPending = true;
        } else {
            write = ctx.writeAndFlush(msg);
            send.watch(write);
            watchPendingWrite();
        }
        write.addListener(f -> {
            if (f.isSuccess()) {
                send.restart();
                readUpstreamIfReady();
            } else {
                ctx.close();
            }
        });
    }

    /** The response has been forwarded entirely. */
    private void finish() {
        flushPublic();
        end(upstreamReusable());
        owner.responded(keepAlive, requestDone, send.write());
        timeRestOfResponse();
    }

    /**
     * HTTP/2: the response came whole from the target, but the stream's flow-control window may hold the rest of it
     * at the proxy, and a visitor that never opens the window would keep the stream (and so its connection, which
     * is not idle while a stream is open) for ever. As with a body still coming ({@link #onResponseBodyTimeout}),
     * and as nginx's send_timeout does for a stream without window, nothing taken for the send timeout resets the
     * stream; the connection's other streams go on. A visitor opening the window a little at a time takes part of
     * the last write, which only a look shows: the watch looks every {@link SendWatch#CHECK}. (On HTTP/1.1 the
     * connection's handler watches the rest of the answer being written, and starts the idle timeout only once it is.)
     */
    private void timeRestOfResponse() {
        if (!http2 || !send.pending()) {
            return;
        }
        send.poll((delay, look) -> owner.responseTimer().arm(delay, TimeUnit.NANOSECONDS, look), () -> {
            LOG.info("visitor {} took none of the rest of the response to {} {} for {}: resetting its stream", clientIp,
                    request.method(), ControlCharacters.bounded(service.domain()),
                    Durations.format(proxy.sendTimeout()));
            owner.abort();
        });
    }

    /** The upstream stream ended or failed, on this channel's event loop. */
    void onUpstreamEnded() {
        if (isOver()) {
            return;
        }
        if (upstream == null) {
            upstreamEndedEarly = true;
            return;
        }
        boolean responseStarted = phase == Phase.RESPONDING;
        if (!responseStarted && upstream instanceof YamuxStreamChannel lost
                && (lost.synNeverSent() || lost.sessionLost() && requestNeverLeft())) {
            sendElsewhereAfterLostClient();
            return;
        }
        ResetReason reason = upstream instanceof YamuxStreamChannel stream ? stream.peerResetReason()
                : ResetReason.NONE;
        if (!responseStarted && reason == ResetReason.NONE && retryOnNewStream()) {
            return;
        }
        String notSentAgain = "";
        if (!responseStarted && reason.refused() && upstream instanceof YamuxStreamChannel stream) {
            refusals.add(stream.session(), reason);
            notSentAgain = whyNotSentAgain();
            if (notSentAgain == null) {
                reopen();
                return;
            }
        }
        if (!responseStarted && reason != ResetReason.NONE) {
            ErrorPage page = ErrorPage.targetFailed(reason);
            logRefusals(reason.refused() ? ResetReason.NONE : reason, answered(page) + notSentAgain);
            end();
            answerLocally(page, !requestDone, requestDone);
        } else if (!responseStarted && upstream instanceof YamuxStreamChannel stream && stream.sessionLost()) {
            answerTunnelLost();
        } else if (!responseStarted && upstream instanceof YamuxStreamChannel stream && stream.openTimedOut()) {
            ErrorPage page = ErrorPage.tunnelNotAnswering();
            LOG.info("service {}: the tunnel's client did not acknowledge the request's stream within {} (the"
                            + " server's --stream-open-timeout), so the server reset it; {} {} from {} {}",
                    service.id(),
                    Durations.format(stream.openTimeout()), request.method(),
                    ControlCharacters.bounded(service.domain()), clientIp, answered(page));
            end();
            answerLocally(page, !requestDone, requestDone);
        } else if (!responseStarted) {
            LOG.info("{} ended the stream before a response to {} {}", service.targetAddr(), request.method(),
                    ControlCharacters.bounded(service.domain()));
            logRefusals(ResetReason.NONE, answered(ErrorPage.targetUnreachable()));
            end();
            answerLocally(ErrorPage.targetUnreachable(), !requestDone, requestDone);
        } else {
            end();
            // Part of the response is out already: abort, so that the cut body cannot pass for a whole one.
            if (upstream instanceof YamuxStreamChannel stream && stream.sessionLost()) {
                LOG.info("{} in the middle of {}'s response to {} {}", proxy.isStopping() ? "the server stopped"
                                : "the tunnel's client connection was lost", service.targetAddr(), request.method(),
                        ControlCharacters.bounded(service.domain()));
            } else {
                LOG.info("{} ended the stream in the middle of the response to {} {}", service.targetAddr(),
                        request.method(), ControlCharacters.bounded(service.domain()));
            }
            owner.abort();
        }
    }

    /**
     * The stream's client connection was lost after the stream reached the client and before the response head: the
     * request may have reached the app, so it goes nowhere else, and the visitor hears the tunnel was lost, not that
     * the app failed; or, when the server closed the session to stop, that the server stopped. One line, with the
     * clients that refused the stream before, if any.
     */
    private void answerTunnelLost() {
        boolean serverStopped = proxy.isStopping();
        ErrorPage page = serverStopped ? ErrorPage.serverStopping() : ErrorPage.tunnelLost();
        String clients = refusals.tell(ResetReason.NONE);
        LOG.info("service {}: {}{} before {} answered; {} {} from {} {}", service.id(),
                clients == null ? "" : clients + "; ",
                serverStopped ? "the server stopped" : "the tunnel's client connection was lost", service.targetAddr(),
                request.method(), ControlCharacters.bounded(service.domain()), clientIp, answered(page));
        end();
        // A stopping server takes no next request on the connection.
        answerLocally(page, !requestDone || serverStopped, requestDone);
    }

    private void end() {
        end(false);
    }

    /** Ends the exchange; its stream goes back to the pool when {@code reuse}, else is closed. */
    private void end(boolean reuse) {
        logRefusals(ResetReason.NONE, "ended before another client took it");
        phase = Phase.ENDED;
        bodyCopy.release();
        lastByteHold.release();
        closeTraffic();
        cancelResponseTimer();
        cancelBodyTimer();
        if (opening != null) {
            // A visitor who left while its stream waits for a client under way: no stream is opened for it later.
            opening.cancel(false);
            opening = null;
        }
        if (upstream != null) {
            if (reuse) {
                proxy.upstreams().release(upstreamLease);
                // The stream may carry another exchange at once: every later read here finds none (isOver first).
                upstream = null;
                upstreamLease = null;
            } else {
                upstream.close();
            }
        }
    }

    /**
     * Whether the stream may carry another request, once the response came whole: the request went whole, the response
     * came in a framing of its own (not ended by the connection's close), nothing followed it in the same read, the
     * target did not ask to close (HTTP/1.0 without keep-alive included), it did not answer a body sent with {@code
     * Expect: 100-continue} without saying 100 first, a request body was one it surely read ({@link #bodyReadForSure}),
     * and it was not a 204, a 304 or an answer to HEAD announcing a body. Bytes past the response that the codec holds
     * are checked when the stream is parked ({@link UpstreamPool}).
     */
    private boolean upstreamReusable() {
        if (!requestDone || !headAllowsReuse || upgradeRequested || upstreamMessagesAfter > 0) {
            return false;
        }
        // A final answer to Expect: 100-continue without a 100 may come from a target that skips the body (it may
        // close or read it to its end instead, but not all do): what it did not read would be taken for the next
        // request on the stream, another visitor's, which would get that request's response.
        return !(bodySent && !continued && request.headers().contains(HttpHeaderNames.EXPECT));
    }

    /** What the final response head says of its stream's reuse ({@link #upstreamReusable}), read as it comes. */
    private boolean headLetsStreamGoOn(HttpResponse response) {
        if (hasBody && !bodyReadForSure(response)) {
            return false;
        }
        int code = response.status().code();
        if ((!expectsResponseBody || code == 204 || code == 304) && announcesBody(response)) {
            // The answer to HEAD says what a GET would get; a 204 must announce nothing; a 304 may say the 200's
            // length, but most servers (nginx, Go's net/http, Express) send none. A target that sends
            // that body anyway (a known bug) may send it later than the head. Bytes that come with the head are
            // caught (UpstreamPool.holdsBytes), and so are bytes that come while the stream is idle (UpstreamCodec);
            // bytes that come once the next request, another visitor's, went up would be read as its response.
            return false;
        }
        boolean selfDelimited = !expectsResponseBody || code == 204 || code == 304
                || HttpUtil.isTransferEncodingChunked(response) || HttpUtil.isContentLengthSet(response);
        return selfDelimited && HttpUtil.isKeepAlive(response);
    }

    /**
     * Whether the target, answering {@code response} to a request with a body, can be taken to have read that body:
     * only a 2xx to POST, PUT or PATCH. The proxy cannot see what the target read, and a target that answers without
     * reading the body (many static servers for a GET, server-level redirects, errors such as 404 or 405 sent before
     * the body is looked at) leaves it in its socket, where it would be read as the start of the next request on the
     * stream: with a body that is itself a request's start ({@code GET /admin ...} with an open header), the next
     * visitor, anyone, gets the answer to the request the first one hid (CL.0 smuggling). RFC 9110 gives a body of
     * GET, HEAD, DELETE (and TRACE) no meaning and warns that servers may not read it; any method other than
     * POST, PUT and PATCH counts the same here, and so does an answer other than 2xx to those three.
     */
    private boolean bodyReadForSure(HttpResponse response) {
        HttpMethod method = request.method();
        boolean bodyMethod = method.equals(HttpMethod.POST) || method.equals(HttpMethod.PUT)
                || method.equals(HttpMethod.PATCH);
        return bodyMethod && response.status().codeClass() == HttpStatusClass.SUCCESS;
    }

    /** A Content-Length above 0, or chunked: the head says a body follows (or would, but for HEAD). */
    private static boolean announcesBody(HttpResponse response) {
        if (HttpUtil.isTransferEncodingChunked(response)) {
            return true;
        }
        try {
            return HttpUtil.getContentLength(response, 0L) > 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /** Ends the exchange and resets its stream: the target sees the request end abnormally, never as complete. */
    private void endWithReset() {
        Channel stream = upstream;
        upstream = null;
        upstreamLease = null;
        end();
        if (stream != null) {
            Relay.abortChannel(stream);
        }
    }

    /** The proxy answers itself (502, 504): counted with the service's responses. */
    private void answerLocally(ErrorPage page, boolean close, boolean requestFinished) {
        traffic.responded(page.status().code());
        owner.answerLocally(request, accept, page, close || !keepAliveRequested, requestFinished);
    }

    private void closeTraffic() {
        if (!trafficClosed) {
            trafficClosed = true;
            traffic.requestTook(System.nanoTime() - startNanos);
            traffic.closed();
        }
    }

    /**
     * The public side went away in the middle of the exchange: the stream is reset, as nginx closes its upstream
     * connection when the client aborts, so the client resets the target's connection. A close (a FIN) would leave
     * a target that does not look at its input (an event stream between two events, a long-poll) holding the stream
     * and its connection until it closes on its own. Never reused after an exchange cut short.
     */
    void abort() {
        if (!isOver()) {
            endWithReset();
        }
    }

    private void cancelResponseTimer() {
        if (owner.isCurrent(this)) {
            owner.responseTimer().disarm();
        }
    }

    /**
     * The handler on the upstream stream: hands everything over to the public channel's event loop. When that is the
     * stream's loop too (one client's streams and its visitors share it), a read's messages go to the exchange at once,
     * without a task or a list per read; through a task still while one of ours waits to run (so that nothing overtakes
     * it), while the exchange itself is reading the stream, or while such a hand-over is under way.
     */
    static final class Upstream extends ChannelInboundHandlerAdapter {
        private final Exchange exchange;
        private final EventExecutor publicLoop;
        /**
         * Messages of the current read, handed over together at its end (one task, one flush on the public side). Null
         * while a hand-over on one loop delivers them, after which the list is used again.
         */
        private List<Object> batch = new ArrayList<>(4);
        /** On one loop: a hand-over delivers a batch to the exchange now; one from within it queues a task. */
        private boolean handingOver;
        /** On one loop: tasks of this handler queued on it and not run yet. */
        private int tasksQueued;

        Upstream(Exchange exchange, EventExecutor publicLoop) {
            this.exchange = exchange;
            this.publicLoop = publicLoop;
        }

        /** On the public loop: this is the exchange's current stream (not one it gave up for a retry). */
        private boolean current() {
            return exchange.upstreamHandler == this;
        }

        /** Hands the messages read so far over to the public loop, before any later event. */
        private void handOver() {
            if (batch == null || batch.isEmpty()) {
                return;
            }
            boolean oneLoop = publicLoop.inEventLoop();
            // No test fails without these three guards, on TCP or on yamux streams, and no order was found to need
            // them there: a yamux stream's read() from within a delivery only asks, its delivery loop (not reentrant)
            // handing the next read over once this one returns; a session's read leaves nothing in a stream that
            // asked (it delivered all it read), so a read() from that hand-over delivers nothing at once; and the
            // stream's end is queued only after its last batch. They keep the order should a stream's read() deliver
            // into the middle of its caller's work, which the exchange is not written to take.
            if (oneLoop && tasksQueued == 0 && !handingOver && !exchange.readingUpstream) {
                handOverNow();
                return;
            }
            List<Object> messages = batch;
            batch = new ArrayList<>(4);
            queue(oneLoop, () -> deliver(messages));
        }

        /** On one loop, nothing of ours queued: the batch goes to the exchange now. */
        private void handOverNow() {
            List<Object> messages = batch;
            batch = null;
            handingOver = true;
            try {
                deliver(messages);
            } finally {
                handingOver = false;
                if (batch == null) {
                    messages.clear();
                    batch = messages;
                }
            }
        }

        /** A throw ends the exchange ({@link Exchange#onUpstreamMessages}, {@link Exchange#runHandedOver}). */
        private void deliver(List<Object> messages) {
            if (current()) {
                exchange.onUpstreamMessages(messages);
            } else {
                exchange.runHandedOver(() -> messages.forEach(ReferenceCountUtil::release));
            }
        }

        /**
         * Runs {@code task} on the public loop; {@code oneLoop}: that is this thread's, where the count is kept. The
         * task catches its own throw (through {@link #deliver} or {@link Exchange#runHandedOver}): no wrapper of its
         * own on two loops.
         */
        private void queue(boolean oneLoop, Runnable task) {
            if (!oneLoop) {
                publicLoop.execute(task);
                return;
            }
            tasksQueued++;
            publicLoop.execute(() -> {
                tasksQueued--;
                task.run();
            });
        }

        private void onPublicLoop(Runnable action) {
            handOver();
            queue(publicLoop.inEventLoop(), () -> {
                if (current()) {
                    exchange.runHandedOver(action);
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (exchange.upgradeRequested && msg instanceof HttpResponse response
                    && response.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                    && response.decoderResult().isSuccess()) {
                // Everything after the 101 is the new protocol's: hold it as raw bytes for the relay.
                handOver();
                Hold held = new Hold();
                // ctx is the stream's UpstreamSlot's: the slot goes, and this handler with it.
                ctx.pipeline().replace(ctx.handler(), Hold.HANDLER_NAME, held);
                ctx.pipeline().remove(UpstreamCodec.class);
                publicLoop.execute(() -> exchange.runHandedOver(() -> {
                    if (current()) {
                        exchange.onSwitchingProtocols(response, held);
                    } else {
                        held.discard();
                        ctx.close();
                    }
                }));
                return;
            }
            if (msg instanceof LastHttpContent && ctx.channel() instanceof YamuxStreamChannel stream
                    && stream.isReset()) {
                // The codec ends a body delimited by the connection's close at channelInactive, reset or not:
                // after a reset (the target's, or the session lost) the body was cut, not complete.
                ReferenceCountUtil.release(msg);
                onPublicLoop(exchange::onUpstreamEnded);
                return;
            }
            if (batch == null) {
                batch = new ArrayList<>(4);
            }
            batch.add(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            handOver();
            ctx.fireChannelReadComplete();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            handOver();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            onPublicLoop(exchange.readPublic);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                onPublicLoop(exchange::onUpstreamEnded);
            } else if (evt == StreamAcknowledgedEvent.INSTANCE && exchange.refusals.any()) {
                // Only a request other clients refused has a line to log at the ACK: no task per stream otherwise.
                onPublicLoop(exchange::onUpstreamAcknowledged);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            onPublicLoop(exchange::onUpstreamEnded);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            handOver();
            LOG.debug("upstream stream failed: {}", cause.toString());
            ctx.close();
        }
    }
}
