package io.picotunnel.server.proxy.tcp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.net.AffinityEventLoopGroup;
import io.picotunnel.server.net.BindFailures;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;

/** The listening socket of one tcp service and the connections it accepted. Driven by {@link TcpServices}. */
final class TcpListener {

    private static final Logger LOG = LoggerFactory.getLogger(TcpListener.class);

    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(10);
    /** On each connection: the address its listener was bound to when it accepted it. */
    private static final AttributeKey<InetSocketAddress> ACCEPTED_AT = AttributeKey.valueOf("picotunnel.tcp.acceptedAt");

    private final PortReleases releases;
    private final TunnelRegistry registry;
    private final AccessControl access;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final ChannelGroup connections = new DefaultChannelGroup("tcp-service", GlobalEventExecutor.INSTANCE);
    private final TcpTraffic traffic;
    private final RefusalLog offline = new RefusalLog(LoggerFactory.getLogger(TcpConnection.class));
    /** Kept across a move to another address: the connections they count stay open. */
    private final ConnectionLimits limits;
    /** Read by the event loops at each accept: the tunnel and target of new connections. */
    private volatile Service service;
    private Channel serverChannel;
    /** Set by {@link #close} before it cuts the connections: one set up after that is cut by itself. */
    private volatile boolean closed;

