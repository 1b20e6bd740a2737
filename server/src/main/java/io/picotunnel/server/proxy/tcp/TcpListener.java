package io.picotunnel.server.proxy.tcp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** The listening socket of one tcp service and the connections it accepted. Driven by {@link TcpServices}. */
final class TcpListener {

    private static final Logger LOG = LoggerFactory.getLogger(TcpListener.class);
    private static final long BIND_TIMEOUT_SECONDS = 10;

    private final TunnelRegistry registry;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final ChannelGroup connections = new DefaultChannelGroup("tcp-service", GlobalEventExecutor.INSTANCE);
    private final TcpTraffic traffic = new TcpTraffic();
    /** Read by the event loops at each accept: the tunnel and target of new connections. */
    private volatile Service service;
    private Channel serverChannel;

    TcpListener(Service service, TunnelRegistry registry, EventLoopGroup acceptors, EventLoopGroup workers) {
        this.service = service;
        this.registry = registry;
        this.acceptors = acceptors;
        this.workers = workers;
    }

    Service service() {
        return service;
    }

    TcpTraffic traffic() {
        return traffic;
    }

    void update(Service next) {
        service = next;
    }

    boolean isListening() {
        return serverChannel != null;
    }

    InetSocketAddress address() {
        return serverChannel == null ? null : (InetSocketAddress) serverChannel.localAddress();
    }

    int openConnections() {
        return connections.size();
    }

    void listen(InetSocketAddress address) throws IOException {
        serverChannel = bind(address);
    }

    /**
     * Moves to a new address, binding it before letting the old one go. An address that overlaps the old one
     * (same port) can only be bound once the old one is released; if it still fails the old one is bound again.
     */
    void relisten(InetSocketAddress address, Service next) throws IOException {
        Channel old = serverChannel;
        InetSocketAddress oldAddress = address();
        try {
            serverChannel = bind(address);
        } catch (IOException first) {
            if (oldAddress == null || oldAddress.getPort() != address.getPort()) {
                throw first;
            }
            old.close().awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            try {
                serverChannel = bind(address);
            } catch (IOException second) {
                try {
                    serverChannel = bind(oldAddress);
                } catch (IOException third) {
                    serverChannel = null;
                    LOG.error("tcp service {} lost its listener on {}: {}", service.id(),
                            TcpServices.describe(oldAddress), third.getMessage());
                }
                throw second;
            }
            service = next;
            return;
        }
        if (old != null) {
            old.close().awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        service = next;
    }

    private Channel bind(InetSocketAddress address) throws IOException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptors, workers)
                .channel(Transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        connections.add(channel);
                        channel.pipeline().addLast("tcp-traffic", new TrafficCounter(traffic));
                        channel.pipeline().addLast("tcp-service", new TcpConnection(service, registry));
                    }
                });
        ChannelFuture bind = bootstrap.bind(address);
        if (!bind.awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            bind.channel().close();
            throw new IOException("binding took longer than " + BIND_TIMEOUT_SECONDS + " s");
        }
        if (!bind.isSuccess()) {
            Throwable cause = bind.cause();
            throw cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
        }
        return bind.channel();
    }

    /** Stops listening; open connections go on. */
    void closeListening() {
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            serverChannel = null;
        }
    }

    /** Stops listening and ends every connection. */
    void close() {
        closeListening();
        connections.close().awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
