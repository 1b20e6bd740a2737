package io.picotunnel.server.tunnel;

import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The connected tunnel clients, one yamux session per tunnel. A newer connection with the same token
 * replaces the older one, which is sent GoAway and closed.
 */
public final class TunnelRegistry implements TunnelPresence {

    /** One client connection of a tunnel. */
    public record Connection(String tunnelId, YamuxSession session, Instant connectedAt) {

        void close() {
            session.goAway(GoAwayCode.NORMAL);
            session.parent().close();
        }
    }

    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    private final Clock clock;

    public TunnelRegistry(Clock clock) {
        this.clock = clock;
    }

    public TunnelRegistry() {
        this(Clock.systemUTC());
    }

    /** Records a new connection of the tunnel; the one it replaces, if any, is closed. */
    public Connection register(String tunnelId, YamuxSession session) {
        Connection connection = new Connection(tunnelId, session, clock.instant());
        Connection previous = connections.put(tunnelId, connection);
        lastSeen.put(tunnelId, connection.connectedAt());
        if (previous != null) {
            previous.close();
        }
        return connection;
    }

    /** Forgets the connection once it has ended, unless a newer one has replaced it already. */
    public void unregister(Connection connection) {
        if (connections.remove(connection.tunnelId(), connection)) {
            lastSeen.put(connection.tunnelId(), clock.instant());
        }
    }

    public Optional<Connection> connection(String tunnelId) {
        return Optional.ofNullable(connections.get(tunnelId));
    }

    /**
     * Opens a stream to the tunnel's client with {@code handler} in its pipeline; fails at once when the
     * tunnel has no client connected.
     */
    public Future<YamuxStreamChannel> openStream(String tunnelId, ChannelHandler handler) {
        Connection connection = connections.get(tunnelId);
        if (connection == null) {
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(new TunnelOfflineException(tunnelId));
        }
        return connection.session().openStream(handler);
    }

    @Override
    public boolean isConnected(String tunnelId) {
        return connections.containsKey(tunnelId);
    }

    @Override
    public Optional<Instant> connectedSince(String tunnelId) {
        return connection(tunnelId).map(Connection::connectedAt);
    }

    @Override
    public Optional<Instant> lastSeen(String tunnelId) {
        return isConnected(tunnelId) ? Optional.of(clock.instant()) : Optional.ofNullable(lastSeen.get(tunnelId));
    }

    @Override
    public int connectedCount() {
        return connections.size();
    }

    @Override
    public void disconnect(String tunnelId) {
        Connection connection = connections.remove(tunnelId);
        if (connection != null) {
            lastSeen.put(tunnelId, clock.instant());
            connection.close();
        }
    }
}