    TcpListener(Service service, TunnelRegistry registry, AccessControl access, ConnectionLimits limits,
            EventLoopGroup acceptors, EventLoopGroup workers, TrafficCounters counters, PortReleases releases) {
        this.releases = releases;
        this.traffic = new TcpTraffic(counters);
        this.service = service;
        this.limits = limits;
        this.registry = registry;
        this.access = access;
        this.acceptors = acceptors;
        // Each connection on the event loop of the session its stream will cross, when a client is connected.
        this.workers = new AffinityEventLoopGroup(workers, channel -> registry.loopOfNextStream(this.service.tunnelId()));
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

    /**
     * The addresses the open connections were accepted at (this listener's address then), which they hold while they
     * last: a move to another address or a draining shutdown leaves them open. Safe on any thread.
     */
    List<InetSocketAddress> connectionAddresses() {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (Channel connection : connections) {
            InetSocketAddress at = connection.attr(ACCEPTED_AT).get();
            if (at != null && !addresses.contains(at)) {
                addresses.add(at);
            }
        }
        return addresses;
    }

    /** Binds {@code address}: in use, refused at once unless one of ours is letting it go ({@link PortReleases}). */
    void listen(InetSocketAddress address) throws IOException {
        serverChannel = releases.bind(address, this::bindOnce);
    }

    /**
     * {@link #relisten} could bind neither the new address nor, again, the old one (another process took it in the
     * moment between): the listener listens nowhere. {@code address} is the old one, {@code reason} why it failed.
     */
    static final class ListenerLost extends IOException {

        private final InetSocketAddress address;
        private final String reason;

        ListenerLost(IOException moving, InetSocketAddress address, IOException again) {
            super(moving.getMessage(), moving);
            this.address = address;
            this.reason = again.getMessage();
            addSuppressed(again);
        }

        InetSocketAddress address() {
            return address;
        }

        String reason() {
            return reason;
        }
    }

    /**
     * Starts listening on {@code address} for {@code next} beside the address listened on now, which goes on
     * accepting until its channel, returned (null when there is none), is let go ({@link #release}) or listened on
     * again ({@link #backTo}). A failed bind changes nothing.
     */
    Channel listenBeside(InetSocketAddress address, Service next) throws IOException {
        Channel old = serverChannel;
        serverChannel = bindOnce(address);
        service = next;
        return old;
    }

    /** Lets go of the channel a move ({@link #listenBeside}) replaced. */
    void release(Channel old) {
        releases.close(old);
    }

    /** Undoes a move ({@link #listenBeside}): lets go of the address it bound; {@code old} serves {@code previous}. */
    void backTo(Channel old, Service previous) {
        releases.close(serverChannel);
        serverChannel = old != null && old.isOpen() ? old : null;
        service = previous;
    }

    /**
     * Moves to a new address, binding it before letting the old one go. An address that overlaps the old one
     * ({@link #overlap}) can only be bound once the old one is released; if it still fails the old one is bound again,
     * and if another process took it meanwhile this listener listens nowhere ({@link ListenerLost}), its connections
     * going on. Any other address that fails leaves the old one listening, never let go.
     */
    void relisten(InetSocketAddress address, Service next) throws IOException {
        Channel old = serverChannel;
        InetSocketAddress oldAddress = address();
        try {
            serverChannel = bindOnce(address);
        } catch (IOException first) {
            if (!overlap(oldAddress, address)) {
                throw first;
            }
            releases.close(old);
            serverChannel = null;
            try {
                serverChannel = releases.bind(address, this::bindOnce);
            } catch (IOException second) {
                try {
                    serverChannel = releases.bind(oldAddress, this::bindOnce);
                } catch (IOException third) {
                    throw new ListenerLost(second, oldAddress, third);
                }
                throw second;
            }
            service = next;
            return;
        }
        releases.close(old);
        service = next;
    }

    /**
     * Whether the kernel refuses to bind {@code b} while {@code a} is bound (or the reverse), whoever holds it: the same
     * port and the same IP, or a wildcard, which takes in every address of both families (0.0.0.0 is bound as the
     * dual-stack {@code ::}: {@code ss} shows {@code *:P}). 127.0.0.1 and 127.0.0.2, or ::1 and 127.0.0.1, on one port
     * can both be bound. Null: bound nowhere.
     */
    static boolean overlap(InetSocketAddress a, InetSocketAddress b) {
        if (a == null || b == null || a.getPort() != b.getPort() || a.getAddress() == null || b.getAddress() == null) {
            return false;
        }
        return a.getAddress().equals(b.getAddress()) || a.getAddress().isAnyLocalAddress()
                || b.getAddress().isAnyLocalAddress();
    }

    private Channel bindOnce(InetSocketAddress address) throws IOException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptors, workers)
                .channel(Transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                // A visitor's end of input is held with its bytes until the relay passes it on (TcpConnection).
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, Transport.bulkReads())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        // Over a limit: closed before the tunnel's client hears of it (no stream is opened).
                        if (!access.admit(limits, channel, false)) {
                            return;
                        }
                        HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(channel);
                        Transport.keepAlive(channel);
                        channel.attr(ACCEPTED_AT).set((InetSocketAddress) channel.parent().localAddress());
                        connections.add(channel);
                        // Accepted before the listener closed but set up on its loop only after close() cut the
                        // connections: it would be relayed to the target of a service that is gone.
                        if (closed) {
                            Relay.abortChannel(channel);
                            return;
                        }
                        channel.pipeline().addLast("tcp-traffic", new TrafficCounter(traffic));
                        channel.pipeline().addLast("tcp-service", new TcpConnection(service, registry, access, traffic,
                                offline));
                        access.readProxyProtocol(channel.pipeline(), true);
                    }
                });
        ChannelFuture bind = bootstrap.bind(address);
        if (!bind.awaitUninterruptibly(BIND_TIMEOUT.toMillis())) {
            bind.channel().close();
            throw new IOException("binding took longer than " + Durations.format(BIND_TIMEOUT));
        }
        if (!bind.isSuccess()) {
            throw bindFailure(address.getPort(), bind.cause());
        }
        return bind.channel();
    }

    /** What a failed bind of {@code port} says after "cannot listen on ADDRESS: " in the API's 409. */
    static IOException bindFailure(int port, Throwable cause) {
        if (cause instanceof UnresolvedAddressException) {
            // It has no message of its own: the API's 409 would say "cannot listen on nowhere.invalid:2222: null".
            return new IOException("the host name does not resolve to an address", cause);
        }
        // epoll's own words would be "bind(..) failed with error(-98): Address already in use".
        String reason = BindFailures.reason(port, cause);
        if (reason != null) {
            return new IOException(reason, cause);
        }
        return cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
    }

    /**
     * Stops listening (once its port is free, {@link PortReleases#close}); open connections go on. The channel is
     * forgotten first: one whose letting go failed must not go on counting as this listener's address.
     */
    void closeListening() {
        Channel listening = serverChannel;
        serverChannel = null;
        releases.close(listening);
    }

    /**
     * Stops listening and cuts every connection with a reset, and its stream too, so that the target's connection
     * is reset as well: neither visitor nor target may mistake it for a clean end (a FIN on the stream was one).
     */
    void close() {
        closed = true;
        try {
            closeListening();
        } finally {
            // Its service is gone whether or not its port could be let go: its connections must not go on.
            cutConnections();
        }
    }

    private void cutConnections() {
        Set<Channel> stranded = new HashSet<>();
        for (Channel connection : connections) {
            try {
                Relay.cut(connection);
            } catch (RejectedExecutionException stopped) {
                // Its loop (its tunnel session's) has stopped: nothing can run on it any more, nor close it.
                stranded.add(connection);
                LOG.debug("tcp service {}: connection from {} not cut, its event loop has stopped", service.id(),
                        connection.remoteAddress());
            }
        }
        connections.newCloseFuture(connection -> !stranded.contains(connection))
                .awaitUninterruptibly(BIND_TIMEOUT.toMillis());
    }
}
