package io.picotunnel.client.tunnel;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.netty.handler.proxy.HttpProxyHandler;
import io.netty.handler.proxy.ProxyConnectException;
import io.netty.handler.proxy.ProxyConnectionEvent;
import io.netty.handler.proxy.ProxyHandler;
import io.netty.handler.proxy.Socks5ProxyHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.resolver.NoopAddressResolverGroup;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.HostPort;
import io.picotunnel.client.config.ProxyUrl;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.OnLoop;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.MaskingWebSocketFrameEncoder;
import io.picotunnel.protocol.ws.StreamingWebSocketFrameDecoder;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.ws.YamuxWebSocketFrameEncoder;
import io.picotunnel.protocol.ws.WebSocketPings;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Opens one tunnel connection: TCP (TLS with SNI for wss), the WebSocket upgrade to {@code GET /tunnel} with
 * subprotocol {@code tunnel}, the token as {@code Authorization: Bearer} and the client's version and host name
 * ({@link ClientIdentity}), then a yamux session in the client role on top. The returned future completes with the channel once the session is in place.
 * With a proxy ({@link ClientConfig#proxy()}), the TCP connection goes to the proxy, which is asked to connect to
 * the server (HTTP {@code CONNECT} or a SOCKS5 connect request) by name, so that it resolves it (for {@code socks5://}
 * too, as Go's clients ask), or by the IP address {@code --server} gives; TLS and the upgrade then go through the
 * tunnel it opens. To an {@code https://} proxy, the client speaks TLS first and sends {@code CONNECT} inside it, as
 * Go's clients do; the proxy's certificate is checked as the server's is, for the proxy's name. The connect timeout
 * bounds all up to the proxy's answer, its TLS handshake included ({@link ProxyDeadline}); TLS to the server and the
 * upgrade then have {@link #HANDSHAKE_TIMEOUT} together, from that answer ({@link ProxyGate}) or, without a proxy, from
 * the TCP connection.
 */
final class TunnelConnector {

    static final String SUBPROTOCOL = "tunnel";
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_HANDSHAKE_RESPONSE = 64 * 1024;

    private final ClientConfig config;
    private final SslContext sslContext;
    private final YamuxConfig yamuxConfig;
    private final ChannelHandler streamHandler;
    private final String version;
    private final String hostname;
    private final Duration connectTimeout;
    private final SslContext proxySslContext;
    private final Duration handshakeTimeout;

    /** {@code version} and {@code hostname} are sent when not null. */
    TunnelConnector(ClientConfig config, SslContext sslContext, YamuxConfig yamuxConfig, ChannelHandler streamHandler,
                    String version, String hostname) {
        this(config, sslContext, yamuxConfig, streamHandler, version, hostname, config.connectTimeout());
    }

    /**
     * {@code connectTimeout}: how long the name lookup and the TCP connection may take, to all of the name's addresses
     * together, and through a proxy together with its answer to {@code CONNECT} ({@code --connect-timeout}; tests give
     * less).
     */
    TunnelConnector(ClientConfig config, SslContext sslContext, YamuxConfig yamuxConfig, ChannelHandler streamHandler,
                    String version, String hostname, Duration connectTimeout) {
        this(config, sslContext, yamuxConfig, streamHandler, version, hostname, connectTimeout,
                config.proxy() != null && config.proxy().scheme().tls() ? TunnelClient.sslContext(config.insecure(), null)
                        : null);
    }

    /**
     * {@code proxySslContext}: how to check an {@code https://} proxy's certificate (by default as the server's: the
     * system's CAs, none with {@code --insecure}; tests name their own CA); null for another proxy, or none.
     */
    TunnelConnector(ClientConfig config, SslContext sslContext, YamuxConfig yamuxConfig, ChannelHandler streamHandler,
                    String version, String hostname, Duration connectTimeout, SslContext proxySslContext) {
        this(config, sslContext, yamuxConfig, streamHandler, ClientIdentity.clean(version),
                ClientIdentity.clean(hostname), connectTimeout, proxySslContext, HANDSHAKE_TIMEOUT);
    }

    private TunnelConnector(ClientConfig config, SslContext sslContext, YamuxConfig yamuxConfig,
                            ChannelHandler streamHandler, String version, String hostname, Duration connectTimeout,
                            SslContext proxySslContext, Duration handshakeTimeout) {
        this.handshakeTimeout = handshakeTimeout;
        this.proxySslContext = proxySslContext;
        this.connectTimeout = connectTimeout;
        this.config = config;
        this.sslContext = sslContext;
        this.yamuxConfig = yamuxConfig;
        this.streamHandler = streamHandler;
        this.version = version;
        this.hostname = hostname;
    }

    /** This connector with {@code timeout} for TLS to the server and the upgrade together (tests give less). */
    TunnelConnector withHandshakeTimeout(Duration timeout) {
        return new TunnelConnector(config, sslContext, yamuxConfig, streamHandler, version, hostname, connectTimeout,
                proxySslContext, timeout);
    }

    /** How long an attempt has for the name lookup and the TCP connection, to all of the name's addresses together. */
    Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * Looks the server's name up on {@code resolver} (a lookup blocks, for as long as the system's DNS timeouts when
     * a DNS server does not answer, and {@code loop} also carries the streams of other connections and the
     * targets' sockets), then connects on {@code loop}. The connect timeout counts from before the lookup, as Go's
     * net.Dialer counts its Timeout: a lookup still running when it is up fails the attempt
     * ({@link ConnectFailures.LookupTimeoutException}), and the lookup's late answer is dropped.
     */
    Future<Channel> connect(EventLoop loop, Executor resolver) {
        Promise<Channel> ready = loop.newPromise();
        long deadlineNanos = System.nanoTime() + connectTimeout.toNanos();
        ProxyUrl proxy = config.proxy();
        String host = proxy == null ? config.server().host() : proxy.hostPort().host();
        ScheduledFuture<?> lookupDeadline = loop.schedule(
                () -> failAttempt(ready, new ConnectFailures.LookupTimeoutException(host, connectTimeout)),
                connectTimeout.toNanos(), TimeUnit.NANOSECONDS);
        ready.addListener(f -> lookupDeadline.cancel(false));
        try {
            resolver.execute(() -> {
                InetAddress[] addresses;
                try {
                    addresses = InetAddress.getAllByName(host);
                } catch (UnknownHostException | SecurityException e) {
                    ready.tryFailure(proxy == null ? e
                            : ConnectFailures.ProxyFailedException.of(proxy, config.server(), e, connectTimeout));
                    return;
                }
                // On the loop, as the deadline's task: one of the two goes first, and the other finds it done.
                OnLoop.run(loop, () -> {
                    if (!ready.isDone() && lookupDeadline.cancel(false)) {
                        connect(loop, addresses, deadlineNanos, ready);
                    }
                }, () -> ready.tryFailure(new RejectedExecutionException("event executor terminated")));
            });
        } catch (RejectedExecutionException stopped) {
            ready.tryFailure(stopped);
        }
        return ready;
    }

    /**
     * Where the proxy is asked to connect: the server's name, unresolved, for the proxy to resolve (behind it, this
     * machine's DNS often cannot; Go's clients send the name for socks5:// too), or its IP address when {@code
     * --server} gives one, which a SOCKS5 request carries as an address (types 1 and 4), not as a name, as Go's does.
     */
    private static InetSocketAddress proxyDestination(ServerAddress server) {
        InetAddress literal = NetUtil.createInetAddressFromIpAddressString(server.host());
        return literal != null ? new InetSocketAddress(literal, server.port())
                : InetSocketAddress.createUnresolved(server.host(), server.port());
    }

    /**
     * Connects to one of the name's addresses as Go's net.Dialer does ({@link HappyEyeballs}): those of the first
     * address's family in the resolver's order, and 300 ms later, unless one has connected, those of the other family
     * beside them, so that a server name with an A and an AAAA record is reached on a network where only one of them
     * is, and soon when the first one drops the packets. The addresses of each family share the one connect timeout,
     * which ends at {@code deadlineNanos}, as Go shares it: each gets the time left split evenly over the addresses left
     * ({@link AddressShares}), and one that fails sooner leaves its time to the next. The first TCP connection made
     * goes on with the attempt (through a proxy, its answer to {@code CONNECT} has what is left of the timeout); the
     * other is closed. When all fail, the attempt fails with the first address's error, as Go's dialer does ("the
     * error from the first address is most relevant"): a silent first address is reported as no answer, not as the
     * refusal of the next one. A proxy's answer to CONNECT ends the attempt with that answer (Go, too, reports it,
     * CONNECT being no part of its dial of the proxy's addresses).
     */
    private void connect(EventLoop loop, InetAddress[] addresses, long deadlineNanos, Promise<Channel> ready) {
        HappyEyeballs race = new HappyEyeballs(loop, addresses, deadlineNanos,
                (address, shareMillis) -> connect(loop, address, shareMillis, deadlineNanos, ready),
                new HappyEyeballs.Outcome() {
                    @Override
                    public void connected(Channel channel) {
                        if (ready.isDone()) {
                            channel.close();
                            return;
                        }
                        // A client that stops while the winner is still upgrading closes it.
                        ready.addListener(f -> {
                            if (f.isCancelled()) {
                                channel.close();
                            }
                        });
                        channel.pipeline().get(RaceGate.class).won();
                    }

                    @Override
                    public void failed(Throwable[] tried) {
                        // None tried: the time was up before the first, as Go's dialer gives up too.
                        failAttempt(ready, HappyEyeballs.firstFailure(tried, "no time was left to connect within "
                                + Durations.format(connectTimeout)));
                    }
                });
        ready.addListener(f -> {
            if (!f.isSuccess()) {
                race.cancel();
            }
        });
        race.start();
    }

    /** Starts the TCP connection to {@code address} (of the server, or of its proxy), with the whole attempt's pipeline. */
    private ChannelFuture connect(EventLoop loop, InetAddress address, int shareMillis, long deadlineNanos,
                                  Promise<Channel> ready) {
        HttpHeaders headers = new DefaultHttpHeaders();
        // Given, not left to the handshaker: it takes the host from the URI, and java.net.URI has none for a name with
        // an underscore (a Docker Compose service such as tunnel_server), which made every attempt fail.
        headers.set(HttpHeaderNames.HOST, hostHeader(config.server()));
        headers.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + config.token());
        if (version != null) {
            headers.set(ClientIdentity.VERSION_HEADER, version);
        }
        if (hostname != null) {
            headers.set(ClientIdentity.HOSTNAME_HEADER, hostname);
        }
        // A peer such as hashicorp/yamux writes a Data frame as large as the window we granted in one message.
        int maxFramePayload = Math.max(WebSocketByteStreamCodec.MAX_ACCEPTED_FRAME_PAYLOAD,
                yamuxConfig.maxDataFrame() + YamuxSpec.HEADER_LENGTH);
        WebSocketDecoderConfig decoderConfig = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(maxFramePayload)
                .expectMaskedFrames(false)
                .allowExtensions(false)
                .build();
        WebSocketClientProtocolConfig wsConfig = WebSocketClientProtocolConfig.newBuilder()
                .webSocketUri(config.server().tunnelUri())
                .subprotocol(SUBPROTOCOL)
                .customHeaders(headers)
                .maxFramePayloadLength(maxFramePayload)
                .handshakeTimeoutMillis(handshakeTimeout.toMillis())
                .generateOriginHeader(false)
                .build();
        ProxyUrl proxy = config.proxy();
        // Through a proxy, the TCP connection and the answer to CONNECT share the one connect timeout, as Go's dialers
        // bound a dial through a proxy: an attempt lasts at most connectTimeout, not that twice.
        Bootstrap bootstrap = new Bootstrap();
        if (proxy != null) {
            // The proxy resolves the server's name: behind it, this machine's DNS often cannot.
            bootstrap.resolver(NoopAddressResolverGroup.INSTANCE);
        }
        return bootstrap
                .group(loop)
                .channel(Transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, shareMillis)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.RECVBUF_ALLOCATOR, Transport.tunnelReads())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, Transport.tunnelWriteMarks())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (proxy != null) {
                            // It sends CONNECT (or the SOCKS5 greeting) once the TCP connection is up (which
                            // completes the connect future and wins the race) and holds back the writes after it (TLS,
                            // the upgrade) until the proxy has let the client through; a refusal comes as a
                            // ProxyConnectException (UpgradeOutcome).
                            ProxyHandler connectVia = proxyHandler(proxy, new InetSocketAddress(address,
                                    proxy.hostPort().port()));
                            // Before the proxy's handler: CONNECT, and all after it, go inside this TLS.
                            SslHandler proxyTls = proxySslContext == null ? null
                                    : tlsHandler(ch, proxySslContext, proxy.hostPort());
                            ch.pipeline().addLast("proxy-deadline", new ProxyDeadline(connectVia, proxyTls, deadlineNanos));
                            if (proxyTls != null) {
                                ch.pipeline().addLast("proxy-tls", proxyTls);
                            }
                            ch.pipeline().addLast("proxy", connectVia);
                            ch.pipeline().addLast(new ProxyGate());
                        }
                        ch.pipeline().addLast(new RaceGate());
                        if (sslContext != null) {
                            SslHandler serverTls = tlsHandler(ch, sslContext, config.server().hostPort());
                            // The upgrade's timeout, which also counts from the end of the connect (ProxyGate).
                            serverTls.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
                            ch.pipeline().addLast(serverTls);
                        } else {
                            ch.pipeline().addLast(new TlsAnswerDetector());
                        }
                        ch.pipeline().addLast(
                                new HttpClientCodec(),
                                new HeadOfABigRefusal(),
                                new RefusalErrorCode(),
                                new WebSocketClientProtocolHandler(wsConfig),
                                new UpgradeOutcome(ready, decoderConfig));
                    }
                })
                .connect(proxy == null ? new InetSocketAddress(address, config.server().port())
                        : proxyDestination(config.server()));
    }

    private static ProxyHandler proxyHandler(ProxyUrl proxy, InetSocketAddress proxyAddress) {
        if (proxy.scheme().socks()) {
            return proxy.user() == null ? new Socks5ProxyHandler(proxyAddress)
                    : new Socks5ProxyHandler(proxyAddress, asBytes(proxy.user()), asBytes(proxy.password()));
        }
        return proxy.user() == null ? new HttpProxyHandler(proxyAddress)
                : new HttpProxyHandler(proxyAddress, proxy.user(), proxy.password());
    }

    /**
     * The UTF-8 bytes of {@code text}, one char each: Netty's SOCKS5 encoder writes each char as one byte (its
     * Latin-1 value, '?' beyond) and counts chars as the length, so 'ö' would go as Latin-1; RFC 1929 carries bytes,
     * and Go sends the UTF-8 of the URL's user and password.
     */
    private static String asBytes(String text) {
        return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    private void failAttempt(Promise<Channel> ready, Throwable cause) {
        ProxyUrl proxy = config.proxy();
        ready.tryFailure(proxy == null || cause == null ? cause
                : ConnectFailures.ProxyFailedException.of(proxy, config.server(), cause, connectTimeout));
    }

    /** {@code host:port}, or the host alone on the scheme's default port (as the handshaker wrote it). */
    static String hostHeader(ServerAddress server) {
        boolean defaultPort = server.port() == (server.tls() ? 443 : 80);
        String hostPort = server.hostPort().toString();
        return defaultPort ? hostPort.substring(0, hostPort.lastIndexOf(':')) : hostPort;
    }

    /** TLS to {@code peer} (the server, or an https:// proxy), which names it in SNI and checks it is the certificate's. */
    private static SslHandler tlsHandler(Channel ch, SslContext context, HostPort peer) {
        String host = peer.host();
        SslHandler handler = context.newHandler(ch.alloc(), host, peer.port());
        SNIHostName name = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host) ? null : sniName(host);
        if (name != null) {
            // The JDK leaves SNI out for names without a dot (such as localhost); name the server always.
            SSLEngine engine = handler.engine();
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setServerNames(List.of(name));
            engine.setSSLParameters(parameters);
        }
        return handler;
    }

    /**
     * {@code host} as SNI, or null for a name SNI cannot carry (letters, digits and hyphens only: a Docker Compose
     * service name such as {@code tunnel_server} has an underscore), which then goes without SNI, as an IP address
     * does. The JDK's refusal of such a name made every attempt fail before it left the client.
     */
    private static SNIHostName sniName(String host) {
        try {
            return new SNIHostName(host);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * On a plain ws:// connection, the first bytes from the server: a TLS record (an alert or a handshake) means the
     * endpoint speaks wss, which {@link ConnectFailures} turns into a sentence instead of an HTTP parse error.
     */
    private static final class TlsAnswerDetector extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf bytes && bytes.readableBytes() >= 2) {
                int type = bytes.getUnsignedByte(bytes.readerIndex());
                int major = bytes.getUnsignedByte(bytes.readerIndex() + 1);
                if (type >= 0x14 && type <= 0x17 && major == 0x03) {
                    bytes.release();
                    ctx.pipeline().remove(this);
                    ctx.fireExceptionCaught(new ConnectFailures.TlsAnswerToPlainException());
                    return;
                }
            }
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * Holds the rest of the pipeline (TLS, the upgrade, the attempt's outcome) back from a connection until it has won
     * the race of the name's addresses ({@link HappyEyeballs}): one that connected too but lost is closed without
     * having said a word to the server, and its end cannot fail the attempt the winner is carrying on. Through a proxy,
     * it comes after the proxy's handler, whose CONNECT a loser may have sent already.
     */
    private static final class RaceGate extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private boolean activeHeld;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        /** The connection won: what it held back goes on, and the gate steps out. */
        void won() {
            if (ctx.isRemoved()) {
                return;
            }
            if (activeHeld) {
                ctx.fireChannelActive();
            }
            ctx.pipeline().remove(this);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            activeHeld = true;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // A loser's end: the attempt goes on with the winner.
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * Once the TCP connection to the proxy is up, leaves the TLS handshake with an {@code https://} proxy, and the
     * proxy's answer to {@code CONNECT} (or its SOCKS5 handshake), only what remains of the attempt's connect timeout
     * (at least 1 ms: 0 would mean no timeout to Netty), instead of Netty's own 10 s for the handshake. Set before
     * the TLS handler hears of the connection: it starts the handshake, and its timer, then.
     */
    private static final class ProxyDeadline extends ChannelInboundHandlerAdapter {
        private final ProxyHandler connectVia;
        private final SslHandler proxyTls;
        private final long deadlineNanos;

        /** {@code proxyTls}: null for a proxy without TLS. */
        ProxyDeadline(ProxyHandler connectVia, SslHandler proxyTls, long deadlineNanos) {
            this.connectVia = connectVia;
            this.proxyTls = proxyTls;
            this.deadlineNanos = deadlineNanos;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            long remainingMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
            if (proxyTls != null) {
                proxyTls.setHandshakeTimeoutMillis(remainingMillis);
            }
            connectVia.setConnectTimeoutMillis(remainingMillis);
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
        }
    }

    /**
     * Holds the connection's activation back from TLS to the server and the upgrade until the proxy has let the client
     * through: their timeout ({@link #HANDSHAKE_TIMEOUT}) then counts from there, as without a proxy from the TCP
     * connection, and not from the TCP connection to the proxy, which left a proxy slow to answer CONNECT within the
     * connect timeout to be cut off by the upgrade's or the server's TLS timeout. Their writes wait in the proxy's
     * handler until then anyway.
     */
    private static final class ProxyGate extends ChannelInboundHandlerAdapter {
        private boolean activeHeld;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            activeHeld = true;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ctx.fireUserEventTriggered(evt);
            if (evt instanceof ProxyConnectionEvent && !ctx.isRemoved()) {
                if (activeHeld) {
                    ctx.fireChannelActive();
                }
                ctx.pipeline().remove(this);
            }
        }
    }

    /**
     * Aggregates the answer to the upgrade; one whose body is over {@link #MAX_HANDSHAKE_RESPONSE} (a front proxy's
     * error page) goes on as its status and headers with no body, the rest of the body dropped, so that the refusal is
     * still told by its status and its Retry-After waited out, where Netty's aggregator failed the attempt with
     * "Response entity too large" and the client redialled after its own backoff.
     */
    static final class HeadOfABigRefusal extends HttpObjectAggregator {
        HeadOfABigRefusal() {
            super(MAX_HANDSHAKE_RESPONSE);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            if (oversized instanceof HttpResponse answer) {
                ctx.fireChannelRead(new DefaultFullHttpResponse(answer.protocolVersion(), answer.status(),
                        Unpooled.EMPTY_BUFFER, answer.headers().copy(), new DefaultHttpHeaders()));
            } else {
                super.handleOversizedMessage(ctx, oversized);
            }
        }
    }

    /**
     * Notes the {@code error} of the server's JSON answer when it refuses the upgrade (its 503 server_stopping while it
     * drains, its 429 too_many_attempts or too_many_connections): the handshaker's exception keeps only the status and
     * headers.
     */
    static final class RefusalErrorCode extends ChannelInboundHandlerAdapter {
        /** The server's body is some 70 to 150 bytes: a bigger one (a proxy's page) is not read at all. */
        static final int MAX_BODY = 1024;
        private static final ObjectMapper JSON = new ObjectMapper();
        /** Null for no refusal yet, or one whose body says none. */
        private String error;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpResponse answer && answer.status().code() >= 400) {
                error = errorCode(answer.content());
            }
            ctx.fireChannelRead(msg);
        }

        /** The {@code error} string of a JSON object body; null for a body too big, not JSON, or without it. */
        static String errorCode(ByteBuf body) {
            if (body.readableBytes() > MAX_BODY) {
                return null;
            }
            try {
                JsonNode error = JSON.readTree(body.toString(StandardCharsets.UTF_8)).path("error");
                return error.isTextual() ? error.textValue() : null;
            } catch (JsonProcessingException e) {
                return null;
            }
        }
    }

    /** Waits for the end of the WebSocket upgrade, then puts the byte-stream codec and yamux on the pipeline. */
    private final class UpgradeOutcome extends ChannelInboundHandlerAdapter {
        private final Promise<Channel> ready;
        private final WebSocketDecoderConfig decoderConfig;

        UpgradeOutcome(Promise<Channel> ready, WebSocketDecoderConfig decoderConfig) {
            this.ready = ready;
            this.decoderConfig = decoderConfig;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                // Same checks as the handshaker's decoder, without copying payloads; bytes it holds are handed over.
                ctx.pipeline().replace(WebSocketFrameDecoder.class, "ws-decoder",
                        new StreamingWebSocketFrameDecoder(decoderConfig));
                // Before the protocol handler, which would answer every ping whether or not the server reads.
                ctx.pipeline().addAfter("ws-decoder", "ws-pings", new WebSocketPings());
                ctx.pipeline().addAfter("ws-pings", "ws-close-status", new ServerCloseStatus());
                // Masks in bulk instead of through a ByteBuf accessor at every four bytes of every payload.
                ctx.pipeline().replace(WebSocketFrameEncoder.class, "ws-encoder", new MaskingWebSocketFrameEncoder());
                // Each yamux frame masked straight into one WebSocket frame; the codec frames the other writes.
                ctx.pipeline().addLast(YamuxWebSocketFrameEncoder.masked(), new WebSocketByteStreamCodec(),
                        new YamuxSession(YamuxRole.CLIENT, yamuxConfig, streamHandler));
                ctx.pipeline().remove(this);
                ctx.pipeline().remove(RefusalErrorCode.class);
                if (!ready.trySuccess(ctx.channel())) {
                    ctx.close();
                }
            } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
                fail(ctx, new ConnectFailures.UpgradeTimeoutException(handshakeTimeout));
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof ProxyConnectException && config.proxy() != null) {
                fail(ctx, ConnectFailures.ProxyFailedException.of(config.proxy(), config.server(), cause, connectTimeout));
            } else if (cause instanceof SslHandshakeTimeoutException) {
                // The server's: the proxy's comes inside a ProxyConnectException.
                fail(ctx, new ConnectFailures.TlsTimeoutException(handshakeTimeout, cause));
            } else if (cause instanceof WebSocketClientHandshakeException e && e.response() != null) {
                HttpResponseStatus status = e.response().status();
                RefusalErrorCode answer = ctx.pipeline().get(RefusalErrorCode.class);
                String error = answer == null ? null : answer.error;
                if (status.code() == HttpResponseStatus.UNAUTHORIZED.code()
                        && TunnelErrorCodes.UNAUTHORIZED.equals(error)) {
                    // Only the server's own 401, with its JSON body: a front proxy's or gateway's is retried.
                    fail(ctx, new TokenRejectedException());
                } else if (status.code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
                    fail(ctx, new ConnectFailures.FlawedUpgradeAnswerException(
                            ConnectFailures.FlawedUpgradeAnswerException.flawOf(e.response().headers(), SUBPROTOCOL),
                            e.response().headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)));
                } else {
                    fail(ctx, new ConnectFailures.UpgradeRefusedException(status.code(), status.reasonPhrase(),
                            RetryAfter.parse(e.response().headers().get(HttpHeaderNames.RETRY_AFTER), Instant.now()),
                            error, e.response().headers().get(HttpHeaderNames.LOCATION)));
                }
            } else {
                fail(ctx, cause);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(ctx, new ConnectFailures.ClosedDuringUpgradeException());
            ctx.fireChannelInactive();
        }

        private void fail(ChannelHandlerContext ctx, Throwable cause) {
            ready.tryFailure(cause);
            ctx.close();
        }
    }
}
