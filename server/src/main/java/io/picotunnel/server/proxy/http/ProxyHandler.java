package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelOfflineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Proxies the requests of one public HTTP/1.1 connection (or one HTTP/2 stream) one at a time, each over
 * an upstream stream with an HTTP/1.1 client codec, taken from and given back to the {@link UpstreamPool}
 * (keep-alive). What is answered here instead is decided by {@link LocalAnswers}.
 *
 * <p>All state lives on this channel's event loop; the upstream stream's events are handed over to it.
 * Auto-read is off on both sides: the public side is read again only once the previous body chunk has
 * been written upstream and the stream is writable, the stream only once the previous response chunk has
 * been written to the public side and it is writable, so a slow side slows the other instead of filling
 * memory. Requests pipelined behind the current one wait, decoded but unread beyond one socket read.
 */
final class ProxyHandler extends ChannelDuplexHandler {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
    
    private enum State {
        /** Waiting for the next request head. */
        AWAIT_REQUEST,
        /** Answered locally; dropping the request's (empty) body until its end. */
        DISCARD_BODY,
        /** Waiting for the upstream stream to open. */
        CONNECTING,
        /** Forwarding the request body upstream. */
        REQUEST_BODY,
        /** Request sent; waiting for the response to end. */
        AWAIT_RESPONSE,
        /** Switched protocols: the relay copies raw bytes. */
        UPGRADED,
        CLOSED
    }

    private final HttpProxy proxy;
    private final boolean https;
    private final boolean http2;
    private final LocalAnswers answers;
    private final ArrayDeque<HttpObject> pending = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private State state = State.AWAIT_REQUEST;
    private Exchange exchange;
    private ScheduledFuture<?> idleTimer;

