package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.ClientMain;
import io.picotunnel.client.tunnel.ClientIdentity;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Several client processes with one token serve one tunnel side by side (replicas): the real server, the real
 * client executable in JVMs of their own, a tcp service to an echo server behind the clients ({@link ServicedTunnel}).
 */
class SeveralClientsEndToEndTest {

    private static final int HELD_CONNECTIONS = 20;
    private static final int CONNECTIONS_AFTER_THE_KILL = 50;

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private final List<ClientProcess> processes = new ArrayList<>();

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "replicas", "replicas.test");
    }

    @AfterEach
    void stop() throws Exception {
        for (ClientProcess process : processes) {
            process.close();
        }
        testbed.close();
        tunnel.close();
    }

    private ClientProcess startClientProcess() {
        ClientProcess process = ClientProcess.start(testbed.tunnelPort(), tunnel.token);
        processes.add(process);
        return process;
    }

    private TunnelRegistry registry() {
        return testbed.server().registry();
    }

    private Set<String> connectionIds() {
        return registry().connections(tunnel.id).stream().map(TunnelRegistry.Connection::id)
                .collect(Collectors.toSet());
    }

    private Set<String> apiClientIds() {
        Set<String> ids = new HashSet<>();
        testbed.api().get("/api/tunnels/" + tunnel.id).json().get("clients")
                .forEach(c -> ids.add(c.get("id").asText()));
        return ids;
    }

    private void awaitBothConnected(ClientProcess one, ClientProcess two) {
        await("both client processes connected").atMost(ClientProcess.CONNECT_WAIT)
                .failFast(() -> {
                    one.assertAlive();
                    two.assertAlive();
                })
                .until(() -> registry().connections(tunnel.id).size() == 2);
    }

    @Test
    void twoClientProcessesWithOneTokenBothServeWithoutChurnAndTheSurvivorTakesOverWhenOneIsKilled() throws Exception {
        ClientProcess one = startClientProcess();
        ClientProcess two = startClientProcess();
        awaitBothConnected(one, two);
        Set<String> ids = connectionIds();

        // Both are listed, with what they said of themselves.
        JsonNode clients = testbed.api().get("/api/tunnels/" + tunnel.id).json().get("clients");
        assertThat(clients).hasSize(2);
        for (JsonNode client : clients) {
            assertThat(client.get("version").asText()).isEqualTo(ClientIdentity.version());
            assertThat(client.get("hostname").asText()).isEqualTo(ClientIdentity.hostname());
            assertThat(client.get("remote_addr").asText()).startsWith("127.0.0.1:");
        }
        assertThat(apiClientIds()).isEqualTo(ids);

        // Both carry streams: connections held open at once spread evenly over the two.
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < HELD_CONNECTIONS; i++) {
                held.add(openEchoing("held " + i));
            }
            List<TunnelRegistry.Connection> connections = registry().connections(tunnel.id);
            assertThat(connections).hasSize(2);
            assertThat(connections).allSatisfy(c -> {
                assertThat(c.session().activeStreams()).isEqualTo(HELD_CONNECTIONS / 2);
                assertThat(c.streamsOpened()).isEqualTo(HELD_CONNECTIONS / 2);
            });
        } finally {
            for (Socket socket : held) {
                socket.close();
            }
        }

        // No churn: the same two connections all along, none dropped, none added.
        await().during(Duration.ofSeconds(10)).atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(250))
                .until(() -> connectionIds().equals(ids) && apiClientIds().equals(ids));
        assertThat(one.isAlive()).isTrue();
        assertThat(two.isAlive()).isTrue();

        // One dies: once the server has seen its connection end, every new connection goes to the other.
        one.kill();
        await().atMost(Duration.ofSeconds(5)).until(() -> registry().connections(tunnel.id).size() == 1);
        String survivor = registry().connections(tunnel.id).getFirst().id();
        assertThat(ids).contains(survivor);
        int failures = 0;
        for (int i = 0; i < CONNECTIONS_AFTER_THE_KILL; i++) {
            String message = "after the kill " + i;
            try {
                if (!Transfers.echo(tunnel.tcpPort, message).equals(message)) {
                    failures++;
                }
            } catch (Exception e) {
                failures++;
            }
        }
        assertThat(failures).as("failed connections out of %d", CONNECTIONS_AFTER_THE_KILL).isZero();
        assertThat(registry().connections(tunnel.id)).singleElement()
                .satisfies(c -> assertThat(c.id()).isEqualTo(survivor))
                .satisfies(c -> assertThat(c.streamsOpened()).isEqualTo(HELD_CONNECTIONS / 2 + CONNECTIONS_AFTER_THE_KILL));
        assertThat(apiClientIds()).containsExactly(survivor);
        assertThat(two.isAlive()).isTrue();
    }

    @Test
    void regeneratingTheTokenDisconnectsBothClientProcessesWhichExitAsRejected() {
        ClientProcess one = startClientProcess();
        ClientProcess two = startClientProcess();
        awaitBothConnected(one, two);

        assertThat(testbed.api().post("/api/tunnels/" + tunnel.id + "/regenerate", null).status()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(30)).until(() -> !one.isAlive() && !two.isAlive());
        assertThat(one.exitCode()).as(one.log()).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
        assertThat(two.exitCode()).as(two.log()).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
        assertThat(registry().isConnected(tunnel.id)).isFalse();
        assertThat(testbed.api().get("/api/tunnels/" + tunnel.id).json().get("clients")).isEmpty();
    }

    @Test
    void deletingTheTunnelDisconnectsBothClientProcessesWhichExitAsRejected() {
        ClientProcess one = startClientProcess();
        ClientProcess two = startClientProcess();
        awaitBothConnected(one, two);

        assertThat(testbed.api().delete("/api/tunnels/" + tunnel.id).status()).isEqualTo(204);

        await().atMost(Duration.ofSeconds(30)).until(() -> !one.isAlive() && !two.isAlive());
        assertThat(one.exitCode()).as(one.log()).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
        assertThat(two.exitCode()).as(two.log()).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
        assertThat(registry().isConnected(tunnel.id)).isFalse();
    }

    /** Connects to the service and makes one round trip, so the stream is open end to end; the socket stays open. */
    private Socket openEchoing(String message) throws Exception {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort);
        try {
            socket.setSoTimeout(20_000);
            byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] back = in.readNBytes(bytes.length);
            assertThat(new String(back, StandardCharsets.UTF_8)).isEqualTo(message);
            return socket;
        } catch (Exception | AssertionError e) {
            socket.close();
            throw e;
        }
    }
}
