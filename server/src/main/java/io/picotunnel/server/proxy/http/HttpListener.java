package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.net.ConnectionLimits;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** The plain-HTTP listener ({@code --http-addr}): every accepted connection goes to the proxy. */
public final class HttpListener implements AutoCloseable {

    private final Channel server;

    private HttpListener(Channel server) {
        this.server = server;
    }

    /** Binds {@code address}; fails with the bind error (port in use, address not available). */
    public static HttpListener bind(SocketAddress address, EventLoopGroup group, HttpProxy proxy)
            throws InterruptedException {
        return bind(address, group, proxy, null);
    }

    /** As above; connections over {@code limits} (none when null) get 429 or 503 and are closed. */
    public static HttpListener bind(SocketAddress address, EventLoopGroup group, HttpProxy proxy, ConnectionLimits limits)
            throws InterruptedException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(Transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (limits == null || proxy.access().admit(limits, ch, true)) {
                            proxy.access().readProxyProtocol(ch.pipeline(), false);
                            proxy.initHttp1(ch.pipeline(), false);
                        }
                    }
                });
        Channel server = bootstrap.bind(address).sync().channel();
        return new HttpListener(server);
    }

    /** The port actually bound (useful when binding port 0). */
    public int port() {
        return address().getPort();
    }

    /** The address actually bound. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }
}
