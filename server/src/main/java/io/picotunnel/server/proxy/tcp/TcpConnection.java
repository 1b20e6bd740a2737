package io.picotunnel.server.proxy.tcp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.ProxyProtocolHandler;
import io.picotunnel.server.access.VisitorAddress;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.server.tunnel.TunnelOfflineException;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;

/**
 * One accepted connection of a tcp service: opens a stream to the tunnel's client with the service's target
 * in its header, then relays both ways. Nothing is read from the socket before the stream is open; when the
 * tunnel has no client connected, or the service's IP rules or rate limit refuse the visitor, the socket is
 * closed at once.
 */
final class TcpConnection extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(TcpConnection.class);

    private final Service service;
    private final TunnelRegistry registry;
    private final AccessControl access;
    private final TcpTraffic traffic;
    private final RefusalLog offline;

    /** {@code offline} says, at most once a minute for the service, that a connection found its tunnel offline. */
    TcpConnection(Service service, TunnelRegistry registry, AccessControl access, TcpTraffic traffic,
                  RefusalLog offline) {
        this.traffic = traffic;
        this.offline = offline;
        this.service = service;
        this.registry = registry;
        this.access = access;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel socket = ctx.channel();
        ctx.pipeline().remove(this);
        // What a front proxy sent after its PROXY header waits here until the relay runs. Without one the visitor's
        // own bytes wait in a hold too: the epoll transport reads them, and an end of input that follows at once,
        // even with auto-read off.
        Hold early = (Hold) socket.pipeline().get(ProxyProtocolHandler.HOLD_NAME);
        if (early == null) {
            early = new Hold();
            socket.pipeline().addLast(ProxyProtocolHandler.HOLD_NAME, early);
        }
        InetAddress visitor = VisitorAddress.of(socket);
        boolean admitted = visitor == null ? service.access().equals(AccessPolicy.OPEN)
                : access.admitsConnection(service.id(), service.access(), visitor, traffic.counters());
        if (!admitted) {
            // Refused before any stream is opened: the tunnel's client never hears of this connection.
            early.discard();
            socket.close();
            return;
        }
        // Counted once admitted, as a passthrough connection is: a refused one counts only as refused.
        traffic.opened();
        socket.closeFuture().addListener(ended -> traffic.closed());
        StreamHeader header;
        try {
            header = new StreamHeader(StreamType.TCP, service.targetAddr());
        } catch (IllegalArgumentException e) {
            LOG.warn("tcp service {}: {}", service.id(), e.getMessage());
            socket.close();
            return;
        }
        Hold held = early;
        TcpStreamBridge.connect(registry, service.tunnelId(), header, socket).addListener(relaying -> {
            if (relaying.isSuccess()) {
                held.release();
            } else {
                held.discard();
            }
            if (relaying.cause() instanceof TunnelOfflineException noClient) {
                // The visitor only sees its connection closed: the operator is told why.
                offline.refused(false, () -> "tcp service " + service.id() + ": closed a connection from "
                        + (visitor == null ? ControlCharacters.bounded(socket.remoteAddress()) : visitor.getHostAddress())
                        + " at once: " + noClient.getMessage());
            } else if (!relaying.isSuccess()) {
                LOG.debug("tcp service {}: closing connection from {}: {}", service.id(), socket.remoteAddress(),
                        relaying.cause().getMessage());
            }
        });
    }
}
