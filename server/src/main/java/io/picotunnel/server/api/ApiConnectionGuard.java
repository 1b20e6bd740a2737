package io.picotunnel.server.api;

import io.picotunnel.server.access.TrustedProxies;
import io.picotunnel.server.config.Limits;
import io.picotunnel.server.net.ConnectionLimits;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.thread.Scheduler;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Limits and the header deadline of the management listener, on Jetty's connections: a connection over the
 * {@link ConnectionLimits} is closed as it opens, and one that sends no whole request head within the header
 * timeout (a first one, or a next one while idle between requests) is closed. A request being handled is never
 * cut, nor the drop of its body's rest after its answer: long requests are bounded by the body's size and read time,
 * the drop by its own size and time, and all by Jetty's idle timeout.
 */
final class ApiConnectionGuard implements Connection.Listener {

    private final ConnectionLimits limits;
    private final long headerTimeoutMillis;
    private final Scheduler scheduler;
    /** The connections counted, with their client address (null when it has none). */
    private final Map<Connection, Admitted> admitted = new ConcurrentHashMap<>();

    private record Admitted(InetAddress address) {
    }

    private ApiConnectionGuard(ConnectionLimits limits, long headerTimeoutMillis, Scheduler scheduler) {
        this.limits = limits;
        this.headerTimeoutMillis = headerTimeoutMillis;
        this.scheduler = scheduler;
    }

    /**
     * Watches every connection of {@code server}'s connectors from now on; those from {@code trustedProxies} count
     * in the total only.
     */
    static void install(Server server, Limits limits, TrustedProxies trustedProxies) {
        ConnectionLimits connectionLimits = new ConnectionLimits("management API", limits.maxConnections(),
                limits.maxConnectionsPerAddress(), trustedProxies::trusts);
        for (Connector connector : server.getConnectors()) {
            if (connector instanceof AbstractConnector c) {
                c.addEventListener(new ApiConnectionGuard(connectionLimits, limits.headerTimeout().toMillis(),
                        c.getScheduler()));
            }
        }
    }

    @Override
    public void onOpened(Connection connection) {
        InetAddress address = addressOf(connection.getEndPoint().getRemoteSocketAddress());
        if (limits.admit(address) != null) {
            connection.getEndPoint().close();
            return;
        }
        admitted.put(connection, new Admitted(address));
        scheduleCheck(connection, -1);
    }

    @Override
    public void onClosed(Connection connection) {
        Admitted counted = admitted.remove(connection);
        if (counted != null) {
            limits.release(counted.address());
        }
    }

    /**
     * Every header timeout: a connection between requests (no exchange open) that started none since the last look is
     * closed.
     */
    private void scheduleCheck(Connection connection, long requestsBefore) {
        scheduler.schedule(() -> {
            if (!connection.getEndPoint().isOpen()) {
                return;
            }
            long in = connection.getMessagesIn();
            if (!inExchange(connection) && in == Math.max(requestsBefore, 0)) {
                connection.getEndPoint().close();
                return;
            }
            scheduleCheck(connection, in);
        }, headerTimeoutMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Whether a request of {@code connection} is still being handled: answered or not, until its exchange ends, the
     * rest of its body dropped by then ({@link UnreadBodyDrain}, bounded by its own time). Counted as ended once
     * answered, a drain was cut at twice a short header timeout. The drop after Jetty refused a request's head counts
     * too ({@link LingeringHttpConnection}): bounded by its own size and time as every other drop.
     */
    private static boolean inExchange(Connection connection) {
        if (connection instanceof LingeringHttpConnection lingering && lingering.droppingRest()) {
            return true;
        }
        if (connection instanceof HttpConnection http) {
            return http.getHttpChannel().getRequest() != null;
        }
        return connection.getMessagesIn() > connection.getMessagesOut();
    }

    private static InetAddress addressOf(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }
}
