package io.picotunnel.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/** Loopback addresses for tests. */
public final class Ports {

    /** Lowest port handed out: below it are well-known and registered services' usual ports. */
    private static final int LOWEST = 10_000;
    private static final int ATTEMPTS = 100;

    private Ports() {
    }

    /**
     * A TCP port on 127.0.0.1 that was free a moment ago (for servers that must be given a fixed port). It lies
     * below the kernel's ephemeral range when it can: a port from that range, once released, can become the local
     * port of the next outgoing connection (the test's own API call, say) before the server binds it.
     */
    public static int freePort() {
        int ephemeralLow = ephemeralRangeStart();
        for (int attempt = 0; ephemeralLow - LOWEST > ATTEMPTS && attempt < ATTEMPTS; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, ephemeralLow);
            if (bindable(port)) {
                return port;
            }
        }
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** "127.0.0.1:port" for a port that was free a moment ago. */
    public static String freeLoopbackAddress() {
        return "127.0.0.1:" + freePort();
    }

    /**
     * Whether a connection to the loopback address on {@code port} is refused (nothing listens there); false if it is
     * accepted, or neither accepted nor refused within 1 s.
     */
    public static boolean refuses(int port) {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return false;
        } catch (ConnectException refused) {
            return true;
        } catch (IOException other) {
            return false;
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The first port of Linux's ephemeral range; 32768 (its default) where it cannot be read. */
    private static int ephemeralRangeStart() {
        try {
            // readAllLines, not readString: on this JDK, readString of a /proc file returned its first byte only.
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).getFirst().trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
