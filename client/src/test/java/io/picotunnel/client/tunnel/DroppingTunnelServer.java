package io.picotunnel.client.tunnel;

import io.picotunnel.testkit.HttpHead;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A misbehaving tunnel server on 127.0.0.1: accepts every WebSocket upgrade (101 with subprotocol
 * {@code tunnel}), then closes the connection after {@code holdFor} (at once for zero). Records when each
 * upgrade was answered.
 */
final class DroppingTunnelServer implements AutoCloseable {


    private final ServerSocket server;
    private final Duration holdFor;
    private final ScheduledExecutorService closer = Executors.newSingleThreadScheduledExecutor();
    private final List<Long> upgradesNanos = new ArrayList<>();

    DroppingTunnelServer(Duration holdFor) {
        this.holdFor = holdFor;
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("dropping-accept").start(this::acceptLoop);
    }

    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** When each upgrade was answered, in {@link System#nanoTime()}. */
    synchronized List<Long> upgrades() {
        return List.copyOf(upgradesNanos);
    }

    /** The pauses between consecutive upgrades, in milliseconds. */
    List<Long> gapsMillis() {
        List<Long> times = upgrades();
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < times.size(); i++) {
            gaps.add(TimeUnit.NANOSECONDS.toMillis(times.get(i) - times.get(i - 1)));
        }
        return gaps;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().name("dropping-upgrade").start(() -> upgradeThenDrop(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void upgradeThenDrop(Socket socket) {
        try {
            socket.setSoTimeout(10_000);
            String key = ScriptedTunnelServer.key(HttpHead.read(socket.getInputStream()));
            if (key == null) {
                socket.close();
                return;
            }
            ScriptedTunnelServer.answer101(socket, key);
            synchronized (this) {
                upgradesNanos.add(System.nanoTime());
            }
            if (holdFor.isZero()) {
                socket.close();
            } else {
                closer.schedule(() -> closeQuietly(socket), holdFor.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (IOException e) {
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        closer.shutdownNow();
    }
}
