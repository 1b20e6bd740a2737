package io.picotunnel.testkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PortsTest {

    @Test
    void aFreePortLiesBelowTheEphemeralRangeAndCanBeBound() throws IOException {
        int ephemeralLow = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                .getFirst().trim().split("\\s+")[0]);
        int port = Ports.freePort();

        assertThat(port).isBetween(10_000, ephemeralLow - 1);
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }

    /** What the port is for: outgoing connections made between choosing and binding never take it. */
    @Test
    void outgoingConnectionsDoNotTakeAFreePort() throws IOException {
        int port = Ports.freePort();
        List<Socket> outgoing = new ArrayList<>();
        try (ServerSocket listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress())) {
            for (int i = 0; i < 100; i++) {
                Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                outgoing.add(socket);
                assertThat(socket.getLocalPort()).isNotEqualTo(port);
            }
            try (ServerSocket server = new ServerSocket()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            }
        } finally {
            for (Socket socket : outgoing) {
                socket.close();
            }
        }
    }
}
