package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.awaitility.Awaitility.await;

/**
 * The proxy alone, without a tunnel: a plain HTTP/1.1 listener on 127.0.0.1 whose one service, {@code host} at
 * "/", is a {@link TargetServer} dialled through a {@link DirectOpener}. The listener fixes the socket buffers of the
 * connections it accepts, so that what the kernel holds between the proxy and a visitor is known, and keeps the
 * proxy's side of the last one, for tests that look at its pipeline, its reading or its outbound buffer.
 */
final class DirectProxyFixture implements AutoCloseable {

    private final EventLoopGroup group;
    /** Where the streams to the target are opened: {@link #group}, or a loop of their own. */
    private final EventLoopGroup streamGroup;
    private final TargetServer target;
    private final HttpRoutes routes = new HttpRoutes();
    private final HttpProxy proxy;
    private final AtomicReference<Channel> visitor = new AtomicReference<>();
    private Channel listener;

    /** The proxy as {@code settings} build it (its timeouts), serving {@code host}; call a {@code listen} next. */
    DirectProxyFixture(String host, UnaryOperator<HttpProxy.Builder> settings) throws IOException {
        this(host, settings, Transport.newEventLoopGroup(2, "direct-proxy-" + host), null, null);
    }

    /**
     * As above, on one loop: each visitor and its streams on it ({@code streamsOnVisitorsLoop}, as one client's
     * streams and its visitors share a loop in the server) or the streams on a second loop, never the visitor's.
     */
    DirectProxyFixture(String host, UnaryOperator<HttpProxy.Builder> settings, boolean streamsOnVisitorsLoop)
            throws IOException {
        this(host, settings, streamsOnVisitorsLoop, null);
    }

    /** As above; {@code onStream} is given each stream's pipeline once the proxy's handlers are in it. */
    DirectProxyFixture(String host, UnaryOperator<HttpProxy.Builder> settings, boolean streamsOnVisitorsLoop,
            Consumer<ChannelPipeline> onStream) throws IOException {
        this(host, settings, Transport.newEventLoopGroup(1, "direct-proxy-" + host),
                streamsOnVisitorsLoop ? null : Transport.newEventLoopGroup(1, "direct-proxy-streams-" + host), onStream);
    }

    private DirectProxyFixture(String host, UnaryOperator<HttpProxy.Builder> settings, EventLoopGroup group,
            EventLoopGroup streamGroup, Consumer<ChannelPipeline> onStream) throws IOException {
        this.group = group;
        this.streamGroup = streamGroup == null ? group : streamGroup;
        target = new TargetServer(host);
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, host, "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        proxy = settings.apply(HttpProxy.builder().routes(routes).opener(new DirectOpener(this.streamGroup, onStream))).build();
    }

    /** Opens the listener (closing the one before); its connections get a send buffer of {@code sendBuffer} bytes. */
    void listen(int sendBuffer) throws InterruptedException {
        listen(new ServerBootstrap().childOption(ChannelOption.SO_SNDBUF, sendBuffer));
    }

    /** As above, and a receive buffer of {@code receiveBuffer} bytes. */
    void listen(int sendBuffer, int receiveBuffer) throws InterruptedException {
        listen(new ServerBootstrap().childOption(ChannelOption.SO_SNDBUF, sendBuffer)
                .childOption(ChannelOption.SO_RCVBUF, receiveBuffer));
    }

    private void listen(ServerBootstrap bootstrap) throws InterruptedException {
        if (listener != null) {
            listener.close().sync();
        }
        listener = bootstrap.group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        proxy.initHttp1(ch.pipeline(), false);
                        visitor.set(ch); // once its handlers are in place
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The proxy itself, for a test that reads its counters. */
    HttpProxy proxy() {
        return proxy;
    }

    /** The target, for a test that drives its event stream ({@link TargetServer#sseEvents}). */
    TargetServer target() {
        return target;
    }

    /** The routes of the proxy, for a test that adds a service of its own. */
    HttpRoutes routes() {
        return routes;
    }

    /** The proxy's side of the last visitor connection accepted, once there is one (10 s at most). */
    Channel visitor() {
        await().atMost(Duration.ofSeconds(10)).until(() -> visitor.get() != null);
        return visitor.get();
    }

    /** Answers {@code what} as run on the event loop of {@code channel}, where its state lives. */
    static <T> T onLoop(Channel channel, Callable<T> what) throws Exception {
        return channel.eventLoop().submit(what).get(10, TimeUnit.SECONDS);
    }

    /** Bytes written to {@code channel} that wait in its outbound buffer for the socket. */
    static long unwritten(Channel channel) {
        ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
        return buffer == null ? 0 : buffer.totalPendingWriteBytes();
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        target.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        if (streamGroup != group) {
            streamGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
