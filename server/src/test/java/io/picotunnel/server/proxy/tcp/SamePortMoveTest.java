package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.CommitFaults;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;

import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.assertANewVisitorEchoes;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.assertEchoes;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.move;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.stored;
import static io.picotunnel.server.proxy.tcp.TcpServiceChecks.visit;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A PATCH that changes only the host of a tcp service's {@code listen_addr}, keeping its port: the new address overlaps
 * the old one (the wildcard and 127.0.0.1 on one port), so it cannot be bound beside it, though the only holder of the
 * port is the service itself. Real server, real SQLite; visitors connect to 127.0.0.1 only.
 */
class SamePortMoveTest {

    @TempDir
    Path dataDir;
    EchoServer echo;
    Testbed testbed;
    String tunnel;

    @BeforeEach
    void start() {
        echo = new EchoServer();
        testbed = new Testbed(dataDir);
        tunnel = testbed.createConnectedTunnel("same-port");
    }

    @AfterEach
    void stop() {
        try {
            if (testbed != null) {
                testbed.close();
            }
        } finally {
            echo.close();
        }
    }

    @Test
    void aMoveFromTheWildcardToLoopbackOnTheSamePortAndBackIsMadeAndItsOpenConnectionGoesOn() throws Exception {
        TcpServicePorts.Created service = onTheWildcard();
        int port = service.port();

        try (Socket visitor = visit(port)) {
            assertEchoes(visitor, "before");

            ApiClient.Response toLoopback = move(testbed, service.id(), "127.0.0.1:" + port);
            assertThat(toLoopback.status()).as("%s", toLoopback).isEqualTo(200);
            assertThat(toLoopback.json().get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
            assertActiveOnLoopback(service.id(), port);
            assertStillEchoes(visitor, port, "the move to 127.0.0.1");

            ApiClient.Response back = move(testbed, service.id(), "0.0.0.0:" + port);
            assertThat(back.status()).as("%s", back).isEqualTo(200);
            assertActiveOnTheWildcard(service.id(), port);
            assertStillEchoes(visitor, port, "the move back to the wildcard");
        }
    }

    @Test
    void aSamePortMoveWhoseCommitFailsStaysOnTheOldAddressAndItsConnectionsGoOn() throws Exception {
        TcpServicePorts.Created service = onTheWildcard();
        int port = service.port();
        CommitFaults.failEveryCommitThat(dataDir, "AFTER UPDATE ON services");

        try (Socket visitor = visit(port)) {
            assertEchoes(visitor, "before");

            ApiClient.Response moved = move(testbed, service.id(), "127.0.0.1:" + port);

            assertThat(moved.status()).as("%s", moved).isEqualTo(500);
            assertActiveOnTheWildcard(service.id(), port);
            assertStillEchoes(visitor, port, "the undone move");
        }
    }

    @Test
    void aSamePortMoveOntoAnAddressAnotherProgramHoldsIsRefusedAndTheOldAddressGoesOnListening() throws Exception {
        TcpServicePorts.Created service = testbed.createTcpServiceOnFreePort(tunnel, echo.address());
        int port = service.port();

        // Another program on another loopback address of the port: the wildcard overlaps it and the service.
        try (ServerSocket otherProgram = new ServerSocket();
             Socket visitor = visit(port)) {
            otherProgram.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), port));
            assertEchoes(visitor, "before");

            ApiClient.Response moved = move(testbed, service.id(), "0.0.0.0:" + port);

            assertThat(moved.status()).as("%s", moved).isEqualTo(409);
            assertThat(moved.json().get("message").asText()).as("%s", moved)
                    .isEqualTo("cannot listen on 0.0.0.0:" + port + ": port " + port
                            + " is already in use by another program");
            assertActiveOnLoopback(service.id(), port);
            assertStillEchoes(visitor, port, "the refused move");
        }
    }

    private TcpServicePorts.Created onTheWildcard() {
        return TcpServicePorts.create(testbed.api(), tunnel, port -> "{\"type\":\"tcp\",\"listen_addr\":\"0.0.0.0:"
                + port + "\",\"target_addr\":\"" + echo.address() + "\",\"enabled\":true}");
    }

    /** The open visitor's connection still echoes, and so does a new visitor's. */
    private static void assertStillEchoes(Socket visitor, int port, String after) throws IOException {
        assertEchoes(visitor, "after " + after);
        assertANewVisitorEchoes(port, "a new visitor after " + after);
    }

    private void assertActiveOnLoopback(String id, int port) throws IOException {
        assertThat(testbed.server().tcpServices().boundAddress(id))
                .contains(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        assertActiveOn(id, "127.0.0.1:" + port);
    }

    private void assertActiveOnTheWildcard(String id, int port) {
        assertThat(testbed.server().tcpServices().boundAddress(id)).hasValueSatisfying(a -> {
            assertThat(a.getAddress().isAnyLocalAddress()).as("%s", a).isTrue();
            assertThat(a.getPort()).isEqualTo(port);
        });
        assertActiveOn(id, "0.0.0.0:" + port);
    }

    private void assertActiveOn(String id, String listenAddr) {
        JsonNode service = stored(testbed, tunnel, id);
        assertThat(service.get("listen_addr").asText()).as("%s", service).isEqualTo(listenAddr);
        assertThat(service.get("active").asBoolean()).as("%s", service).isTrue();
    }
}
