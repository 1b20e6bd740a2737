package io.picotunnel.client.tunnel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A misbehaving tunnel server on 127.0.0.1: accepts every WebSocket upgrade (101 with subprotocol
 * {@code tunnel}), then closes the connection after {@code holdFor} (at once for zero). Records when each
 * upgrade was answered.
 */
final class DroppingTunnelServer implements AutoCloseable {

    private static final String WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

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
            String key = websocketKey(readHead(socket.getInputStream()));
            if (key == null) {
                socket.close();
                return;
            }
            String answer = "HTTP/1.1 101 Switching Protocols\r\n"
                    + "Upgrade: websocket\r\n"
                    + "Connection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n"
                    + "Sec-WebSocket-Protocol: tunnel\r\n\r\n";
            socket.getOutputStream().write(answer.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
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

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n") && head.length() < 16 * 1024) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        return head.toString();
    }

    private static String websocketKey(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("sec-websocket-key")) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1")
                    .digest((key + WEBSOCKET_GUID).getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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
