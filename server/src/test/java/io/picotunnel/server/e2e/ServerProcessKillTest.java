package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.ServerMain;
import io.picotunnel.testkit.KernelSocket;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SocketEnding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.picotunnel.testkit.SocketEnding.readToEndOrReset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server process itself is SIGKILLed in the middle of a transfer: the kernel closes its sockets, and a visitor of
 * a tcp service, or of an HTTP/1.0 answer delimited by the close, reads a reset, never the clean EOF a FIN would look
 * like. Server and client each a process of its own.
 */
class ServerProcessKillTest {

    private static final String ADMIN_TOKEN = "k".repeat(64);
    private static final long MiB = 1024 * 1024;
    /** Far more than every buffer on the path holds: a visitor that stops reading is really mid-transfer. */
    private static final long SIZE = 256 * MiB;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private Process server;
    private ClientProcess client;
    private FaultTarget target;
    private int apiPort;
    private int tunnelPort;
    private int httpPort;
    private String tunnelToken;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        if (target != null) {
            target.close();
        }
        http.close();
    }

    @Test
    void tcpDownloadIsResetWhenTheServerProcessIsKilled() throws Exception {
        String tunnelId = startServerAndTunnel();
        target = FaultTarget.download(SIZE);
        int servicePort = Ports.freePort();
        post("/api/tunnels/" + tunnelId + "/services", "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + servicePort
                + "\",\"target_addr\":\"" + target.address() + "\",\"enabled\":true}");
        connectClient(tunnelId);

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            visitor.setSoTimeout(60_000);
            downloadIsCutByAResetWhenTheServerIsKilled(visitor.getInputStream());
        }
    }

    /**
     * An answer the server writes itself and ends by closing the connection (an HTTP/1.0 visitor, a target's answer
     * without Content-Length): the close is its only end marker, so the death of the server must not end it with a FIN.
     */
    @Test
    void http10DownloadDelimitedByCloseIsResetWhenTheServerProcessIsKilled() throws Exception {
        String tunnelId = startServerAndTunnel();
        target = FaultTarget.http();
        post("/api/tunnels/" + tunnelId + "/services", "{\"type\":\"http\",\"domain\":\"dl.test\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"" + target.address() + "\"}");
        connectClient(tunnelId);

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), httpPort)) {
            visitor.setSoTimeout(60_000);
            OutputStream out = visitor.getOutputStream();
            out.write(("GET /close/" + SIZE + " HTTP/1.0\r\nHost: dl.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKeys("content-length",
                    "transfer-encoding");
            downloadIsCutByAResetWhenTheServerIsKilled(in);
        }
    }

    /**
     * The other side of the reset above: once the proxy has marked the end of such an answer (shut its output after
     * the last byte, the lingering close) a death must not discard what the kernel still holds of it. The visitor
     * reads nothing until the server is killed in that moment (its socket in FIN_WAIT1, bytes unacknowledged, still
     * the process's), then gets the whole answer and a clean end.
     */
    @Test
    void http10AnswerWhoseEndWasMarkedArrivesWholeThoughTheServerProcessIsKilledBeforeTheVisitorRead() throws Exception {
        long size = 2 * MiB;
        String tunnelId = startServerAndTunnel();
        target = FaultTarget.http();
        post("/api/tunnels/" + tunnelId + "/services", "{\"type\":\"http\",\"domain\":\"dl.test\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"" + target.address() + "\"}");
        connectClient(tunnelId);

        try (Socket visitor = new Socket()) {
            visitor.setReceiveBufferSize(64 * 1024);
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), httpPort));
            visitor.setSoTimeout(60_000);
            OutputStream out = visitor.getOutputStream();
            out.write(("GET /close/" + size + " HTTP/1.0\r\nHost: dl.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // The lingering close keeps the socket at most 5 s after the end is marked: looked at every 10 ms.
            AtomicReference<KernelSocket> marked = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10)).until(() -> {
                KernelSocket end = KernelSocket.find(httpPort, visitor.getLocalPort());
                marked.set(end);
                return end != null && end.state() == KernelSocket.FIN_WAIT1 && end.inode() != 0;
            });
            assertThat(marked.get().queued()).as("bytes of the answer unacknowledged").isPositive();

            server.destroyForcibly(); // SIGKILL
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();

            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").doesNotContainKeys("content-length",
                    "transfer-encoding");
            FaultTarget.PatternRead body = FaultTarget.readPattern(in);
            assertThat(body.how() + " after " + body.bytes()).isEqualTo("eof after " + size);
            assertThat(body.firstWrong()).as("first byte not the target's").isEqualTo(-1);
        }
    }

    /** Reads the first MiB of a download the target is still sending, then kills the server: the rest is a reset. */
    private void downloadIsCutByAResetWhenTheServerIsKilled(InputStream in) throws Exception {
        assertThat(in.readNBytes((int) MiB)).hasSize((int) MiB);
        assertThat(target.written()).as("target still sending").isLessThan(SIZE);

        server.destroyForcibly(); // SIGKILL
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();

        SocketEnding end = readToEndOrReset(in);
        assertThat(end.how()).isEqualTo("reset: Connection reset");
        assertThat(MiB + end.bytes()).isLessThan(SIZE);
    }

    /** Starts the server process and creates a tunnel; answers its id. */
    private String startServerAndTunnel() throws Exception {
        apiPort = Ports.freePort();
        tunnelPort = Ports.freePort();
        httpPort = Ports.freePort();
        server = startServer(Files.createDirectories(dir.resolve("data")), tunnelPort);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/health")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        JsonNode tunnel = post("/api/tunnels", "{\"name\":\"killed\"}");
        tunnelToken = tunnel.get("token").asText();
        return tunnel.get("id").asText();
    }

    /** Starts the client process for the tunnel and waits until it is connected. */
    private void connectClient(String tunnelId) throws Exception {
        client = ClientProcess.start(tunnelPort, tunnelToken, dir.resolve("client.log"));
        client.awaitConnected(() -> get("/api/tunnels/" + tunnelId).get("connected").asBoolean());
    }

    private Process startServer(Path dataDir, int tunnelPort) throws IOException {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(),
                "--data", dataDir.toString(), "--listen-addr", "127.0.0.1:" + apiPort,
                "--tunnel-addr", "127.0.0.1:" + tunnelPort, "--http-addr", "127.0.0.1:" + httpPort, "--https-addr", "127.0.0.1:0")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("server.log").toFile());
        builder.environment().put("PICOTUNNEL_ADMIN_TOKEN", ADMIN_TOKEN);
        return builder.start();
    }

    private JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> answer = http.send(request(path)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
        return json.readTree(answer.body());
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> answer = http.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return json.readTree(answer.body());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + ADMIN_TOKEN);
    }
}
