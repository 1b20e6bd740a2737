package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Store;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tcp service whose listen address has port 0 gets a free port of {@code PICOTUNNEL_TCP_PORTS}, chosen by the server
 * when the service is stored, bound, stored and shown as the real port; real server, sockets on 127.0.0.1, SQLite.
 */
class AnyPortTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer start(Map<Setting, String> settings) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream()));
    }

    /** {@code count} ports free a moment ago, as a PICOTUNNEL_TCP_PORTS value of single ports. */
    private static List<Integer> freePorts(int count) {
        Set<Integer> ports = new HashSet<>();
        for (int attempt = 0; ports.size() < count && attempt < 100 * count; attempt++) {
            ports.add(Ports.freePort());
        }
        assertThat(ports).hasSize(count);
        return List.copyOf(ports);
    }

    private static String setting(List<Integer> ports) {
        return String.join(",", ports.stream().map(String::valueOf).toList());
    }

    private static String tunnel(ApiClient api) {
        ApiClient.Response created = api.post("/api/tunnels", "{\"name\": \"any-port\"}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        return created.json().get("id").asText();
    }

    private static ApiClient.Response tcpService(ApiClient api, String tunnelId, String listen, boolean enabled) {
        return api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\": \"" + listen
                + "\", \"target_addr\": \"localhost:22\", \"enabled\": " + enabled + "}");
    }

    private static int port(JsonNode service) {
        String listen = service.get("listen_addr").asText();
        return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
    }

    private static JsonNode listed(ApiClient api, String tunnelId, String serviceId) {
        for (JsonNode service : api.get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service;
            }
        }
        throw new AssertionError("no service " + serviceId);
    }

    private static String storedListenAddr(Path dataDir, String serviceId) throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             PreparedStatement select = db.prepareStatement("SELECT listen_addr FROM services WHERE id = ?")) {
            select.setString(1, serviceId);
            try (ResultSet row = select.executeQuery()) {
                assertThat(row.next()).isTrue();
                return row.getString(1);
            }
        }
    }

    private static void assertAccepts(int port) throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            assertThat(visitor.isConnected()).isTrue();
        }
    }

    @Test
    void portZeroGetsAFreePortOfTheRangeBoundStoredShownAndKeptAcrossARestart() throws Exception {
        List<Integer> range = freePorts(3);
        Map<Setting, String> settings = Map.of(Setting.TCP_PORTS, setting(range));
        String tunnelId;
        String serviceId;
        int port;
        try (PicoTunnelServer server = start(settings); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            tunnelId = tunnel(api);
            ApiClient.Response created = tcpService(api, tunnelId, "127.0.0.1:0", true);
            assertThat(created.status()).as("%s", created).isEqualTo(201);
            serviceId = created.json().get("id").asText();
            port = port(created.json());
            assertThat(range).contains(port);
            assertThat(created.json().get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
            assertThat(created.json().get("active").asBoolean()).isTrue();
            assertThat(listed(api, tunnelId, serviceId).get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
            assertThat(server.tcpServices().boundAddress(serviceId)).hasValueSatisfying(
                    address -> assertThat(address.getPort()).isEqualTo(port));
            assertAccepts(port);
        }
        assertThat(storedListenAddr(dataDir, serviceId)).isEqualTo("127.0.0.1:" + port);

        try (PicoTunnelServer server = start(settings); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            JsonNode again = listed(api, tunnelId, serviceId);
            assertThat(again.get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
            assertThat(again.get("active").asBoolean()).as("%s", again).isTrue();
            assertThat(server.tcpServices().boundAddress(serviceId)).hasValueSatisfying(
                    address -> assertThat(address.getPort()).isEqualTo(port));
            assertAccepts(port);
        }
    }

    @Test
    void withoutATcpPortsSettingPortZeroGetsAPortOfTheDefaultRange() throws Exception {
        try (PicoTunnelServer server = start(Map.of()); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = tunnel(api);
            ApiClient.Response created = tcpService(api, tunnelId, ":0", true);
            assertThat(created.status()).as("%s", created).isEqualTo(201);
            int port = port(created.json());
            assertThat(port).isBetween(1024, 65535);
            assertThat(created.json().get("listen_addr").asText()).isEqualTo(":" + port);
            assertAccepts(port);
        }
    }

    @Test
    void whenNoPortOfTheRangeIsFreeTheAnswerIs409AndNothingIsStored() throws Exception {
        List<Integer> range = freePorts(3);
        try (ServerSocket otherProgram = new ServerSocket();
             PicoTunnelServer server = start(Map.of(Setting.TCP_PORTS, setting(range)));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            otherProgram.setReuseAddress(true);
            otherProgram.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), range.get(0)));
            String tunnelId = tunnel(api);
            assertThat(tcpService(api, tunnelId, "127.0.0.1:" + range.get(1), true).status()).isEqualTo(201);
            // Disabled, its port is not bound, but it is the service's: enabling it must not fail.
            assertThat(tcpService(api, tunnelId, "0.0.0.0:" + range.get(2), false).status()).isEqualTo(201);

            ApiClient.Response refused = tcpService(api, tunnelId, "127.0.0.1:0", true);
            assertThat(refused.status()).as("%s", refused).isEqualTo(409);
            assertThat(refused.json().get("error").asText()).isEqualTo("conflict");
            assertThat(refused.json().get("field").asText()).isEqualTo("listen_addr");
            assertThat(refused.json().get("message").asText()).contains("no port is free", setting(range),
                    "PICOTUNNEL_TCP_PORTS");
            assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(2);
        }
    }

    @Test
    void servicesCreatedAtOnceGetDifferentPorts() throws Exception {
        int count = 6;
        List<Integer> range = freePorts(count);
        try (PicoTunnelServer server = start(Map.of(Setting.TCP_PORTS, setting(range)));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = tunnel(api);
            ExecutorService threads = Executors.newFixedThreadPool(count);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<ApiClient.Response>> answers = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    answers.add(threads.submit(() -> {
                        try (ApiClient own = new ApiClient(server.apiPort(), server.adminToken())) {
                            go.await();
                            return tcpService(own, tunnelId, "127.0.0.1:0", true);
                        }
                    }));
                }
                go.countDown();
                Set<Integer> ports = new HashSet<>();
                for (Future<ApiClient.Response> answer : answers) {
                    ApiClient.Response created = answer.get(60, TimeUnit.SECONDS);
                    assertThat(created.status()).as("%s", created).isEqualTo(201);
                    ports.add(port(created.json()));
                }
                assertThat(ports).containsExactlyInAnyOrderElementsOf(range);
            } finally {
                threads.shutdownNow();
            }
            assertThat(tcpService(api, tunnelId, "127.0.0.1:0", true).status()).isEqualTo(409);
        }
    }

    @Test
    void aChangeToPortZeroMovesTheServiceToAnotherFreePort() throws Exception {
        List<Integer> range = freePorts(3);
        try (PicoTunnelServer server = start(Map.of(Setting.TCP_PORTS, setting(range)));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = tunnel(api);
            JsonNode created = tcpService(api, tunnelId, "127.0.0.1:" + range.get(0), true).json();
            String serviceId = created.get("id").asText();

            ApiClient.Response moved = api.patch("/api/services/" + serviceId, "{\"listen_addr\": \"127.0.0.1:0\"}");
            assertThat(moved.status()).as("%s", moved).isEqualTo(200);
            int port = port(moved.json());
            assertThat(port).isIn(range.get(1), range.get(2));
            assertThat(listed(api, tunnelId, serviceId).get("listen_addr").asText()).isEqualTo("127.0.0.1:" + port);
            assertThat(server.tcpServices().boundAddress(serviceId)).hasValueSatisfying(
                    address -> assertThat(address.getPort()).isEqualTo(port));
            assertAccepts(port);
            try (ServerSocket old = new ServerSocket()) {
                old.setReuseAddress(true);
                old.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), range.get(0))); // released
            }
        }
    }

    @Test
    void portZeroOnAHostThatCannotBeListenedOnIs409SayingWhy() {
        try (PicoTunnelServer server = start(Map.of()); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = tunnel(api);
            ApiClient.Response unresolved = tcpService(api, tunnelId, "nowhere.invalid:0", true);
            assertThat(unresolved.status()).as("%s", unresolved).isEqualTo(409);
            assertThat(unresolved.json().get("message").asText())
                    .isEqualTo("cannot listen on nowhere.invalid:0: the host name does not resolve to an address");
            ApiClient.Response notOurs = tcpService(api, tunnelId, "192.0.2.1:0", true); // TEST-NET-1, no host's
            assertThat(notOurs.status()).as("%s", notOurs).isEqualTo(409);
            assertThat(notOurs.json().get("message").asText()).startsWith("cannot listen on 192.0.2.1:0: ")
                    .doesNotContain("no port is free");
            assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
        }
    }
}