    ProxyHandler(HttpProxy proxy, boolean https, boolean http2) {
        this.proxy = proxy;
        this.https = https;
        this.http2 = http2;
        this.answers = new LocalAnswers(proxy, https, http2);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
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
            ReferenceCountUtil.release(msg);
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
        drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        readUpstreamIfReady();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        close();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("public connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private void close() {
        state = State.CLOSED;
        cancelIdleTimer();
        pending.forEach(ReferenceCountUtil::release);
        pending.clear();
        if (exchange != null) {
            exchange.abort();
            exchange = null;
        }
    }

    private void drain() {
        while (!pending.isEmpty()) {
            switch (state) {
                case AWAIT_REQUEST -> {
                    HttpObject msg = pending.poll();
                    if (msg instanceof HttpRequest request) {
                        cancelIdleTimer();
                        startRequest(request);
                    } else {
                        ReferenceCountUtil.release(msg);
                    }
                }
                case DISCARD_BODY -> {
                    HttpObject msg = pending.poll();
                    ReferenceCountUtil.release(msg);
                    if (msg instanceof LastHttpContent) {
                        awaitRequest();
                    }
                }
                case REQUEST_BODY -> exchange.forwardRequestContent((HttpContent) pending.poll());
                default -> {
                    return;
                }
            }
        }
        readPublicIfReady();
    }

    private void awaitRequest() {
        state = State.AWAIT_REQUEST;
        exchange = null;
        if (!http2 && idleTimer == null) {
            long idle = proxy.idleTimeout().toMillis();
            idleTimer = ctx.executor().schedule(() -> {
                if (state == State.AWAIT_REQUEST) {
                    ctx.close();
                }
            }, idle, TimeUnit.MILLISECONDS);
        }
        readPublicIfReady();
    }

    private void cancelIdleTimer() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    private void readPublicIfReady() {
        if (!pending.isEmpty() || !ctx.channel().isActive()) {
            return;
        }
        boolean ready = switch (state) {
            case AWAIT_REQUEST, DISCARD_BODY -> true;
            case REQUEST_BODY -> exchange.upstreamReady();
            default -> false;
        };
        if (ready) {
            ctx.read();
        }
    }

    private void readUpstreamIfReady() {
        if (exchange != null) {
            exchange.readUpstreamIfReady();
        }
    }

    private void startRequest(HttpRequest request) {
        switch (answers.decide(request, ctx.alloc())) {
            case LocalAnswers.Answer answer -> respondLocally(request, answer.response(), answer.close(), false);
            case LocalAnswers.Forward forward -> {
                exchange = new Exchange(request, forward.service());
                state = State.CONNECTING;
                exchange.open();
            }
        }
    }

    private void respondLocally(HttpRequest request, ErrorPage page, boolean close, boolean requestFinished) {
        respondLocally(request, LocalAnswers.page(request, page, ctx.alloc()), close, requestFinished);
    }

    /**
     * Answers the request here. The connection stays open only when the request has no body to skip: the
     * proxy does not read an unwanted upload to its end.
     */
    private void respondLocally(HttpRequest request, FullHttpResponse response, boolean close,
            boolean requestFinished) {
        boolean bodyLeft = !requestFinished
                && (HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0);
        boolean keepAlive = !close && !bodyLeft && HttpUtil.isKeepAlive(request);
        if (!http2) {
            HttpUtil.setKeepAlive(response, keepAlive);
        }
        ChannelFuture written = ctx.writeAndFlush(response);
        if (keepAlive || (http2 && !close)) {
            if (requestFinished) {
                awaitRequest();
            } else {
                state = State.DISCARD_BODY;
            }
        } else {
            state = State.CLOSED;
            written.addListener(ChannelFutureListener.CLOSE);
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

    private String clientIp() {
        Channel channel = ctx.channel();
        SocketAddress address = channel.remoteAddress();
        if (!(address instanceof InetSocketAddress) && channel.parent() != null) {
            address = channel.parent().remoteAddress();
        }
        return address instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : "unknown";
    }

    /** One request and its response, over one upstream stream. */
    private final class Exchange {
        private final HttpRequest request;
        private final Service service;
        private final boolean keepAliveRequested;
        private final boolean upgradeRequested;
        private final boolean expectsResponseBody;
        /** GET, HEAD or OPTIONS without a body: may be sent again when a reused stream fails before answering. */
        private final boolean retryable;
        private Channel upstream;
        /** The handler on the current stream: events from an earlier (failed, retried) stream are ignored. */
        private Upstream upstreamHandler;
        /** The current stream ended before this side knew it was open. */
        private boolean upstreamEndedEarly;
        /** The stream carried an exchange before this one. */
        private boolean reused;
        private boolean retried;
        /** Anything (even a 1xx) came back on the current stream. */
        private boolean upstreamAnswered;
        /** The target's final response head, to tell whether its connection may carry another request. */
        private HttpResponse upstreamResponse;
        private ChannelFuture lastUpstreamWrite;
        private ChannelFuture lastPublicWrite;
        private ScheduledFuture<?> responseTimer;
        private boolean requestDone;
        private boolean informational;
        private boolean responseStarted;
        private boolean responseDone;
        private boolean keepAlive;
        private boolean ended;

        Exchange(HttpRequest request, Service service) {
            this.request = request;
            this.service = service;
            this.keepAliveRequested = HttpUtil.isKeepAlive(request);
            this.upgradeRequested = !http2 && HopByHop.isUpgrade(request.headers());
            this.expectsResponseBody = !request.method().equals(HttpMethod.HEAD);
            HttpMethod method = request.method();
            this.retryable = (method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)
                    || method.equals(HttpMethod.OPTIONS))
                    && !HttpUtil.isTransferEncodingChunked(request) && HttpUtil.getContentLength(request, 0L) == 0;
        }

        void open() {
            Upstream handler = new Upstream(this, ctx.executor());
            upstreamHandler = handler;
            upstreamEndedEarly = false;
            upstreamAnswered = false;
            Future<UpstreamPool.Lease> opened = retried
                    ? proxy.upstreams().acquireNew(service, handler)
                    : proxy.upstreams().acquire(service, handler);
            opened.addListener(f -> ctx.executor().execute(() -> onOpened(opened)));
        }

        private void onOpened(Future<UpstreamPool.Lease> opened) {
            if (ended) {
                if (opened.isSuccess()) {
                    opened.getNow().channel().close();
                }
                return;
            }
            if (!opened.isSuccess()) {
                Throwable cause = opened.cause();
                LOG.debug("no stream for {}: {}", service.domain(), cause.toString());
                end();
                respondLocally(request, cause instanceof TunnelOfflineException
                        ? ErrorPage.tunnelOffline() : ErrorPage.targetUnreachable(service.targetAddr()), false, false);
                drain();
                return;
            }
            upstream = opened.getNow().channel();
            reused = opened.getNow().reused();
            writeUpstream(upstreamRequest());
            if (requestDone) {
                // A retry: the (empty) body went to the failed stream already.
                writeUpstream(LastHttpContent.EMPTY_LAST_CONTENT);
                state = State.AWAIT_RESPONSE;
                startResponseTimer();
            } else {
                state = State.REQUEST_BODY;
            }
            upstream.read();
            if (upstreamEndedEarly) {
                onUpstreamEnded();
                return;
            }
            drain();
        }

        /**
         * A reused stream ended before any answer: most likely the target closed its idle connection just as
         * the request went out (nginx's case too). An idempotent request without a body goes once more, on a
         * new stream.
         */
        private boolean retryOnNewStream() {
            if (!reused || retried || upstreamAnswered || !retryable) {
                return false;
            }
            LOG.debug("reused stream to {} ended before answering {} {}: retrying on a new stream",
                    service.targetAddr(), request.method(), service.domain());
            retried = true;
            cancelResponseTimer();
            upstream.close();
            upstream = null;
            lastUpstreamWrite = null;
            state = State.CONNECTING;
            open();
            return true;
        }

        private HttpRequest upstreamRequest() {
            HttpHeaders headers = request.headers().copy();
            boolean chunked = HttpUtil.isTransferEncodingChunked(request);
            String upgrade = headers.get(HttpHeaderNames.UPGRADE);
            String publicHost = RequestTarget.hostOf(request);
            HopByHop.strip(headers);
            headers.remove("forwarded");
            String ip = clientIp();
            headers.set("x-forwarded-for", ip)
                    .set("x-real-ip", ip)
                    .set("x-forwarded-proto", https ? "https" : "http");
            if (publicHost != null) {
                headers.set("x-forwarded-host", publicHost);
                if (!headers.contains(HttpHeaderNames.HOST)) {
                    headers.set(HttpHeaderNames.HOST, publicHost);
                }
            } else {
                headers.remove("x-forwarded-host");
            }
            if (chunked) {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
            if (upgradeRequested) {
                headers.set(HttpHeaderNames.UPGRADE, upgrade).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            }
            // Otherwise HTTP/1.1 without Connection: keep-alive, so the stream can carry the next request.
            return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), RequestTarget.originForm(request.uri()), headers);
        }

        void forwardRequestContent(HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            writeUpstream(content);
            if (last) {
                requestDone = true;
                if (responseDone) {
                    finish();
                } else {
                    state = State.AWAIT_RESPONSE;
                    if (!responseStarted) {
                        startResponseTimer();
                    }
                }
            }
        }

        /** Writes to the stream; the public side is read again once this write is done (and the stream writable). */
        private void writeUpstream(HttpObject msg) {
            lastUpstreamWrite = upstream.writeAndFlush(msg);
            lastUpstreamWrite.addListener(f -> ctx.executor().execute(this::readPublicIfCurrent));
        }

        void readPublicIfCurrent() {
            if (exchange == this) {
                readPublicIfReady();
            }
        }

        boolean upstreamReady() {
            return upstream != null && upstream.isWritable()
                    && (lastUpstreamWrite == null || lastUpstreamWrite.isDone());
        }

        void readUpstreamIfReady() {
            if (upstream != null && !responseDone && !ended && ctx.channel().isWritable()
                    && (lastPublicWrite == null || lastPublicWrite.isDone())) {
                upstream.read();
            }
        }

        private void startResponseTimer() {
            long millis = proxy.responseTimeout().toMillis();
            responseTimer = ctx.executor().schedule(this::onTimeout, millis, TimeUnit.MILLISECONDS);
        }

        private void onTimeout() {
            if (ended || responseStarted || exchange != this) {
                return;
            }
            LOG.info("{} did not answer {} {} within {}", service.targetAddr(), request.method(), service.domain(),
                    proxy.responseTimeout());
            end();
            respondLocally(request, ErrorPage.timeout(service.targetAddr(), proxy.responseTimeout().toSeconds()),
                    !requestDone, requestDone);
            drain();
        }

        /** A message decoded from the upstream stream, on this channel's event loop. */
        void onUpstreamMessage(Object msg) {
            if (ended || exchange != this) {
                ReferenceCountUtil.release(msg);
                return;
            }
            upstreamAnswered = true;
            if (msg instanceof HttpResponse response) {
                onResponseHead(response);
            } else if (msg instanceof HttpContent content) {
                onResponseContent(content);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        /**
         * The target accepted the upgrade: answer 101, drop the HTTP codecs on both sides and relay raw bytes.
         * Bytes either side sent after the switch were held back and go first.
         */
        void onSwitchingProtocols(HttpResponse response, Hold upstreamHeld) {
            if (ended || exchange != this) {
                upstreamHeld.discard();
                upstream.close();
                return;
            }
            ended = true;
            cancelResponseTimer();
            cancelIdleTimer();
            state = State.UPGRADED;
            HttpHeaders headers = response.headers().copy();
            String protocol = headers.get(HttpHeaderNames.UPGRADE);
            HopByHop.strip(headers);
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            if (protocol != null) {
                headers.set(HttpHeaderNames.UPGRADE, protocol);
            }
            ctx.writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            pending.forEach(ReferenceCountUtil::release);
            pending.clear();
            ChannelPipeline pipeline = ctx.pipeline();
            Hold publicHeld = new Hold();
            pipeline.replace(ProxyHandler.this, Hold.HANDLER_NAME, publicHeld);
            pipeline.remove(HttpServerCodec.class);
            Relay.start(ctx.channel(), upstream);
            publicHeld.release();
            upstream.eventLoop().execute(upstreamHeld::release);
        }

        private void onResponseHead(HttpResponse response) {
            if (response.decoderResult().isFailure()) {
                LOG.info("{} sent an invalid response: {}", service.targetAddr(), response.decoderResult().cause().toString());
                onUpstreamEnded();
                return;
            }
            int code = response.status().code();
            if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
                // Only an upgrade we forwarded can switch (the stream side switched already); else it is invalid.
                LOG.info("{} switched protocols without being asked to", service.targetAddr());
                onUpstreamEnded();
                return;
            }
            if (code < 200) {
                informational = true;
                if (!request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    HttpResponse interim = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(),
                            response.headers().copy());
                    HopByHop.strip(interim.headers());
                    writePublic(interim);
                }
                return;
            }
            cancelResponseTimer();
            responseStarted = true;
            upstreamResponse = response;
            writePublic(publicResponse(response));
        }

        private HttpResponse publicResponse(HttpResponse response) {
            HttpHeaders headers = response.headers().copy();
            HopByHop.strip(headers);
            int code = response.status().code();
            boolean bodyless = !expectsResponseBody || code == 204 || code == 304;
            keepAlive = keepAliveRequested && requestDone;
            if (!http2 && !headers.contains(HttpHeaderNames.CONTENT_LENGTH) && !bodyless) {
                if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    keepAlive = false;
                } else {
                    headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                }
            }
            HttpResponse result = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers);
            if (!http2) {
                HttpUtil.setKeepAlive(result, keepAlive);
            }
            return result;
        }

