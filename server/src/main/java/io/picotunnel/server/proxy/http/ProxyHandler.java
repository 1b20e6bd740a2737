package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.access.AccessErrorCodes;
import io.picotunnel.server.access.HttpVerdict;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.net.RetryAfter;
import io.picotunnel.server.net.SendWatch;
import io.picotunnel.server.store.Service;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Proxies the requests of one public HTTP/1.1 connection (or one HTTP/2 stream) one at a time, each over
 * an upstream stream with an HTTP/1.1 client codec, taken from and given back to the {@link UpstreamPool}
 * (keep-alive). What is answered here instead is decided by {@link LocalAnswers}.
 *
 * <p>All state lives on this channel's event loop; the upstream stream's events are handed over to it.
 * The stream is read only once the previous response chunk has been written to the public side and it is
 * writable. The public side is read while what it sent can go on: it stops once two reads in a row left
 * messages waiting (a body chunk the stream cannot take yet, requests pipelined behind the current one) or
 * {@value #PENDING_LIMIT} wait, and starts again when they have gone. Stopping only then, not after every
 * request, spares two changes of the socket's epoll interest per request; a slow side still slows the other
 * instead of filling memory. The decoder stops right behind an upgrade request until it has been answered
 * ({@link DecoderFeed}): the bytes after a switch are not HTTP.
 *
 * <p>A visitor may end its side of an HTTP/1.1 connection after its request (shutdown(SHUT_WR): {@code nc -N},
 * scripts): the listener allows half-closure, and what it sent whole is answered, then the connection closes
 * ({@link #closeIfInputDone}). A request whose body the EOF cut ends the connection, as a close did before, once the
 * requests pipelined before it are answered: read ahead with the EOF, it is dropped; longer than what is read ahead,
 * the reading stops before the EOF, the request goes up once it is the current one, and the EOF then aborts it.
 */
final class ProxyHandler extends ChannelDuplexHandler
        implements Exchange.PublicSide, Http2UploadBudget.OverBudgetAnswer {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);

    private enum State {
        /** Waiting for the next request head. */
        AWAIT_REQUEST,
        /** Answered locally; dropping the request's (empty) body until its end. */
        DISCARD_BODY,
        /** The access checks take a moment (a password check): the request waits, unread beyond its head. */
        CHECKING,
        /** An {@link Exchange} forwards the request and its response; it has its own phases. */
        EXCHANGE,
        /** Switched protocols: the relay copies raw bytes. */
        UPGRADED,
        CLOSED
    }

    private final HttpProxy proxy;
    private final boolean https;
    private final boolean http2;
    private final LocalAnswers answers;
    /**
     * Messages waiting beyond which reading stops at once: a request head and its end are two, body chunks at
     * most the codec's chunk size each.
     */
    private static final int PENDING_LIMIT = 8;
    /** How long and how much the rest of what a visitor sends is read after the last answer before the close. */
    private static final LingeringClose.Bounds LINGER = LingeringClose.Bounds.DEFAULT;

    private final ArrayDeque<HttpObject> pending = new ArrayDeque<>();
    /** What hands the HTTP/1.1 decoder its bytes; null on HTTP/2, whose codec is not in this pipeline. */
    private final DecoderFeed feed;
    private ChannelHandlerContext ctx;
    private State state = State.AWAIT_REQUEST;
    private Exchange exchange;
    /** The wait for the next request (the header timeout for the first, then the idle timeout). */
    private LazyTimer idleTimer;
    /**
     * The wait for the current exchange's response head; one timer for the exchanges of the connection, and before
     * each for its request's access checks ({@link HttpProxy#ACCESS_CHECK_TIMEOUT}), when they take a moment.
     */
    private LazyTimer responseTimer;
    /** Runs from the first bytes of a request head after the first request: the head must be whole in time. */
    private ScheduledFuture<?> headerTimer;
    /** No request head came whole yet: the wait for it is the header timeout, not the idle timeout. */
    private boolean firstRequest = true;
    /**
     * The last write of the answer just given, while the visitor has not taken all of it yet: the wait for the next
     * request (the idle timeout) starts once it is written whole, not when the answer came whole from the target.
     */
    private ChannelFuture answerInFlight;
    /** A whole request head came in the current read: what is left of it is no partial head. */
    private boolean headInThisRead;
    /** The request the decoder is at asks to switch protocols. */
    private boolean upgradeInDecode;
    /** An upgrade request was decoded whole: the decoder gets no more bytes until it has been answered. */
    private boolean decodedUpgradeRequest;
    /** The decoder is within a request's body: its bytes are handed on without looking for the end of a head. */
    private boolean bodyInDecode;
    /** What is left of the body the decoder is in when its length was announced (Content-Length); else -1. */
    private long bodyBytesLeft = -1;
    /** The request whose access checks run, while they do ({@link State#CHECKING}); null otherwise. */
    private Routed underCheck;
    /** Reads in a row that ended with messages waiting in {@link #pending}. */
    private int readsLeavingBacklog;
    /** HTTP/1.1: the visitor ended its side (EOF, half-closure allowed); nothing more comes after what was read. */
    private boolean inputEnded;
    /** HTTP/1.1: the last answer written on the connection, after which a visitor that ended its side is closed. */
    private ChannelFuture lastAnswer;
    /** The last visitor address given to {@link #visitorText} and its text. */
    private InetAddress lastVisitor;
    private String lastVisitorText;

    ProxyHandler(HttpProxy proxy, boolean https, boolean http2) {
        this.proxy = proxy;
        this.https = https;
        this.http2 = http2;
        this.answers = new LocalAnswers(proxy, https, http2);
        this.feed = http2 ? null : new DecoderFeed(this::wantsMessages, () -> bodyInDecode, () -> bodyBytesLeft);
    }

    /** The handler to put in front of the HTTP/1.1 codec, which this handler follows. */
    DecoderFeed decoderFeed() {
        return feed;
    }

    /**
     * Whether the decoder may be given more bytes: fewer than {@value #PENDING_LIMIT} messages wait, and no
     * upgrade request was decoded whole and not yet answered (what follows a switch is not HTTP).
     */
    private boolean wantsMessages() {
        if (state == State.CLOSED || state == State.UPGRADED || pending.size() >= PENDING_LIMIT) {
            return false;
        }
        if (decodedUpgradeRequest) {
            if (state != State.AWAIT_REQUEST || !pending.isEmpty()) {
                return false;
            }
            decodedUpgradeRequest = false; // answered without a switch: what follows is HTTP
        }
        return true;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.idleTimer = new LazyTimer(ctx.executor());
        this.responseTimer = new LazyTimer(ctx.executor());
        ctx.channel().config().setAutoRead(false);
        if (ctx.channel().isActive()) {
            awaitRequest();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        awaitRequest();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.CLOSED || !(msg instanceof HttpObject object)) {
            drop(msg);
            return;
        }
        if (msg instanceof FullHttpRequest full) {
            // HTTP/2 (and the decoder's invalid-request marker) hand over one message; split it as HTTP/1.1 does.
            HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
            head.setDecoderResult(full.decoderResult());
            pending.add(head);
            pending.add(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
        } else {
            pending.add(object);
        }
        headInThisRead |= msg instanceof HttpRequest;
        if (!http2) {
            if (msg instanceof HttpRequest request) {
                upgradeInDecode = RequestSanitizer.upgradeToForward(request) != null;
                bodyInDecode = true;
                bodyBytesLeft = request.decoderResult().isSuccess() && !HttpUtil.isTransferEncodingChunked(request)
                        ? HttpUtil.getContentLength(request, -1L) : -1L;
            } else if (msg instanceof HttpContent content && bodyBytesLeft > 0) {
                bodyBytesLeft -= content.content().readableBytes();
            }
            if (msg instanceof LastHttpContent) {
                bodyInDecode = false;
            }
            if (msg instanceof LastHttpContent && upgradeInDecode) {
                upgradeInDecode = false;
                decodedUpgradeRequest = true;
            }
        }
        drain();
        if (pending.size() >= PENDING_LIMIT) {
            // One epoll read batch may hold many socket reads: stop within it, not only at its end.
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** Whether the connection waits for its next request (the last response came whole), for tests. */
    boolean awaitsRequest() {
        return state == State.AWAIT_REQUEST;
    }

    /** Messages waiting in {@link #pending}, for tests. */
    int pendingMessages() {
        return pending.size();
    }

    /**
     * A read that brought no whole request head while one is awaited: part of a head came, which must be whole
     * within the header timeout (slow-loris). The first head is bounded from the start, in {@link #awaitRequest}.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        boolean partialHead = !headInThisRead;
        headInThisRead = false;
        if (pending.isEmpty()) {
            readsLeavingBacklog = 0;
        } else if (++readsLeavingBacklog >= 2) {
            ctx.channel().config().setAutoRead(false);
        }
        if (!http2 && !firstRequest && partialHead && state == State.AWAIT_REQUEST && pending.isEmpty()
                && answerInFlight == null) {
            startHeaderTimer();
        }
        ctx.fireChannelReadComplete();
    }

    private void startHeaderTimer() {
        if (headerTimer == null) {
            headerTimer = ctx.executor().schedule(this::closeIfStillAwaiting, proxy.headerTimeout().toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    private void closeIfStillAwaiting() {
        if (state == State.AWAIT_REQUEST) {
            LOG.debug("{} did not send a whole request head in time: closing", ctx.channel().remoteAddress());
            ctx.close();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        readUpstreamIfReady();
        if (ctx.channel().isWritable() && state == State.AWAIT_REQUEST) {
            drain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        abandonRequests();
        ctx.fireChannelInactive();
    }

    /**
     * The visitor ended its side (HTTP/1.1; the decoder passed on what the EOF completed first). What it sent whole
     * before any answer came is still answered, as HAProxy and Apache do and nginx does not (499): a visitor that
     * only half-closed after its request ({@code nc -N}) reads the answer, and one that is gone altogether is found
     * out at the first write of it (a reset); the wait for the answer is bounded by the response timeouts as for any
     * visitor. An EOF while a response body is still coming from the target is a visitor that left in the middle of
     * it, as nginx takes it: the exchange is aborted, so that the stream is not held for a body no one reads. Not so
     * when the visitor sent something after that request ({@link #sentAfterTheCurrentRequest}): requests pipelined
     * and then a half-close ({@code printf ... | nc -N}) are all answered.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && !http2 && !inputEnded) {
            inputEnded = true;
            if (state == State.EXCHANGE && exchange.responseBodyComing() && !sentAfterTheCurrentRequest()) {
                LOG.debug("{} ended its side while its response was coming: aborting", ctx.channel().remoteAddress());
                abandonRequests();
                abortPublic();
            } else {
                closeIfInputDone();
            }
        } else if (evt instanceof SslCloseCompletionEvent && !http2 && state != State.CLOSED) {
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            if (tls != null && tls.engine().isOutboundDone()) {
                // The visitor's close_notify closed the TLS session both ways (BoringSSL answers it with its own, as
                // TLS 1.2 requires): no answer can be written any more, so nothing is kept waiting for one.
                LOG.debug("{} sent close_notify: closing", ctx.channel().remoteAddress());
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Once the visitor ended its side: when no request is left to answer, closes after the last answer (no
     * keep-alive after a half-close); when the EOF cut the body of the request being handled, closes at once (the
     * exchange, if any, is aborted), as when the visitor closes; when it cut a request pipelined behind that one, drops
     * it and closes after the answers before it. Bytes the decoder was not given yet may hold requests still: they are
     * looked at first.
     */
    private void closeIfInputDone() {
        if (!inputEnded || state == State.CLOSED || state == State.UPGRADED || feed.holdsBytes()) {
            return;
        }
        if (bodyInDecode && dropCutPipelinedRequest()) {
            LOG.debug("{} ended its side within a pipelined request's body: answering those before it, then closing",
                    ctx.channel().remoteAddress());
            bodyInDecode = false;
        }
        if (bodyInDecode) {
            LOG.debug("{} ended its side within a request body: closing", ctx.channel().remoteAddress());
            ctx.close();
        } else if (state == State.AWAIT_REQUEST && pending.isEmpty()) {
            closeAfter(lastAnswer != null ? lastAnswer : ctx.newSucceededFuture());
        }
    }

    /**
     * HTTP/1.1: the visitor sent something after the request being answered (a pipelined request, whole or cut, or
     * the start of one; empty lines are nothing). Its EOF then says it is done sending, not that it left: a visitor
     * gone altogether is found out at the next write of the answer (a reset).
     */
    private boolean sentAfterTheCurrentRequest() {
        return pending.stream().anyMatch(HttpRequest.class::isInstance) || feed.decoderHasPartialHead();
    }

    /**
     * The EOF cut the body of a request pipelined behind the one being handled, which is then still in
     * {@link #pending} with its head: it is dropped, unanswered and never sent up, so that the requests before it are
     * answered and then the connection closes. False when the cut body is the current request's (also one pipelined
     * with a body longer than {@link #pending} holds: the reading stopped, and the EOF is read only once it went up).
     */
    private boolean dropCutPipelinedRequest() {
        if (pending.stream().noneMatch(HttpRequest.class::isInstance)) {
            return false;
        }
        HttpObject dropped;
        do {
            dropped = pending.pollLast();
            drop(dropped);
        } while (!(dropped instanceof HttpRequest));
        return true;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Error) {
            // Not the visitor's doing (out of memory, a bug): the operator needs to see it.
            LOG.warn("public connection {} failed", ctx.channel().remoteAddress(), cause);
        } else {
            LOG.debug("public connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }

    /**
     * Gives up the requests of the connection, which is closed or being closed: the one whose checks run (counted as
     * left unanswered), the exchange (aborted) and those pending (dropped). The channel itself is not closed here.
     */
    private void abandonRequests() {
        state = State.CLOSED;
        if (underCheck != null) {
            // Its verdict, when it comes, is ignored: counted here or the request would count or not by who came first
            proxy.traffic(underCheck.service()).leftUnanswered(System.nanoTime() - underCheck.since());
            underCheck = null;
        }
        answerInFlight = null;
        cancelTimers();
        pending.forEach(ProxyHandler::drop);
        pending.clear();
        if (exchange != null) {
            exchange.abort();
            exchange = null;
        }
    }

    private void drain() {
        boolean emptied = drainPending();
        if (exchange != null) {
            exchange.flushUpstream();
        }
        if (emptied) {
            readPublicIfReady();
        }
        closeIfInputDone();
    }

    /** Hands pending messages on as far as the state allows; true when none is left. */
    private boolean drainPending() {
        while (!pending.isEmpty()) {
            switch (state) {
                case AWAIT_REQUEST -> {
                    if (!answersFlow()) {
                        return false;
                    }
                    HttpObject msg = pending.poll();
                    if (msg instanceof HttpRequest request) {
                        answerInFlight = null;
                        idleTimer.disarm();
                        cancelHeaderTimer();
                        firstRequest = false;
                        startRequest(request);
                    } else {
                        drop(msg);
                    }
                }
                case DISCARD_BODY -> {
                    HttpObject msg = pending.poll();
                    drop(msg);
                    if (msg instanceof LastHttpContent) {
                        awaitRequest();
                    }
                }
                case EXCHANGE -> {
                    if (!exchange.takesRequestContent()) {
                        return false;
                    }
                    exchange.forwardRequestContent((HttpContent) pending.poll());
                }
                default -> {
                    return false;
                }
            }
        }
        return true;
    }

    private void awaitRequest() {
        awaitRequest(null);
    }

    /**
     * Ready for the next request once {@code lastWrite} (the end of the answer, null when written already) is written:
     * a visitor still taking in the tail of a long answer is not idle, and was cut off by the idle timeout when it
     * counted from the moment the answer came whole from the target.
     */
    private void awaitRequest(ChannelFuture lastWrite) {
        state = State.AWAIT_REQUEST;
        exchange = null;
        if (!http2) {
            if (lastWrite != null && !lastWrite.isDone()) {
                answerInFlight = lastWrite;
                watchSend(lastWrite);
                lastWrite.addListener(this::answerWritten);
            } else {
                answerInFlight = null;
                startWaitForRequest();
            }
        }
        readPublicIfReady();
    }

    /**
     * The server drains to stop: a keep-alive connection waiting for its next request is closed now rather than at
     * that request (one still taking in its last answer closes after it). A connection that has not sent its first
     * request yet is left to it: its request, already on its way, would be lost with no answer, and nothing tells
     * the visitor to send it again, where a reused connection's close is the known keep-alive race clients retry.
     */
    void closeIfIdle() {
        if (http2 || firstRequest || state != State.AWAIT_REQUEST || !pending.isEmpty() || feed.holdsBytes()
                || feed.decoderHasPartialHead()) {
            return;
        }
        LOG.debug("{} is idle between requests as the server drains: closing", ctx.channel().remoteAddress());
        closeAfter(answerInFlight != null ? answerInFlight : ctx.newSucceededFuture());
    }

    private void startWaitForRequest() {
        idleTimer.arm((firstRequest ? proxy.headerTimeout() : proxy.idleTimeout()).toNanos(),
                TimeUnit.NANOSECONDS, this::closeIfStillAwaiting);
        if (!firstRequest && feed.decoderHasPartialHead()) {
            // Begun during the exchange (pipelined) or while the answer was written: bounded from now.
            startHeaderTimer();
        }
    }

    private void answerWritten(Future<?> written) {
        if (written != answerInFlight) {
            return; // the next request started meanwhile (pipelined), or the connection is done
        }
        answerInFlight = null;
        if (state == State.AWAIT_REQUEST && written.isSuccess()) {
            startWaitForRequest();
        }
    }

    /**
     * While the answer is written: a visitor that takes none of it for the send timeout is given up
     * on (nginx's send_timeout), with a reset, so that the cut answer cannot pass for a whole one. On HTTP/2 the
     * idle timer is free for it: a stream carries one request.
     */
    private void watchSend(ChannelFuture lastWrite) {
        SendWatch send = new SendWatch(ctx.channel(), proxy.sendTimeout());
        send.watch(lastWrite);
        // On the idle timer: the next request disarms it, as the end of the answer arms it for the wait for that.
        send.poll((delay, look) -> idleTimer.arm(delay, TimeUnit.NANOSECONDS, look), () -> {
            LOG.debug("{} took none of the rest of an answer for {}: resetting the connection",
                    ctx.channel().remoteAddress(), Durations.format(proxy.sendTimeout()));
            abort();
        });
    }

    /** The connection is done or switched protocols: no timer of it is left behind. */
    private void cancelTimers() {
        idleTimer.cancel();
        responseTimer.cancel();
        cancelHeaderTimer();
    }

    private void cancelHeaderTimer() {
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
    }

    private void readPublicIfReady() {
        if (!readyForMore()) {
            if (waitsForUpstream()) {
                // The body goes on only as fast as the stream takes it; the write's listener or the stream's
                // writability reads on.
                ctx.channel().config().setAutoRead(false);
            } else if (awaitsOnlyTheResponse()) {
                // Read on as after a GET: a visitor that leaves while the answer comes (its FIN, its close_notify) is
                // seen and the exchange aborted. An upload that waited for the stream had stopped the reading, and
                // nothing else starts it before the next request. Pipelined requests stay bounded by the pending limit.
                ctx.channel().config().setAutoRead(true);
            }
            return;
        }
        if (feed != null && feed.holdsBytes()) {
            feed.resume(); // its messages come back through channelRead, which may call this again
            if (feed.holdsBytes() || !readyForMore()) {
                return;
            }
            closeIfInputDone(); // the feed's last bytes may have been part of a head only
            if (!readyForMore()) {
                return;
            }
        }
        readsLeavingBacklog = 0;
        ChannelConfig config = ctx.channel().config();
        if (exchange != null && exchange.upgradeRequested()) {
            config.setAutoRead(false);
            ctx.read();
        } else if (!config.isAutoRead()) {
            // An HTTP/2 stream's credit goes back as its pieces are in the tunnel, not as it is read (Http2UploadBudget)
            config.setAutoRead(true);
        }
    }

    /**
     * A visitor that pipelines requests and does not read the answers gets no next request started until it does,
     * or the answers would pile up in the connection's outbound buffer. HTTP/2 has one request per stream, bounded by
     * flow control, and a stream opened with a window of 0 still gets its response head.
     */
    private boolean answersFlow() {
        return http2 || ctx.channel().isWritable();
    }

    /** HTTP/1.1: the request went up whole and nothing the visitor sent after it waits to be decoded or handed on. */
    private boolean awaitsOnlyTheResponse() {
        return !http2 && state == State.EXCHANGE && exchange.requestSentWhole() && !exchange.upgradeRequested()
                && pending.isEmpty() && !feed.holdsBytes() && ctx.channel().isActive();
    }

    private boolean waitsForUpstream() {
        return state == State.EXCHANGE && exchange.takesRequestContent() && !exchange.upstreamReady();
    }

    private boolean readyForMore() {
        if (!pending.isEmpty() || !ctx.channel().isActive()) {
            return false;
        }
        return switch (state) {
            case AWAIT_REQUEST -> answersFlow();
            case DISCARD_BODY -> true;
            case EXCHANGE -> exchange.takesRequestContent() && exchange.upstreamReady();
            default -> false;
        };
    }

    private void readUpstreamIfReady() {
        if (exchange != null) {
            exchange.readUpstreamIfReady();
        }
    }

    private void startRequest(HttpRequest request) {
        // What the visitor used, behind a trusted proxy that ends TLS too: for https_redirect, the sign-in's return
        // address and cookie names, and the target's X-Forwarded-Proto
        long since = System.nanoTime();
        boolean visitorHttps = AccessHook.https(proxy.access(), ctx.channel(), request, https);
        switch (answers.decide(request, visitorHttps, ctx.alloc())) {
            case LocalAnswers.Answer answer when answer.service() != null ->
                    answerForService(new Routed(request, answer.service(), since), answer.response(), answer.close());
            case LocalAnswers.Answer answer -> respondLocally(request, answer.response(), answer.close(), false);
            case LocalAnswers.Forward forward -> admit(request, forward.service(), visitorHttps);
        }
    }

    /** The access checks of the service (addresses, rate limit, sign-in), then the exchange if they pass. */
    private void admit(HttpRequest request, Service service, boolean visitorHttps) {
        AccessHook.stripIdentity(request.headers());
        InetAddress visitor = AccessHook.visitor(proxy.access(), ctx.channel(), request);
        Routed routed = new Routed(request, service, System.nanoTime());
        HttpVerdict verdict = visitor == null ? AccessHook.withoutAddress(service)
                : proxy.access().check(AccessHook.describe(service, visitor, visitorHttps, request));
        onVerdict(routed, visitor, visitorHttps, verdict);
    }

    private void onVerdict(Routed routed, InetAddress visitor, boolean visitorHttps, HttpVerdict verdict) {
        HttpRequest request = routed.head();
        switch (verdict) {
            case HttpVerdict.Pass pass -> {
                AccessHook.pass(request, routed.service(), pass, proxy.routes());
                exchange = new Exchange(this, proxy, visitorHttps, http2,
                        visitor == null ? clientIp() : visitorText(visitor), request, routed.service());
                if (exchange.upgradeRequested()) {
                    ctx.channel().config().setAutoRead(false);
                }
                state = State.EXCHANGE;
                exchange.open();
            }
            case HttpVerdict.Answer answer -> answerForService(routed, AccessHook.answer(request, answer, ctx.alloc()), false);
            case HttpVerdict.Confirm confirm ->
                    answerForService(routed, AccessHook.confirm(request, confirm, ctx.alloc()), false);
            case HttpVerdict.Redirect redirect ->
                    answerForService(routed, AccessHook.redirect(request, redirect, ctx.alloc()), false);
            case HttpVerdict.Pending later -> {
                state = State.CHECKING;
                underCheck = routed;
                responseTimer.arm(proxy.accessCheckTimeout().toNanos(), TimeUnit.NANOSECONDS,
                        () -> checkTimedOut(routed, visitor, visitorHttps));
                later.result().whenComplete((result, failure) -> ctx.executor().execute(() -> {
                    if (!stillChecking(routed)) {
                        return;
                    }
                    endCheck();
                    onVerdict(routed, visitor, visitorHttps, failure == null ? result
                            : HttpVerdict.Answer.of(500, AccessErrorCodes.INTERNAL_ERROR,
                                    "The access check failed; try again."));
                    drain();
                }));
            }
        }
    }

    /**
     * Whether {@code routed}'s access checks still run: not once it was answered without their verdict (timed out,
     * over the upload budget) or the connection ended, when the next request's may run.
     */
    private boolean stillChecking(Routed routed) {
        return state == State.CHECKING && underCheck == routed;
    }

    /**
     * The request under check is answered now, with its checks' verdict or without (their verdict then ignored when it
     * comes): it is no longer under check, and its checks' timer is disarmed. Returns it.
     */
    private Routed endCheck() {
        Routed checked = underCheck;
        underCheck = null;
        responseTimer.disarm();
        return checked;
    }

    /** {@code routed}'s access checks did not end within the bound: 503, their verdict ignored when it comes. */
    private void checkTimedOut(Routed routed, InetAddress visitor, boolean visitorHttps) {
        if (!stillChecking(routed)) {
            return;
        }
        endCheck();
        proxy.checksTimedOut().refused(true, () -> "the access check of a request to "
                + ControlCharacters.bounded(routed.service().domain()) + " did not end within "
                + Durations.format(proxy.accessCheckTimeout()) + ": answered 503 " + AccessErrorCodes.CHECK_TIMEOUT);
        onVerdict(routed, visitor, visitorHttps, new HttpVerdict.Answer(503, AccessErrorCodes.CHECK_TIMEOUT,
                "The sign-in check of this request took too long; it did not reach the app. Please try again in a"
                        + " moment.",
                RetryAfter.IN_A_MOMENT_HEADERS, List.of()));
        drain();
    }

    @Override
    public Future<?> lastRequestWriteUnderWay() {
        return state == State.EXCHANGE ? exchange.lastRequestWriteUnderWay() : null;
    }

    /**
     * HTTP/2: the server's budget for held uploads ends this stream's upload. One whose request went into the tunnel
     * whole since the budget chose it holds nothing any more: its exchange goes on. Else, before its answer began: 503,
     * and what the proxy holds of the upload is let go now, what still comes dropped as it comes, no credit given for
     * more ({@link Http2UploadBudget}); the rest of the upload is stopped once the answer is out
     * ({@link #respondLocally}).
     */
    @Override
    public Ending endOverBudget(boolean answerBegun) {
        if (state == State.EXCHANGE && exchange.requestInTheTunnel()) {
            return Ending.SENT_WHOLE;
        }
        if (answerBegun) {
            return Ending.RESET;
        }
        switch (state) {
            case EXCHANGE -> {
                if (!exchange.endOverBudget()) {
                    return Ending.RESET;
                }
            }
            case CHECKING -> answerOverBudgetWhileChecking();
            default -> {
                return Ending.RESET;
            }
        }
        pending.forEach(ProxyHandler::drop);
        pending.clear();
        ctx.channel().config().setAutoRead(true); // what the stream's channel queued is read now, and dropped
        return Ending.ANSWERED;
    }

    /** The 503 of an upload ended while its access checks run, their verdict ignored when it comes. */
    private void answerOverBudgetWhileChecking() {
        Routed checked = endCheck();
        answerForService(checked, LocalAnswers.page(checked.head(), ErrorPage.serverBufferFull(), ctx.alloc()), true);
    }

    /**
     * Answers {@code routed}, a request routed to a service, with {@code response} of the proxy's own (its access checks', or
     * {@link LocalAnswers}' for the service), counted as one of the service's requests with its response (as an
     * exchange is): a visitor turned away (401, 403, 429, a sign-in's redirect, a busy 503) or sent to https is traffic
     * of the service, as ngrok and cloudflared count every answer their edge gives.
     */
    private void answerForService(Routed routed, FullHttpResponse response, boolean close) {
        proxy.traffic(routed.service()).answeredByProxy(response.status().code(), System.nanoTime() - routed.since());
        respondLocally(routed.head(), response, close, false);
    }

    @Override
    public ChannelHandlerContext ctx() {
        return ctx;
    }

    @Override
    public LazyTimer responseTimer() {
        return responseTimer;
    }

    @Override
    public boolean isCurrent(Exchange candidate) {
        return exchange == candidate;
    }

    @Override
    public void requestFlows() {
        drain();
    }

    @Override
    public void readIfReady() {
        readPublicIfReady();
    }

    @Override
    public void answerLocally(HttpRequest request, String accept, ErrorPage page, boolean close,
            boolean requestFinished) {
        respond(request, LocalAnswers.page(request, accept, page, ctx.alloc()), close, requestFinished);
        drain();
    }

    @Override
    public void responded(boolean keepAlive, boolean requestFinished, ChannelFuture lastWrite) {
        if (lastWrite != null) {
            lastAnswer = lastWrite;
        }
        if (http2) {
            if (!requestFinished) {
                stopUploadAfter(lastWrite != null ? lastWrite : ctx.newSucceededFuture());
            } else {
                awaitRequest();
            }
            return;
        }
        if (keepAlive && !proxy.isDraining()) {
            awaitRequest(lastWrite);
            drain();
        } else {
            // A response whose head went out before the drain began said keep-alive: the close tells the visitor now.
            closeAfter(lastWrite);
        }
    }

    @Override
    public void abort() {
        state = State.CLOSED;
        abortPublic();
    }

    /** Answers 101, drops the HTTP codec and relays raw bytes; what either side sent after the switch goes first. */
    @Override
    public void upgrade(HttpResponse head, Channel upstream, Hold upstreamHeld) {
        cancelTimers();
        state = State.UPGRADED;
        ctx.writeAndFlush(head);
        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        pending.forEach(ProxyHandler::drop);
        pending.clear();
        ChannelPipeline pipeline = ctx.pipeline();
        Hold publicHeld = new Hold();
        pipeline.replace(this, Hold.HANDLER_NAME, publicHeld);
        pipeline.remove(HttpServerCodec.class);
        pipeline.remove(feed); // after the codec: what it holds came after what the codec had
        if (inputEnded) {
            // The visitor's EOF came before the switch: the hold keeps it behind the bytes, and the relay passes it on.
            pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
        Relay.start(ctx.channel(), upstream);
        // Queued before the visitor's held bytes are passed on, as in TcpStreamBridge: an EOF relayed from the visitor
        // shuts the stream's output, and a stream whose input had ended closes then; its hold, released after that,
        // would be torn down with the target's bytes sent after the 101.
        upstream.eventLoop().execute(upstreamHeld::release);
        publicHeld.release();
    }

    /**
     * Answers the request here. The connection stays open only when the request has no body to skip: the
     * proxy does not read an unwanted upload to its end.
     */
    private void respondLocally(HttpRequest request, FullHttpResponse response, boolean close,
            boolean requestFinished) {
        respond(request, response, close || !HttpUtil.isKeepAlive(request), requestFinished);
    }

    /**
     * As {@link #respondLocally}, {@code close} saying whether the request asked for the close too: an exchange's
     * request has its hop-by-hop headers (Connection) removed once passed on ({@link Exchange}), Content-Length and
     * a chunked Transfer-Encoding kept.
     */
    private void respond(HttpRequest request, FullHttpResponse response, boolean close, boolean requestFinished) {
        boolean bodyLeft = !requestFinished && mayHaveBody(request);
        boolean keepAlive = !close && !bodyLeft && !proxy.isDraining();
        if (!http2) {
            HopByHop.tellKeepAlive(response, request.protocolVersion(), keepAlive);
        }
        ChannelFuture written = ctx.writeAndFlush(response);
        lastAnswer = written;
        if (http2 && !requestFinished && !(pending.peek() instanceof LastHttpContent)) {
            // Discarding the rest of the upload would keep the stream open for as long as the visitor sends it, or
            // for ever if it stops: no timer watches a locally answered request. A plain close would reset the
            // stream with CANCEL, and clients drop the answer of a cancelled stream.
            state = State.CLOSED;
            cancelTimers();
            stopUploadAfter(written);
        } else if (keepAlive || (http2 && !close)) {
            if (requestFinished) {
                awaitRequest(written);
            } else {
                state = State.DISCARD_BODY;
            }
        } else {
            closeAfter(written);
        }
        if (http2 && !written.isDone()) {
            // The stream closes only once the answer is out: a visitor that keeps its window shut would keep it (and
            // its connection, not idle while a stream is open) for ever. HTTP/1.1 watches its answers on its own.
            watchSend(written);
        }
    }

    /**
     * The last answer of the connection is {@code lastWrite}. HTTP/1.1 ends with a lingering close: the output is shut
     * after it and what the visitor still sends (the rest of an upload, pipelined requests) is read and dropped for a
     * while, since a close with unread input sends a reset, which can make the visitor lose the answer. An HTTP/2
     * stream is closed; its connection goes on.
     */
    private void closeAfter(ChannelFuture lastWrite) {
        state = State.CLOSED;
        cancelTimers();
        if (http2) {
            lastWrite.addListener(ChannelFutureListener.CLOSE);
        } else {
            LingeringClose.after(lastWrite, LINGER, proxy.sendTimeout());
        }
    }

    /**
     * HTTP/2, a whole response before the request's end (RFC 9113 8.1): once it is out, RST_STREAM(NO_ERROR) stops
     * the upload and tells the client to keep the response, where closing (CANCEL) at once made clients discard it.
     */
    private void stopUploadAfter(ChannelFuture lastWrite) {
        lastWrite.addListener(f -> ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR))
                .addListener(ChannelFutureListener.CLOSE));
    }

    /** Whether a body may follow the head; an unreadable Content-Length (the decoder refused it) counts as one. */
    static boolean mayHaveBody(HttpRequest request) {
        return mayHaveBody(request, HttpUtil.isTransferEncodingChunked(request));
    }

    /** As {@link #mayHaveBody(HttpRequest)}, whether the request is {@code chunked} already known. */
    static boolean mayHaveBody(HttpRequest request, boolean chunked) {
        if (chunked) {
            return true;
        }
        try {
            return HttpUtil.getContentLength(request, 0L) > 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /**
     * Ends the public side abnormally: on HTTP/2 a reset of the stream, on HTTP/1.1 a TCP reset (SO_LINGER 0)
     * without TLS close_notify, so no client takes what it got for a whole response.
     */
    private void abortPublic() {
        Channel channel = ctx.channel();
        if (channel instanceof Http2StreamChannel) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        Relay.abortChannel(channel);
    }

    /** Lets go of what the visitor sent: an HTTP/2 upload's piece leaves the upload budget, its credit given back. */
    private static void drop(Object msg) {
        Http2UploadBudget.passedOn(msg);
        ReferenceCountUtil.release(msg);
    }

    /** The head of the request whose access checks run ({@link #underCheck}), for tests: null once they ended. */
    HttpRequest requestUnderCheck() {
        return underCheck == null ? null : underCheck.head();
    }

    /**
     * A request routed to a service, the service, and when it began to be handled ({@link System#nanoTime}): its access
     * checks, or an answer of {@link LocalAnswers} for the service, which makes no check.
     */
    private record Routed(HttpRequest head, Service service, long since) {
    }

    /**
     * The visitor's address as text, made once while the connection's requests come from one address object (the
     * peer's, unless a trusted proxy names another): a string per request otherwise.
     */
    private String visitorText(InetAddress visitor) {
        if (visitor != lastVisitor) {
            lastVisitorText = visitor.getHostAddress();
            lastVisitor = visitor;
        }
        return lastVisitorText;
    }

    private String clientIp() {
        Channel channel = ctx.channel();
        SocketAddress address = channel.remoteAddress();
        if (!(address instanceof InetSocketAddress) && channel.parent() != null) {
            address = channel.parent().remoteAddress();
        }
        return address instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : "unknown";
    }
}
