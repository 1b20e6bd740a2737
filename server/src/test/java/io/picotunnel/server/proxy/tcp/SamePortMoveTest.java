package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.CommitFaults;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;

import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.assertEchoes;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.stored;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A PATCH that changes only the host of a tcp service's {@code listen_addr}, keeping its port: the new address overlaps
 * the old one (the wildcard and 127.0.0.1 on one port), so it cannot be bound beside it, though the only holder of the
 * port is the service itself. Real server, real SQLite; visitors connect to 127.0.0.1 only.
 */
class SamePortMoveTest {

    @TempDir
    Path dataDir;

    @Test
    void aMoveFromTheWildcardToLoopbackOnTheSamePortAndBackIsMadeAndItsOpenConnectionGoesOn() throws Exception {
        try (EchoServer echo = new EchoServer(); Testbed testbed = new Testbed(dataDir)) {
            String tunnel = testbed.createConnectedTunnel("same-port");
            TcpServicePorts.Created service = onTheWildcard(testbed, tunnel, echo);
            int port = service.port();

            try (Socket visitor = visit(port)) {
                assertEchoes(visitor, "before");

                ApiClient.Response toLoopback = testbed.api().patch("/api/services/" + service.id(),
                        "{\"listen_addr\": \"127.0.0.1:" + port + "\"}");
                assertThat(toLoopback.status()).as("%s", toLoopback).isEqualTo(200);
                assertThat(toLoopback.json().get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
                assertThat(testbed.server().tcpServices().boundAddress(service.id()))
                        .contains(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
                assertActiveOn(testbed, tunnel, service.id(), "127.0.0.1:" + port);
                assertEchoes(visitor, "after the move to 127.0.0.1");
                assertANewVisitorEchoes(port, "a new visitor on 127.0.0.1");

                ApiClient.Response back = testbed.api().patch("/api/services/" + service.id(),
                        "{\"listen_addr\": \"0.0.0.0:" + port + "\"}");
                assertThat(back.status()).as("%s", back).isEqualTo(200);
                assertActiveOnTheWildcard(testbed, tunnel, service.id(), port);
                assertEchoes(visitor, "after the move back to the wildcard");
                assertANewVisitorEchoes(port, "a new visitor on the wildcard");
            }
        }
    }

    @Test
    void aSamePortMoveWhoseCommitFailsStaysOnTheOldAddressAndItsConnectionsGoOn() throws Exception {
        try (EchoServer echo = new EchoServer(); Testbed testbed = new Testbed(dataDir)) {
            String tunnel = testbed.createConnectedTunnel("same-port-undone");
            TcpServicePorts.Created service = onTheWildcard(testbed, tunnel, echo);
            int port = service.port();
            CommitFaults.failEveryCommitThat(dataDir, "AFTER UPDATE ON services");

            try (Socket visitor = visit(port)) {
                assertEchoes(visitor, "before");

                ApiClient.Response moved = testbed.api().patch("/api/services/" + service.id(),
                        "{\"listen_addr\": \"127.0.0.1:" + port + "\"}");

                assertThat(moved.status()).as("%s", moved).isEqualTo(500);
                assertActiveOnTheWildcard(testbed, tunnel, service.id(), port);
                assertEchoes(visitor, "after the undone move");
                assertANewVisitorEchoes(port, "a new visitor after the undone move");
            }
        }
    }

    @Test
    void aSamePortMoveOntoAnAddressAnotherProgramHoldsIsRefusedAndTheOldAddressGoesOnListening() throws Exception {
        try (EchoServer echo = new EchoServer(); Testbed testbed = new Testbed(dataDir)) {
            String tunnel = testbed.createConnectedTunnel("same-port-taken");
            TcpServicePorts.Created service = testbed.createTcpServiceOnFreePort(tunnel, echo.address());
            int port = service.port();

            // Another program on another loopback address of the port: the wildcard overlaps it and the service.
            try (ServerSocket otherProgram = new ServerSocket();
                 Socket visitor = visit(port)) {
                otherProgram.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), port));
                assertEchoes(visitor, "before");

                ApiClient.Response moved = testbed.api().patch("/api/services/" + service.id(),
                        "{\"listen_addr\": \"0.0.0.0:" + port + "\"}");

                assertThat(moved.status()).as("%s", moved).isEqualTo(409);
                assertThat(moved.json().get("message").asText()).as("%s", moved)
                        .isEqualTo("cannot listen on 0.0.0.0:" + port + ": port " + port
                                + " is already in use by another program");
                assertThat(testbed.server().tcpServices().boundAddress(service.id()))
                        .contains(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
                assertActiveOn(testbed, tunnel, service.id(), "127.0.0.1:" + port);
                assertEchoes(visitor, "after the refused move");
                assertANewVisitorEchoes(port, "a new visitor after the refused move");
            }
        }
    }

    private static TcpServicePorts.Created onTheWildcard(Testbed testbed, String tunnel, EchoServer echo) {
        return TcpServicePorts.create(testbed.api(), tunnel, port -> "{\"type\":\"tcp\",\"listen_addr\":\"0.0.0.0:"
                + port + "\",\"target_addr\":\"" + echo.address() + "\",\"enabled\":true}");
    }

    private static Socket visit(int port) throws IOException {
        Socket visitor = new Socket(InetAddress.getByName("127.0.0.1"), port);
        visitor.setSoTimeout(20_000);
        return visitor;
    }

    private static void assertANewVisitorEchoes(int port, String when) throws IOException {
        try (Socket another = visit(port)) {
            assertEchoes(another, when);
        }
    }

    private static void assertActiveOnTheWildcard(Testbed testbed, String tunnel, String id, int port) {
        assertThat(testbed.server().tcpServices().boundAddress(id)).hasValueSatisfying(a -> {
            assertThat(a.getAddress().isAnyLocalAddress()).as("%s", a).isTrue();
            assertThat(a.getPort()).isEqualTo(port);
        });
        assertActiveOn(testbed, tunnel, id, "0.0.0.0:" + port);
    }

    private static void assertActiveOn(Testbed testbed, String tunnel, String id, String listenAddr) {
        JsonNode service = stored(testbed, tunnel, id);
        assertThat(service.get("listen_addr").asText()).as("%s", service).isEqualTo(listenAddr);
        assertThat(service.get("active").asBoolean()).as("%s", service).isTrue();
    }
}