        private void onResponseContent(HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            if (informational) {
                informational = !last;
                if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    content.release();
                } else {
                    writePublic(content);
                }
                return;
            }
            if (!responseStarted) {
                content.release();
                return;
            }
            if (last && content.decoderResult().isFailure()) {
                content.release();
                onUpstreamEnded();
                return;
            }
            writePublic(content);
            if (last) {
                responseDone = true;
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
            lastPublicWrite = ctx.writeAndFlush(msg);
            lastPublicWrite.addListener(f -> {
                if (f.isSuccess()) {
                    readUpstreamIfReady();
                } else {
                    ctx.close();
                }
            });
        }

        /** The response has been forwarded entirely. */
        private void finish() {
            end(upstreamReusable());
            if (http2) {
                if (!requestDone) {
                    ctx.close();
                } else {
                    awaitRequest();
                }
                return;
            }
            if (keepAlive) {
                awaitRequest();
                drain();
            } else {
                state = State.CLOSED;
                lastPublicWrite.addListener(ChannelFutureListener.CLOSE);
            }
        }

        /** The upstream stream ended or failed, on this channel's event loop. */
        void onUpstreamEnded() {
            if (ended || exchange != this || responseDone) {
                return;
            }
            if (upstream == null) {
                upstreamEndedEarly = true;
                return;
            }
            if (!responseStarted && retryOnNewStream()) {
                return;
            }
            end();
            if (!responseStarted) {
                LOG.info("{} ended the stream before a response to {} {}", service.targetAddr(), request.method(),
                        service.domain());
                respondLocally(request, ErrorPage.targetUnreachable(service.targetAddr()), !requestDone, requestDone);
                drain();
            } else {
                // Part of the response is out already: abort, so that the cut body cannot pass for a whole one.
                LOG.info("{} ended the stream in the middle of the response to {} {}", service.targetAddr(),
                        request.method(), service.domain());
                state = State.CLOSED;
                abortPublic();
            }
        }

