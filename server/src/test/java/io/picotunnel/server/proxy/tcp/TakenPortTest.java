package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
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
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stored tcp service whose port another process holds when the server starts: the API says it is not active and
 * why, the server keeps trying, and the service becomes active once the port is free.
 */
class TakenPortTest {

    @TempDir
    Path dataDir;

    private static PicoTunnelServer start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    private static PicoTunnelServer start(Path dataDir, Map<Setting, String> settings) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(OutputStream.nullOutputStream()));
    }

    private record StoredService(String tunnelId, String serviceId) {
    }

    /** Stores a tcp service listening on 127.0.0.1:{@code port}, in a server that is then stopped. */
    private StoredService storeTcpService(int port) {
        try (PicoTunnelServer server = start(dataDir); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = api.post("/api/tunnels", "{\"name\": \"ports\"}").json().get("id").asText();
            String serviceId = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\":"
                    + " \"127.0.0.1:" + port + "\", \"target_addr\": \"localhost:22\"}").json().get("id").asText();
            return new StoredService(tunnelId, serviceId);
        }
    }

    @Test
    void aServiceWhosePortIsTakenAtStartUpIsInactiveWithTheReasonAndBecomesActiveOnceThePortIsFree() throws Exception {
        int port = Ports.freePort();
        String tunnelId;
        String serviceId;
        try (PicoTunnelServer server = start(dataDir); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            tunnelId = api.post("/api/tunnels", "{\"name\": \"ports\"}").json().get("id").asText();
            JsonNode created = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\":"
                    + " \"127.0.0.1:" + port + "\", \"target_addr\": \"localhost:22\"}").json();
            serviceId = created.get("id").asText();
            assertThat(created.get("active").asBoolean()).isTrue();
            assertThat(created.get("error").isNull()).isTrue();
            JsonNode disabled = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\":"
                    + " \"127.0.0.1:" + Ports.freePort() + "\", \"target_addr\": \"localhost:23\", \"enabled\": false}").json();
            assertThat(disabled.get("active").asBoolean()).isFalse();
            assertThat(disabled.get("error").isNull()).as("disabled is no error").isTrue();
        }

        ServerSocket squatter = new ServerSocket(); // another process's listener on the port
        try {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            try (PicoTunnelServer server = start(dataDir); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
                JsonNode service = service(api, tunnelId, serviceId);
                assertThat(service.get("enabled").asBoolean()).isTrue();
                assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
                assertThat(service.get("error").asText()).startsWith("cannot listen on 127.0.0.1:" + port + ": ");

                squatter.close();
                await("the server binds the port once it is free").atMost(Duration.ofSeconds(30))
                        .until(() -> service(api, tunnelId, serviceId).get("active").asBoolean());
                assertThat(service(api, tunnelId, serviceId).get("error").isNull()).isTrue();
                assertThat(server.tcpServices().boundAddress(serviceId)).hasValueSatisfying(
                        address -> assertThat(address.getPort()).isEqualTo(port));
                try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    assertThat(visitor.isConnected()).isTrue();
                }
            }
        } finally {
            squatter.close();
        }
    }

    @Test
    void aServiceWaitingForItsPortThatIsDisabledStopsWaiting() throws Exception {
        int port = Ports.freePort();
        StoredService stored = storeTcpService(port);
        String tunnelId = stored.tunnelId();
        String serviceId = stored.serviceId();
        ServerSocket squatter = new ServerSocket(); // another process's listener on the port
        try {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            try (PicoTunnelServer server = start(dataDir); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
                assertThat(service(api, tunnelId, serviceId).get("active").asBoolean()).isFalse();
                JsonNode disabled = api.patch("/api/services/" + serviceId, "{\"enabled\": false}").json();
                assertThat(disabled.get("active").asBoolean()).isFalse();
                assertThat(disabled.get("error").isNull()).isTrue();
                squatter.close();
                assertThat(server.tcpServices().problem(serviceId)).isEmpty();
                await("no retry binds the port of the disabled service").during(TcpServices.DEFAULT_RETRY_INTERVAL.plusSeconds(1))
                        .atMost(TcpServices.DEFAULT_RETRY_INTERVAL.plusSeconds(10))
                        .until(() -> server.tcpServices().boundAddress(serviceId).isEmpty());
            }
        } finally {
            squatter.close();
        }
    }

    @Test
    void aStoredServiceOnAPortTheRangeNoLongerHoldsIsInactiveSayingWhy() throws Exception {
        int port = Ports.freePort();
        int other = port == 65535 ? port - 1 : port + 1;
        StoredService stored = storeTcpService(port);
        String tunnelId = stored.tunnelId();
        String serviceId = stored.serviceId();
        try (PicoTunnelServer server = start(dataDir, Map.of(Setting.TCP_PORTS, Integer.toString(other)));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            assertThat(server.tcpServices().boundAddress(serviceId)).isEmpty();
            JsonNode service = service(api, tunnelId, serviceId);
            assertThat(service.get("enabled").asBoolean()).isTrue();
            assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
            assertThat(service.get("error").asText()).isEqualTo("not listening: port " + port
                    + " is outside PICOTUNNEL_TCP_PORTS (" + other + "); change listen_addr to a port in it, or have"
                    + " the operator change the setting");
        }
    }

    @Test
    void aStoredServiceOnTheAddressOfTheServersOwnListenerDoesNotKeepTheServerFromStarting() throws Exception {
        int port = Ports.freePort();
        StoredService stored = storeTcpService(port);
        String tunnelId = stored.tunnelId();
        String serviceId = stored.serviceId();
        // The operator moves the HTTP proxy to that port: the proxy gets it, the service waits for a new address.
        try (PicoTunnelServer server = start(dataDir, Map.of(Setting.HTTP_ADDR, "127.0.0.1:" + port));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            assertThat(server.httpPort()).isEqualTo(port);
            assertThat(server.tcpServices().boundAddress(serviceId)).isEmpty();
            JsonNode service = service(api, tunnelId, serviceId);
            assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
            assertThat(service.get("error").asText()).isEqualTo("not listening: 127.0.0.1:" + port
                    + " is taken by the server itself (--http-addr 127.0.0.1:" + port + "); change listen_addr to"
                    + " another port");

            int other = Ports.freePort();
            JsonNode changed = api.patch("/api/services/" + serviceId, "{\"listen_addr\": \"127.0.0.1:" + other
                    + "\"}").json();
            assertThat(changed.get("active").asBoolean()).as("%s", changed).isTrue();
            assertThat(server.tcpServices().boundAddress(serviceId)).hasValueSatisfying(
                    address -> assertThat(address.getPort()).isEqualTo(other));
        }
    }

    @Test
    void aStoredServiceOnTheAddressTheServersOwnListenerNamesByAHostNameDoesNotKeepTheServerFromStarting() throws Exception {
        int port = Ports.freePort();
        StoredService stored = storeTcpService(port);
        String tunnelId = stored.tunnelId();
        String serviceId = stored.serviceId();
        try (PicoTunnelServer server = start(dataDir, Map.of(Setting.HTTP_ADDR, "localhost:" + port));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            assertThat(server.httpPort()).isEqualTo(port);
            assertThat(server.tcpServices().boundAddress(serviceId)).isEmpty();
            assertThat(service(api, tunnelId, serviceId).get("error").asText()).isEqualTo("not listening: 127.0.0.1:"
                    + port + " is taken by the server itself (--http-addr localhost:" + port + "); change listen_addr to"
                    + " another port");
            // Nor does the API take that address for a new service, enabled or not.
            assertThat(api.delete("/api/services/" + serviceId).status()).isEqualTo(204);
            ApiClient.Response refused = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\","
                    + " \"listen_addr\": \"127.0.0.1:" + port + "\", \"target_addr\": \"localhost:22\", \"enabled\": false}");
            assertThat(refused.status()).as("%s", refused).isEqualTo(409);
            assertThat(refused.json().get("message").asText()).contains("taken by the server itself (--http-addr)");
        }
    }

    @Test
    void aStoredServiceWhoseAddressTheSettingsNoLongerAllowCanStillBeEditedKeepingIt() throws Exception {
        int outside = Ports.freePort();
        int proxyPort = Ports.freePort();
        String tunnelId;
        String outsideId;
        String overlappingId;
        try (PicoTunnelServer server = start(dataDir); ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            tunnelId = api.post("/api/tunnels", "{\"name\": \"ports\"}").json().get("id").asText();
            outsideId = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\":"
                    + " \"127.0.0.1:" + outside + "\", \"target_addr\": \"localhost:22\"}").json().get("id").asText();
            overlappingId = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"tcp\", \"listen_addr\":"
                    + " \"127.0.0.1:" + proxyPort + "\", \"target_addr\": \"localhost:22\"}").json().get("id").asText();
        }
        try (PicoTunnelServer server = start(dataDir, Map.of(Setting.TCP_PORTS, Integer.toString(proxyPort),
                Setting.HTTP_ADDR, "127.0.0.1:" + proxyPort));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            ApiClient.Response disabled = api.patch("/api/services/" + outsideId, "{\"enabled\": false}");
            assertThat(disabled.status()).as("%s", disabled).isEqualTo(200);
            assertThat(disabled.json().get("enabled").asBoolean()).isFalse();
            ApiClient.Response resent = api.patch("/api/services/" + outsideId, "{\"listen_addr\": \"127.0.0.1:" + outside
                    + "\", \"target_addr\": \"localhost:23\"}");
            assertThat(resent.status()).as("the UI sends the address back with every change: %s", resent).isEqualTo(200);

            ApiClient.Response retargeted = api.patch("/api/services/" + overlappingId, "{\"target_addr\": \"localhost:23\"}");
            assertThat(retargeted.status()).as("%s", retargeted).isEqualTo(200);
            assertThat(retargeted.json().get("active").asBoolean()).isFalse();
            assertThat(server.tcpServices().boundAddress(overlappingId)).isEmpty();

            // A new address must still be one the settings allow.
            assertThat(api.patch("/api/services/" + outsideId, "{\"listen_addr\": \"127.0.0.2:" + outside + "\"}")
                    .status()).isEqualTo(400);
            assertThat(api.patch("/api/services/" + overlappingId, "{\"listen_addr\": \":" + proxyPort + "\"}")
                    .status()).isEqualTo(409);
        }
    }

    private static JsonNode service(ApiClient api, String tunnelId, String serviceId) {
        for (JsonNode service : api.get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service;
            }
        }
        throw new AssertionError("no service " + serviceId);
    }
}
