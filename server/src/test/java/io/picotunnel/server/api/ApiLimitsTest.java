package io.picotunnel.server.api;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.VisitorSockets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 10 on the management API: tunnel, service and tcp port limits, and its connection limits and header deadline.
 */
class ApiLimitsTest {

    private static final byte[] HEALTH =
            "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private ApiClient api;

    private void start(Map<Setting, String> settings) {
        server = ApiTestServer.start(dataDir, settings);
        api = new ApiClient(server.apiPort(), server.adminToken());
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    private String tunnel(String name) {
        ApiClient.Response created = api.post("/api/tunnels", "{\"name\": \"" + name + "\"}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        return created.json().get("id").asText();
    }

    private ApiClient.Response tcpService(String tunnelId, String listen) {
        return api.post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\": \"tcp\", \"listen_addr\": \"" + listen + "\", \"target_addr\": \"localhost:22\"}");
    }

    @Test
    void tcpServiceOnAPortOutsideTheAllowedRangesGets400() {
        start(Map.of());
        String id = tunnel("ssh");
        ApiClient.Response privileged = tcpService(id, "127.0.0.1:22");
        assertThat(privileged.status()).isEqualTo(400);
        assertThat(privileged.json().get("error").asText()).isEqualTo("invalid_field");
        assertThat(privileged.json().get("field").asText()).isEqualTo("listen_addr");
        assertThat(privileged.json().get("message").asText()).contains("port 22", "1024-65535", "PICOTUNNEL_TCP_PORTS");
        api.delete("/api/tunnels/" + id);
        server.stop();
        api.close();

        start(Map.of(Setting.TCP_PORTS, "20100-20110, 3306"));
        String other = tunnel("db");
        assertThat(tcpService(other, "127.0.0.1:20111").status()).isEqualTo(400);
        assertThat(tcpService(other, "127.0.0.1:2222").status()).isEqualTo(400);
        assertThat(tcpService(other, "127.0.0.1:20105").status()).isEqualTo(201);
        String service = tcpService(other, "127.0.0.1:20106").json().get("id").asText();
        ApiClient.Response moved = api.patch("/api/services/" + service, "{\"listen_addr\": \"127.0.0.1:1023\"}");
        assertThat(moved.status()).as("a change is checked too").isEqualTo(400);
        assertThat(api.get("/api/tunnels/" + other + "/services").json()).hasSize(2);
    }

    @Test
    void storedTcpServiceOnAPortNoLongerAllowedIsNotPublishedAfterARestart() throws Exception {
        int allowed = Ports.freePort();
        int disallowed = Ports.freePort();
        start(Map.of());
        String id = tunnel("db");
        assertThat(tcpService(id, "127.0.0.1:" + allowed).status()).isEqualTo(201);
        assertThat(tcpService(id, "127.0.0.1:" + disallowed).status()).isEqualTo(201);
        assertThat(listening(disallowed)).isTrue();
        server.stop();
        api.close();

        start(Map.of(Setting.TCP_PORTS, Integer.toString(allowed)));
        assertThat(api.get("/api/tunnels/" + id + "/services").json()).as("still stored").hasSize(2);
        assertThat(listening(allowed)).isTrue();
        assertThat(listening(disallowed)).as("not published").isFalse();
    }

    private static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void tunnelsAndServicesBeyondTheLimitsGet429WithAJsonError() {
        start(Map.of(Setting.MAX_TUNNELS, "2", Setting.MAX_SERVICES, "1"));
        String first = tunnel("one");
        tunnel("two");
        ApiClient.Response third = api.post("/api/tunnels", "{\"name\": \"three\"}");
        assertThat(third.status()).isEqualTo(429);
        assertThat(third.header("Content-Type")).startsWith("application/json");
        assertThat(third.json().get("error").asText()).isEqualTo("limit_reached");
        assertThat(third.json().get("message").asText()).contains("2 tunnels", "PICOTUNNEL_MAX_TUNNELS");

        assertThat(tcpService(first, "127.0.0.1:20200").status()).isEqualTo(201);
        ApiClient.Response second = tcpService(first, "127.0.0.1:20201");
        assertThat(second.status()).isEqualTo(429);
        assertThat(second.json().get("message").asText()).contains("1 services", "PICOTUNNEL_MAX_SERVICES");

        assertThat(api.delete("/api/tunnels/" + first).status()).isEqualTo(204);
        tunnel("three");
        assertThat(api.get("/api/tunnels").json()).hasSize(2);
    }

    @Test
    void connectionsThatSendNoWholeHeadInTimeAreClosed() throws Exception {
        start(Map.of(Setting.HEADER_TIMEOUT, "1s"));
        try (Socket slow = connect("127.0.0.2")) {
            slow.getOutputStream().write("GET /health HTTP/1.1\r\nHost: loc".getBytes(StandardCharsets.US_ASCII));
            assertThat(closedWithin15s(slow)).as("a head cut short is closed").isTrue();
        }
        try (Socket kept = connect("127.0.0.2")) {
            kept.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = readUntil(kept.getInputStream(), "\"status\":\"ok\"");
            assertThat(answer).startsWith("HTTP/1.1 200");
            assertThat(closedWithin15s(kept)).as("idle after its request, no next head: closed").isTrue();
        }
    }

    @Test
    void connectionsOverThePerAddressLimitAreClosedWhileOtherAddressesAreServed() throws Exception {
        start(Map.of(Setting.MAX_CONNECTIONS_PER_ADDRESS, "3"));
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                held.add(servedHealth(connect("127.0.0.3")));
            }
            try (Socket fourth = connect("127.0.0.3")) {
                assertThat(refused(fourth)).as("over the per-address limit").isTrue();
            }
            assertThat(api.get("/health").status()).as("other addresses are served").isEqualTo(200);
        } finally {
            for (Socket socket : held) {
                socket.close();
            }
        }
    }

    @Test
    void connectionsFromATrustedProxyCountInTheTotalOnly() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.2/32", Setting.MAX_CONNECTIONS, "8",
                Setting.MAX_CONNECTIONS_PER_ADDRESS, "2"));
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                held.add(servedHealth(connect("127.0.0.2")));
            }
            held.add(servedHealth(connect("127.0.0.3")));
            held.add(servedHealth(connect("127.0.0.3")));
            try (Socket third = connect("127.0.0.3")) {
                assertThat(refused(third)).as("a third connection from an untrusted address").isTrue();
            }
            held.add(servedHealth(connect("127.0.0.2")));
            try (Socket ninth = connect("127.0.0.2")) {
                assertThat(refused(ninth)).as("over the total, from the trusted proxy too").isTrue();
            }
        } finally {
            for (Socket socket : held) {
                socket.close();
            }
        }
    }

    /**
     * Asks {@code socket} for {@code /health} and reads the answer; the socket stays open, unless that fails: it is
     * closed then, a test's {@code held.add(servedHealth(connect(...)))} having not listed it yet.
     */
    private static Socket servedHealth(Socket socket) throws IOException {
        try {
            socket.getOutputStream().write(HEALTH);
            assertThat(readUntil(socket.getInputStream(), "\"status\":\"ok\"")).startsWith("HTTP/1.1 200");
            return socket;
        } catch (IOException | RuntimeException | Error e) {
            socket.close();
            throw e;
        }
    }

    /**
     * True when the server closes {@code socket} (EOF or reset) without a byte of answer to a request for
     * {@code /health}: refused as it opened. An answer of any kind, even an error before a close, is false.
     */
    private static boolean refused(Socket socket) throws IOException {
        return VisitorSockets.closedUnanswered(socket, HEALTH);
    }

    private Socket connect(String from) throws IOException {
        return VisitorSockets.connectFrom(from, server.apiPort(), Duration.ofSeconds(15));
    }

    /** True when the server closed (EOF or reset) before a 15 s read timeout; data read first is skipped. */
    private static boolean closedWithin15s(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        try {
            for (int i = 0; i < 1_000_000; i++) {
                if (in.read() == -1) {
                    return true;
                }
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static String readUntil(InputStream in, String marker) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 100_000 && text.indexOf(marker) < 0; i++) {
            int c = in.read();
            if (c == -1) {
                break;
            }
            text.append((char) c);
        }
        return text.toString();
    }
}
