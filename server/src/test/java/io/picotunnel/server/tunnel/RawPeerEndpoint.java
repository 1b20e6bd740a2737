package io.picotunnel.server.tunnel;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.HttpHead;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tunnel endpoint on loopback port 0 with its own registry and event loops, for tests whose peer upgrades a raw
 * socket by hand.
 */
final class RawPeerEndpoint implements AutoCloseable {

    private final TunnelRegistry registry = new TunnelRegistry();
    private final EventLoopGroup group;
    private TunnelEndpoint endpoint;
    private int port;

    private RawPeerEndpoint(int threads, String name) {
        group = Transport.newEventLoopGroup(threads, name);
    }

    /** An endpoint that knows one tunnel, by its token. */
    static RawPeerEndpoint start(TunnelEndpointConfig config, Tunnel tunnel, int threads, String name)
            throws IOException {
        return start(config, oneToken(tunnel), threads, name);
    }

    static RawPeerEndpoint start(TunnelEndpointConfig config, TunnelTokens tokens, int threads, String name)
            throws IOException {
        RawPeerEndpoint peer = new RawPeerEndpoint(threads, name);
        try {
            peer.restart(config, tokens);
        } catch (IOException | RuntimeException e) {
            peer.close();
            throw e;
        }
        return peer;
    }

    static TunnelTokens oneToken(Tunnel tunnel) {
        return TunnelTokens.of(token -> tunnel.token().equals(token) ? Optional.of(tunnel) : Optional.empty(),
                id -> tunnel.id().equals(id) ? Optional.of(tunnel) : Optional.empty());
    }

    /** Closes the endpoint and starts another on a new port, with the same registry and event loops. */
    void restart(TunnelEndpointConfig config, TunnelTokens tokens) throws IOException {
        if (endpoint != null) {
            endpoint.close();
        }
        endpoint = new TunnelEndpoint(config, tokens, registry, group, group);
        port = endpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).getPort();
    }

    TunnelRegistry registry() {
        return registry;
    }

    /** From now on, "connected ID" and "left ID" for each client the registry tells its listeners of. */
    List<String> recordClientEvents() {
        List<String> events = new CopyOnWriteArrayList<>();
        registry.addClientListener(new ClientListener() {
            @Override
            public void clientConnected(String tunnelId, ConnectedClient client) {
                events.add("connected " + client.id());
            }

            @Override
            public void clientLeft(String tunnelId, ConnectedClient client) {
                events.add("left " + client.id());
            }
        });
        return events;
    }

    EventLoopGroup group() {
        return group;
    }

    TunnelEndpoint endpoint() {
        return endpoint;
    }

    int port() {
        return port;
    }

    /** Upgrades a new raw socket with {@code token} and {@code extraHeaders}; returns it after the 101. */
    Socket upgrade(String token, String extraHeaders) throws IOException {
        return upgrade(new Socket(), token, extraHeaders);
    }

    /** Connects {@code socket} (not yet connected, so that its buffers may be set first) and upgrades it. */
    Socket upgrade(Socket socket, String token, String extraHeaders) throws IOException {
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(upgradeRequest("/tunnel?token=" + token, extraHeaders)
                .getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        assertThat(HttpHead.read(socket.getInputStream())).startsWith("HTTP/1.1 101");
        return socket;
    }

    static String upgradeRequest(String target, String extraHeaders) {
        return "GET " + target + " HTTP/1.1\r\n"
                + "Host: localhost\r\n"
                + "Connection: Upgrade\r\n"
                + "Upgrade: websocket\r\n"
                + "Sec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Protocol: tunnel\r\n"
                + extraHeaders
                + "\r\n";
    }

    @Override
    public void close() {
        if (endpoint != null) {
            endpoint.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
