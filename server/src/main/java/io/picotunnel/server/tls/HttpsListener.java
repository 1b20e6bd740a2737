package io.picotunnel.server.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.net.BindFailures;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.access.AccessControl;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The public HTTPS listener ({@code --https-addr}). Every connection starts with the {@link HttpsFrontDoor},
 * which picks TLS termination by SNI, TLS-ALPN-01 validation or passthrough.
 */
public final class HttpsListener implements AutoCloseable {

    /** How often at most the listener's refused handshakes (an unknown server name) are logged. */
    public static final Duration REFUSAL_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;

    static final Duration CLIENT_HELLO_TIMEOUT = Duration.ofSeconds(10);
    /** Kinds of our own failures with a warning an interval each; those beyond share one: a bug or two is the case. */
    static final int MAX_FAILURE_KINDS = 16;

    private final InetSocketAddress address;
    private final EventLoopGroup group;
    private final HttpsRouter router;
    private final HttpPipelines http;
    private final PassthroughForwarder passthrough;
    private final ConnectionLimits limits;
    /** Handshakes refused for an unknown name, logged once a minute at most. */
    private final RefusalLog refusals = new RefusalLog(HttpsFrontDoor.log, REFUSAL_LOG_INTERVAL);
    /** Our own failures in the handshake or the HTTP set-up, by kind: each kind logged once a minute at most. */
    private final KeyedRefusalLog unexpected = new KeyedRefusalLog(HttpsFrontDoor.log, REFUSAL_LOG_INTERVAL,
            MAX_FAILURE_KINDS);
    private final AccessControl access;
    private Channel serverChannel;
    /** Where {@link #start} bound it, kept once it is closed (a draining shutdown still tells its port). */
    private volatile InetSocketAddress boundAddress;

    public HttpsListener(InetSocketAddress address, EventLoopGroup group, HttpsRouter router, HttpPipelines http,
                         PassthroughForwarder passthrough) {
        this(address, group, router, http, passthrough, null, AccessControl.open());
    }

    /** As above; connections over {@code limits} (none when null) are closed at once. */
    public HttpsListener(InetSocketAddress address, EventLoopGroup group, HttpsRouter router, HttpPipelines http,
                         PassthroughForwarder passthrough, ConnectionLimits limits) {
        this(address, group, router, http, passthrough, limits, AccessControl.open());
    }

    /**
     * As above: connections over {@code limits} (none when null) are closed at once, and {@code access} reads the
     * PROXY protocol from trusted front proxies, when it is turned on.
     */
    public HttpsListener(InetSocketAddress address, EventLoopGroup group, HttpsRouter router, HttpPipelines http,
                         PassthroughForwarder passthrough, ConnectionLimits limits, AccessControl access) {
        this.limits = limits;
        this.access = access;
        this.address = address;
        this.group = group;
        this.router = router;
        this.http = http;
        this.passthrough = passthrough;
    }

    /** Binds the listener; a port in use or not permitted becomes an IOException that says so. */
    public synchronized void start() throws IOException {
        CloseNotifyTimeoutLog.install();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(Transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (limits != null && !access.admit(limits, ch, false)) {
                            return;
                        }
                        ch.pipeline().addLast("front-door",
                                new HttpsFrontDoor(router, http, passthrough, CLIENT_HELLO_TIMEOUT, refusals,
                                        unexpected));
                        access.readProxyProtocol(ch.pipeline(), false);
                    }
                });
        ChannelFuture bound = bootstrap.bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            String reason = BindFailures.reason(address.getPort(), cause);
            throw new IOException("cannot listen for HTTPS on " + address + ": "
                    + (reason != null ? reason : cause.getMessage()), cause);
        }
        serverChannel = bound.channel();
        boundAddress = (InetSocketAddress) serverChannel.localAddress();
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return boundAddress.getPort();
    }

    /** The address it was bound to. */
    public InetSocketAddress address() {
        return boundAddress;
    }

    @Override
    public synchronized void close() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
            serverChannel = null;
        }
    }
}