        private void end() {
            end(false);
        }

        /** Ends the exchange; its stream goes back to the pool when {@code reuse}, else is closed. */
        private void end(boolean reuse) {
            ended = true;
            cancelResponseTimer();
            if (upstream != null) {
                if (reuse) {
                    proxy.upstreams().release(service, upstream);
                } else {
                    upstream.close();
                }
            }
        }

        /**
         * Whether the stream may carry another request: the request went whole, the response came whole in a
         * framing of its own (not ended by the connection's close), and the target did not ask to close
         * (HTTP/1.0 without keep-alive included).
         */
        private boolean upstreamReusable() {
            HttpResponse response = upstreamResponse;
            if (!requestDone || !responseDone || response == null || upgradeRequested) {
                return false;
            }
            int code = response.status().code();
            boolean selfDelimited = !expectsResponseBody || code == 204 || code == 304
                    || HttpUtil.isTransferEncodingChunked(response) || HttpUtil.isContentLengthSet(response);
            return selfDelimited && HttpUtil.isKeepAlive(response);
        }

        void abort() {
            if (!ended) {
                end();
            }
        }

        private void cancelResponseTimer() {
            if (responseTimer != null) {
                responseTimer.cancel(false);
                responseTimer = null;
            }
        }
    }

    /** The handler on the upstream stream: hands everything over to the public channel's event loop. */
    private static final class Upstream extends ChannelInboundHandlerAdapter {
        private final Exchange exchange;
        private final EventExecutor publicLoop;

        Upstream(Exchange exchange, EventExecutor publicLoop) {
            this.exchange = exchange;
            this.publicLoop = publicLoop;
        }

        /** On the public loop: this is the exchange's current stream (not one it gave up for a retry). */
        private boolean current() {
            return exchange.upstreamHandler == this;
        }

        private void onPublicLoop(Runnable action) {
            publicLoop.execute(() -> {
                if (current()) {
                    action.run();
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (exchange.upgradeRequested && msg instanceof HttpResponse response
                    && response.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                    && response.decoderResult().isSuccess()) {
                // Everything after the 101 is the new protocol's: hold it as raw bytes for the relay.
                Hold held = new Hold();
                ctx.pipeline().replace(this, Hold.HANDLER_NAME, held);
                ctx.pipeline().remove(HttpClientCodec.class);
                publicLoop.execute(() -> {
                    if (current()) {
                        exchange.onSwitchingProtocols(response, held);
                    } else {
                        held.discard();
                        ctx.close();
                    }
                });
                return;
            }
            if (msg instanceof LastHttpContent && ctx.channel() instanceof YamuxStreamChannel stream && stream.isReset()) {
                // The codec ends a body delimited by the connection's close at channelInactive, reset or not:
                // after a reset (the target's, or the session lost) the body was cut, not complete.
                ReferenceCountUtil.release(msg);
                onPublicLoop(exchange::onUpstreamEnded);
                return;
            }
            publicLoop.execute(() -> {
                if (current()) {
                    exchange.onUpstreamMessage(msg);
                } else {
                    ReferenceCountUtil.release(msg);
                }
            });
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            onPublicLoop(exchange::readPublicIfCurrent);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                onPublicLoop(exchange::onUpstreamEnded);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            onPublicLoop(exchange::onUpstreamEnded);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("upstream stream failed: {}", cause.toString());
            ctx.close();
        }
    }
}
