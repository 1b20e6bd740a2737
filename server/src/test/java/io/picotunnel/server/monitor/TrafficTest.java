package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.RecordingListener;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.CommitFaults;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Traffic figures of tunnels and services equal what went through them, and survive a restart. */
class TrafficTest {

    private static final int TCP_BYTES = 300_000;
    private static final int UPLOAD = 1_000;
    private static final int DOWNLOAD = 2_345;

    @TempDir
    Path dataDir;

    @Test
    void countersEqualTheBytesSentThroughATcpAndAnHttpServiceAndSurviveARestart() throws Exception {
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            if (exchange.getRequestURI().getPath().equals("/upload")) {
                exchange.sendResponseHeaders(200, DOWNLOAD);
                exchange.getResponseBody().write(new byte[DOWNLOAD]);
            } else {
                exchange.sendResponseHeaders(404, -1);
            }
            exchange.close();
        });
        web.start();
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("traffic");
            TcpServicePorts.Created tcp = testbed.createTcpServiceOnFreePort(id, echo.address());
            int tcpPort = tcp.port();
            String tcpId = tcp.id();
            String httpId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"traffic.example.test\","
                    + "\"target_addr\":\"127.0.0.1:" + web.getAddress().getPort() + "\"}").get("id").asText();

            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                socket.getOutputStream().write(new byte[TCP_BYTES]);
                assertThat(socket.getInputStream().readNBytes(TCP_BYTES)).hasSize(TCP_BYTES);
                await().atMost(10, TimeUnit.SECONDS).until(() ->
                        service(testbed, id, tcpId).get("active_connections").asLong() == 1);
            }
            String upload = request(testbed.server().httpPort(), "POST /upload HTTP/1.1\r\nHost: traffic.example.test\r\n"
                    + "Content-Length: " + UPLOAD + "\r\nConnection: close\r\n\r\n", new byte[UPLOAD]);
            assertThat(upload).startsWith("HTTP/1.1 200");
            String missing = request(testbed.server().httpPort(), "GET /missing HTTP/1.1\r\nHost: traffic.example.test\r\n"
                    + "Connection: close\r\n\r\n", new byte[0]);
            assertThat(missing).startsWith("HTTP/1.1 404");

            await().atMost(10, TimeUnit.SECONDS).until(() -> service(testbed, id, tcpId).get("active_connections").asLong() == 0
                    && service(testbed, id, httpId).get("active_connections").asLong() == 0);
            assertFigures(testbed, id, tcpId, httpId);

            testbed.restart();

            assertFigures(testbed, id, tcpId, httpId);
        } finally {
            web.stop(0);
        }
    }

    /**
     * A passthrough service's visitors went uncounted: its bytes, connections and those of its tunnel stayed at 0 in
     * the API, the UI and /metrics however much went through it.
     */
    @Test
    void countersOfAPassthroughServiceEqualTheBytesSentThroughItAndSurviveARestart() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("passthrough");
            String domain = "pass.example.test";
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"" + domain + "\","
                    + "\"tls_mode\":\"passthrough\",\"target_addr\":\"" + echo.address() + "\"}").get("id").asText();
            byte[] hello = ClientHellos.record(domain);

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpsPort())) {
                visitor.setSoTimeout(20_000);
                visitor.getOutputStream().write(hello);
                visitor.getOutputStream().write(new byte[TCP_BYTES]);
                // The target (an echo: the proxy does not look past the ClientHello) answers every byte.
                assertThat(visitor.getInputStream().readNBytes(hello.length + TCP_BYTES)).hasSize(hello.length + TCP_BYTES);
                await().atMost(10, TimeUnit.SECONDS).until(() ->
                        service(testbed, id, serviceId).get("active_connections").asLong() == 1);
            }
            await().atMost(10, TimeUnit.SECONDS).until(() ->
                    service(testbed, id, serviceId).get("active_connections").asLong() == 0);

            for (int round = 0; round < 2; round++) {
                JsonNode service = service(testbed, id, serviceId);
                assertThat(service.get("bytes_in").asLong()).as("%s", service).isEqualTo(hello.length + TCP_BYTES);
                assertThat(service.get("bytes_out").asLong()).as("%s", service).isEqualTo(hello.length + TCP_BYTES);
                assertThat(service.get("total_connections").asLong()).as("%s", service).isEqualTo(1);
                assertThat(service.get("requests").isNull()).as("no requests to count: %s", service).isTrue();
                assertThat(testbed.api().get("/metrics").raw().body()).contains("picotunnel_tcp_connections_total{service=\""
                        + serviceId + "\",tunnel=\"" + id + "\",type=\"http\"} 1.0").doesNotContain(
                        "picotunnel_http_requests_total{service=\"" + serviceId);
                JsonNode tunnel = testbed.api().get("/api/tunnels/" + id).json();
                assertThat(tunnel.get("bytes_in").asLong()).as("%s", tunnel).isEqualTo(hello.length + TCP_BYTES);
                assertThat(tunnel.get("total_connections").asLong()).as("%s", tunnel).isEqualTo(1);
                testbed.restart();
            }
        }
    }

    /**
     * The metrics of a service were chosen once, when its counters were made: a service created terminating TLS and
     * switched to passthrough kept its http request series and never got picotunnel_tcp_connections_total (nor
     * the refusal counts) for the connections it then relayed, until the server restarted; and back.
     */
    @Test
    void aServiceSwitchedToPassthroughAndBackHasTheMetricsOfWhatItDoesNow() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("switched");
            String domain = "switch.example.test";
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"" + domain + "\","
                    + "\"target_addr\":\"" + echo.address() + "\"}").get("id").asText();
            String series = "{service=\"" + serviceId + "\",tunnel=\"" + id + "\",type=\"http\"";
            String requests = "picotunnel_http_requests_total{service=\"" + serviceId + "\",status=";
            assertThat(service(testbed, id, serviceId).get("requests").isNull()).isFalse();
            assertThat(testbed.api().get("/metrics").raw().body()).contains(requests);

            ApiClient.Response patched = testbed.api().patch("/api/services/" + serviceId, "{\"tls_mode\":\"passthrough\"}");
            assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
            byte[] hello = ClientHellos.record(domain);
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpsPort())) {
                visitor.setSoTimeout(20_000);
                visitor.getOutputStream().write(hello);
                assertThat(visitor.getInputStream().readNBytes(hello.length)).hasSize(hello.length);
            }
            await().atMost(10, TimeUnit.SECONDS).until(() ->
                    service(testbed, id, serviceId).get("active_connections").asLong() == 0);

            String metrics = testbed.api().get("/metrics").raw().body();
            assertThat(metrics).contains("picotunnel_tcp_connections_total" + series + "} 1.0")
                    .contains("picotunnel_connections_refused_total{reason=\"ip_rules\"," + series.substring(1))
                    .doesNotContain(requests)
                    .doesNotContain("picotunnel_http_request_duration_seconds_count" + series)
                    .doesNotContain("picotunnel_http_upstream_streams_opened_total" + series)
                    .doesNotContain("picotunnel_http_upstream_streams_reused_total" + series);

            patched = testbed.api().patch("/api/services/" + serviceId, "{\"tls_mode\":\"terminate\"}");
            assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
            assertThat(service(testbed, id, serviceId).get("requests").isNull()).isFalse();
            assertThat(testbed.api().get("/metrics").raw().body()).contains(requests)
                    .contains("picotunnel_http_upstream_streams_opened_total" + series)
                    .doesNotContain("picotunnel_tcp_connections_total" + series);
        }
    }

    /**
     * /metrics learnt of a service only when it had a request or was shown by the API (the PATCH's own answer shows it,
     * so a switch through the API showed at once, but only because of that): after a restart a service switched back
     * from passthrough to terminating TLS had no series at all until its first request, and a deleted service's series
     * stayed until the next round of checks (an hour here).
     */
    @Test
    void aServiceSwitchedBackToTerminateHasTheHttpSeriesFromThePatchOnAndNoneOnceDeleted() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("back");
            String serviceId = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"back.example.test\","
                    + "\"tls_mode\":\"passthrough\",\"target_addr\":\"" + echo.address() + "\"}").get("id").asText();
            String series = "{service=\"" + serviceId + "\",tunnel=\"" + id + "\",type=\"http\"";
            String requests = "picotunnel_http_requests_total{service=\"" + serviceId + "\",status=";
            String connections = "picotunnel_tcp_connections_total" + series + "}";
            assertThat(testbed.api().get("/metrics").raw().body()).contains(connections).doesNotContain(requests);

            ApiClient.Response patched = testbed.api().patch("/api/services/" + serviceId, "{\"tls_mode\":\"terminate\"}");
            assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
            assertThat(testbed.api().get("/metrics").raw().body()).as("right after the PATCH, before any request")
                    .contains(requests).doesNotContain(connections);

            testbed.restart();
            assertThat(testbed.api().get("/metrics").raw().body()).as("after a restart, before any request")
                    .contains(requests).contains("picotunnel_service_bytes_in_total" + series + "}")
                    .doesNotContain(connections);

            ApiClient.Response deleted = testbed.api().delete("/api/services/" + serviceId);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            assertThat(testbed.api().get("/metrics").raw().body()).as("right after the DELETE")
                    .doesNotContain("service=\"" + serviceId + "\"");
        }
    }

    /**
     * A deleted tunnel's counters were never dropped: its picotunnel_tunnel_* series stayed in /metrics until the next
     * round of checks (an hour here) and its counters in memory until the restart; a read of the tunnel racing its
     * delete made them again, meters and all.
     */
    @Test
    void aDeletedTunnelsSeriesGoRightAfterTheDeleteAndALaterLookUpDoesNotBringThemBack() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("deleted");
            TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(id, echo.address());
            int tcpPort = created.port();
            String serviceId = created.id();
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write(new byte[UPLOAD]);
                assertThat(socket.getInputStream().readNBytes(UPLOAD)).hasSize(UPLOAD);
            }
            String tunnelBytes = "picotunnel_tunnel_bytes_in_total{tunnel=\"" + id + "\"} " + UPLOAD + ".0";
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/metrics").raw().body().contains(tunnelBytes));

            ApiClient.Response deleted = testbed.api().delete("/api/tunnels/" + id);
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(204);
            assertThat(testbed.api().get("/metrics").raw().body()).as("right after the DELETE")
                    .doesNotContain("tunnel=\"" + id + "\"").doesNotContain(serviceId);

            // As a read of the tunnel that began before the DELETE does once it is through.
            assertThat(testbed.server().traffic().tunnel(id).bytesIn()).isZero();
            assertThat(testbed.api().get("/metrics").raw().body()).as("after a look-up of the deleted tunnel")
                    .doesNotContain("tunnel=\"" + id + "\"");
        }
    }

    /**
     * A delete the store undoes (a later listener refused it) gives the service its counters back, and the tcp
     * listener bound again on the undo counts in them, not in counters of its own that nothing shows.
     */
    @Test
    void aServiceWhoseDeleteIsRefusedKeepsItsCountersAndCountsInThem() throws Exception {
        RecordingListener refusing = new RecordingListener();
        refusing.refuse(RecordingListener.Change::isDelete, "cannot let it go");
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir,
                Map.of(Setting.CHECK_INTERVAL, "1h")), new PrintStream(OutputStream.nullOutputStream()), refusing);
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            ApiClient.Response tunnel = api.post("/api/tunnels", "{\"name\":\"kept\"}");
            assertThat(tunnel.status()).as(tunnel.toString()).isEqualTo(201);
            String id = tunnel.json().get("id").asText();
            TcpServicePorts.Created created = TcpServicePorts.create(api, id, port -> "{\"type\":\"tcp\","
                    + "\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"127.0.0.1:9\",\"ip_deny\":[\"127.0.0.1\"]}");
            int port = created.port();
            String refused = "picotunnel_connections_refused_total{reason=\"ip_rules\",service=\""
                    + created.id() + "\",tunnel=\"" + id + "\",type=\"tcp\"} ";

            refusedConnection(port);
            await().atMost(10, TimeUnit.SECONDS).until(() -> api.get("/metrics").raw().body().contains(refused + "1.0"));

            ApiClient.Response deleted = api.delete("/api/services/" + created.id());
            assertThat(deleted.status()).as(deleted.toString()).isEqualTo(409);
            assertThat(api.get("/metrics").raw().body()).contains(refused + "1.0");

            refusedConnection(port);
            await().atMost(10, TimeUnit.SECONDS).until(() -> api.get("/metrics").raw().body().contains(refused + "2.0"));
        }
    }

    /**
     * A delete or disable whose commit fails (CommitFaults) leaves a service its figures: a connection open across the
     * undone changes counts every byte in what the API shows after them, and what it shows is what is saved.
     */
    @Test
    void anUndoneDeleteOrDisableKeepsTheServicesFiguresAndAnOpenConnectionCountsInThem() throws Exception {
        try (EchoServer echo = new EchoServer();
             Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"))) {
            String id = testbed.createConnectedTunnel("undone");
            TcpServicePorts.Created tcp = testbed.createTcpServiceOnFreePort(id, echo.address());
            CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services", "AFTER UPDATE ON services");
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tcp.port())) {
                visitor.setSoTimeout(20_000);
                echoes(visitor);
                await().atMost(10, TimeUnit.SECONDS).until(() -> service(testbed, id, tcp.id()).get("bytes_out").asLong() == UPLOAD);
                ApiClient.Response deleted = testbed.api().delete("/api/services/" + tcp.id());
                assertThat(deleted.status()).as(deleted.toString()).isEqualTo(500);
                echoes(visitor);
                ApiClient.Response disabled = testbed.api().patch("/api/services/" + tcp.id(), "{\"enabled\": false}");
                assertThat(disabled.status()).as(disabled.toString()).isEqualTo(500);
                echoes(visitor);
                testbed.server().traffic().flush(); // as the flusher may between the undone changes and the next
            }
            await().atMost(10, TimeUnit.SECONDS).until(() -> service(testbed, id, tcp.id()).get("active_connections").asLong() == 0);
            for (int round = 0; round < 2; round++) {
                JsonNode service = service(testbed, id, tcp.id());
                assertThat(service.get("bytes_in").asLong()).as("%s", service).isEqualTo(3 * UPLOAD);
                assertThat(service.get("bytes_out").asLong()).as("%s", service).isEqualTo(3 * UPLOAD);
                assertThat(service.get("total_connections").asLong()).as("%s", service).isEqualTo(1);
                assertThat(testbed.api().get("/metrics").raw().body()).contains("picotunnel_service_bytes_in_total{service=\""
                        + tcp.id() + "\",tunnel=\"" + id + "\",type=\"tcp\"} " + 3 * UPLOAD + ".0");
                testbed.restart();
            }
        }
    }

    private static void echoes(Socket visitor) throws IOException {
        visitor.getOutputStream().write(new byte[UPLOAD]);
        assertThat(visitor.getInputStream().readNBytes(UPLOAD)).hasSize(UPLOAD);
    }

    /** A connection the service's ip rules refuse: closed without a byte. */
    private static void refusedConnection(int port) throws IOException {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            visitor.setSoTimeout(10_000);
            assertThat(visitor.getInputStream().read()).isEqualTo(-1);
        } catch (SocketException reset) {
            // closed with a reset: refused all the same
        }
    }

    private static void assertFigures(Testbed testbed, String tunnelId, String tcpId, String httpId) {
        JsonNode tcp = service(testbed, tunnelId, tcpId);
        assertThat(tcp.get("bytes_in").asLong()).as("%s", tcp).isEqualTo(TCP_BYTES);
        assertThat(tcp.get("bytes_out").asLong()).isEqualTo(TCP_BYTES);
        assertThat(tcp.get("total_connections").asLong()).isEqualTo(1);
        assertThat(tcp.get("active_connections").asLong()).isZero();
        assertThat(tcp.get("requests").isNull()).isTrue();
        JsonNode http = service(testbed, tunnelId, httpId);
        assertThat(http.get("bytes_in").asLong()).as("%s", http).isEqualTo(UPLOAD);
        assertThat(http.get("bytes_out").asLong()).isEqualTo(DOWNLOAD);
        assertThat(http.get("total_connections").asLong()).isEqualTo(2);
        assertThat(http.get("requests").get("2xx").asLong()).isEqualTo(1);
        assertThat(http.get("requests").get("4xx").asLong()).isEqualTo(1);
        assertThat(http.get("requests").get("5xx").asLong()).isZero();
        JsonNode tunnel = testbed.api().get("/api/tunnels/" + tunnelId).json();
        assertThat(tunnel.get("bytes_in").asLong()).as("%s", tunnel).isEqualTo(TCP_BYTES + UPLOAD);
        assertThat(tunnel.get("bytes_out").asLong()).isEqualTo(TCP_BYTES + DOWNLOAD);
        assertThat(tunnel.get("total_connections").asLong()).isEqualTo(3);
        assertThat(tunnel.get("requests").get("2xx").asLong()).isEqualTo(1);
    }

    private static JsonNode service(Testbed testbed, String tunnelId, String serviceId) {
        for (JsonNode service : testbed.api().get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service;
            }
        }
        throw new AssertionError("no service " + serviceId);
    }

    /** One HTTP/1.1 exchange on a raw socket (the Host header is ours to choose); the whole answer as text. */
    private static String request(int port, String head, byte[] body) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            in.transferTo(answer);
            byte[] bytes = answer.toByteArray();
            return new String(Arrays.copyOf(bytes, Math.min(bytes.length, 200)), StandardCharsets.ISO_8859_1);
        }
    }
}
