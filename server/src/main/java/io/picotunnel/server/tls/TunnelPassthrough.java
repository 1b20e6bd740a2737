package io.picotunnel.server.tls;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.proxy.tcp.TcpTraffic;
import io.picotunnel.server.proxy.tcp.TrafficCounter;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.VisitorAddress;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;

/**
 * TLS passthrough: opens a {@code tcp} stream to the service's target through its tunnel and relays the raw
 * bytes both ways, the ClientHello the front door read first. TLS ends at the target behind the client.
 */
public final class TunnelPassthrough implements PassthroughForwarder {

    private static final Logger log = LoggerFactory.getLogger(TunnelPassthrough.class);

    private final TunnelRegistry tunnels;
    private final AccessControl access;

    public TunnelPassthrough(TunnelRegistry tunnels) {
        this(tunnels, AccessControl.open());
    }

    public TunnelPassthrough(TunnelRegistry tunnels, AccessControl access) {
        this.tunnels = tunnels;
        this.access = access;
    }

    @Override
    public void forward(ChannelHandlerContext frontDoor, HttpsRoute.Passthrough route) {
        Channel client = frontDoor.channel();
        InetAddress visitor = VisitorAddress.of(client);
        boolean admitted = route.serviceId() == null || (visitor == null ? route.access().equals(AccessPolicy.OPEN)
                : access.admitsConnection(route.serviceId(), route.access(), visitor, route.traffic()));
        if (!admitted) {
            // Refused before any stream is opened: the tunnel's client never hears of this connection.
            client.close();
            return;
        }
        client.config().setAutoRead(false);
        // Within the read that brought the ClientHello, before that read can see an EOF right behind it: the EOF is
        // then held with the hello and passed on (the stream's output shut), and the target's answer still comes
        // back. Without it Netty closed the connection at the EOF, and the visitor got nothing and a clean close.
        client.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(client);
        Hold hold = new Hold();
        TcpTraffic traffic = new TcpTraffic(route.traffic());
        traffic.opened();
        client.closeFuture().addListener(closed -> traffic.closed());
        // Replacing the front door hands its buffered ClientHello to the hold, which keeps it for the relay; the
        // counter behind the hold counts it too when the relay starts, as the visitor's first bytes.
        frontDoor.pipeline().replace(frontDoor.name(), Hold.HANDLER_NAME, hold);
        client.pipeline().addAfter(Hold.HANDLER_NAME, "passthrough-traffic", new TrafficCounter(traffic));
        StreamHeader header;
        try {
            header = new StreamHeader(StreamType.TCP, route.targetAddr());
        } catch (IllegalArgumentException e) {
            log.warn("TLS passthrough for {}: {}", ControlCharacters.bounded(route.serverName()), e.getMessage());
            hold.discard();
            client.close();
            return;
        }
        TcpStreamBridge.connect(tunnels, route.tunnelId(), header, client).addListener(relaying -> {
            if (relaying.isSuccess()) {
                hold.release();
            } else {
                log.info("TLS passthrough for {} from {} failed: {}", ControlCharacters.bounded(route.serverName()), client.remoteAddress(),
                        relaying.cause().getMessage());
                hold.discard();
            }
        });
    }
}
