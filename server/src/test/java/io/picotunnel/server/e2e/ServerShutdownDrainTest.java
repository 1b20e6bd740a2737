package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.server.SqliteTempFiles;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The server as a real process stopped with SIGTERM: it takes no new visitors or clients, lets the streams in
 * flight finish within {@code PICOTUNNEL_SHUTDOWN_GRACE}, and resets those still open when it is over.
 */
class ServerShutdownDrainTest {

    private static final String ADMIN_TOKEN = "drain-test-admin-token-0123456789";
    private static final Pattern API_PORT = Pattern.compile("management API on http://127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern TUNNEL_PORT = Pattern.compile("Tunnel endpoint on ws://127\\.0\\.0\\.1:(\\d+)/tunnel");
    private static final int CHUNK = 64 * 1024;

    @TempDir
    Path dataDir;
    /** The server process's temporary directory for sqlite-jdbc, which extracts its native library there. */
    @TempDir
    Path sqliteTemp;

    private Process server;
    private final List<String> serverOutput = new CopyOnWriteArrayList<>();
    private Thread outputReader;
    private TunnelClient client;
    private TunnelClient idleClient;
    private PacedTarget target;
    private int apiPort;
    private int tunnelPort;

    @AfterEach
    void tearDown() throws Exception {
        for (TunnelClient c : new TunnelClient[] {client, idleClient}) {
            if (c != null) {
                c.stop(Duration.ZERO).get(20, TimeUnit.SECONDS);
            }
        }
        if (server != null) {
            server.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void sigtermLetsADownloadInFlightCompleteWithinTheGracePeriod() throws Exception {
        int chunks = 96; // 6 MiB at 64 KiB per 30 ms: about 3 s
        target = new PacedTarget(chunks, 30);
        int visitorPort = startServerWithTcpService("60s");

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), visitorPort)) {
            visitor.setSoTimeout(30_000);
            InputStream in = visitor.getInputStream();
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[CHUNK];
            long received = readAtLeast(in, CHUNK, digest, buffer);

            long sigterm = System.nanoTime();
            server.toHandle().destroy(); // SIGTERM (Process.destroy() would also close its output pipe)
            await("the tcp service takes no new visitors").atMost(Duration.ofSeconds(10))
                    .until(() -> Ports.refuses(visitorPort));
            try (ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
                ApiClient.Response info = api.get("/api/server");
                assertThat(info.status()).as("GET /api/server while the server drains: %s; server output:\n%s", info,
                        String.join("\n", serverOutput)).isEqualTo(200);
                assertThat(info.json().get("https_port").asInt()).isPositive();
            }

            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
                received += n;
            }
            visitor.shutdownOutput(); // the connection ends when both sides are done with it
            assertThat(received).as("every byte of the download").isEqualTo((long) chunks * CHUNK);
            assertThat(digest.digest()).isEqualTo(PacedTarget.expectedDigest(chunks));
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).as("the server exits once the stream ended").isTrue();
            outputReader.join(10_000);
            assertThat(Duration.ofNanos(System.nanoTime() - sigterm))
                    .as("it did not wait out the 60 s grace period").isLessThan(Duration.ofSeconds(30));
        }
        assertThat(String.join("\n", serverOutput)).containsPattern("draining: [1-9][0-9]* open stream\\(s\\)");
    }

    @Test
    void streamsStillOpenWhenTheGracePeriodEndsAreReset() throws Exception {
        target = new PacedTarget(100_000, 50); // far longer than the grace period
        int visitorPort = startServerWithTcpService("1500ms");

        try (Socket visitor = visitorMidDownload(visitorPort)) {
            InputStream in = visitor.getInputStream();
            byte[] buffer = new byte[CHUNK];
            server.toHandle().destroy();
            assertThatThrownBy(() -> {
                while (in.read(buffer) >= 0) {
                    // the paced download goes on until the grace period is over
                }
            }).as("a reset, never a clean end of data; server output:\n%s", String.join("\n", serverOutput))
                    .isInstanceOf(SocketException.class);
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
            outputReader.join(10_000);
        }
        assertThat(String.join("\n", serverOutput)).as("exit %d", server.exitValue())
                .contains("1 open stream(s) may finish within 1.5 s")
                .contains("Grace period of 1.5 s over: resetting 1 open stream(s)");
    }

    /**
     * A second SIGTERM (or Ctrl-C) while the server drains resets the streams still open and exits at once. The JVM
     * ignored every signal after the first while the stop ran: `make dev-server` stopped with Ctrl-C waited out the
     * grace period, however often Ctrl-C was pressed.
     */
    @Test
    void aSecondSigtermResetsTheOpenStreamsWithoutWaitingOutTheGracePeriod() throws Exception {
        target = new PacedTarget(100_000, 50); // far longer than the test
        int visitorPort = startServerWithTcpService("5m");

        try (Socket visitor = visitorMidDownload(visitorPort)) {
            InputStream in = visitor.getInputStream();
            byte[] buffer = new byte[CHUNK];
            server.toHandle().destroy();
            await("the server drains").atMost(Duration.ofSeconds(30))
                    .until(() -> String.join("\n", serverOutput).contains("may finish within 5 min"));
            // Counted from after the server said it took the first signal, as its own clock for the same request
            // started then: counted from before the signal, a second one just past the window here was within it
            // there (the server's handler ran later), taken for the same request and ignored.
            long first = System.nanoTime();
            await("a second signal later than the same request").atMost(Duration.ofSeconds(10))
                    .until(() -> System.nanoTime() - first > StopSignals.SAME_REQUEST.toNanos());
            server.toHandle().destroy();

            long giveUp = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            assertThatThrownBy(() -> {
                while (in.read(buffer) >= 0 && System.nanoTime() - giveUp < 0) {
                    // the paced download goes on until the second signal
                }
            }).as("a reset within 30 s, never a clean end of data; server output:\n%s",
                    String.join("\n", serverOutput)).isInstanceOf(SocketException.class);
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).as(String.join("\n", serverOutput)).isTrue();
            outputReader.join(10_000);
        }
        assertThat(server.exitValue()).isZero();
        assertThat(String.join("\n", serverOutput)).contains("second signal: resetting the open streams now",
                "Stopping now: resetting 1 open stream(s)").doesNotContain("Grace period of 5 min over");
    }

    /**
     * Two SIGTERMs back to back, as `timeout` or `kill -- -PGID` can deliver them, are one request: the server drains
     * with its grace period. It took the second for a second signal, reset the download and logged that before
     * "Shutdown requested".
     */
    @Test
    void twoSigtermsBackToBackAreOneRequestAndStillDrain() throws Exception {
        int chunks = 48; // 3 MiB at 64 KiB per 30 ms: about 1.5 s, longer than StopSignals.SAME_REQUEST
        target = new PacedTarget(chunks, 30);
        int visitorPort = startServerWithTcpService("60s");

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), visitorPort)) {
            visitor.setSoTimeout(30_000);
            InputStream in = visitor.getInputStream();
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[CHUNK];
            // At least the first chunk, and whatever more its last read brought: counted, not assumed to be 64 KiB.
            long received = readAtLeast(in, CHUNK, digest, buffer);
            server.toHandle().destroy();
            server.toHandle().destroy();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
                received += n;
            }
            visitor.shutdownOutput();
            assertThat(received).as("every byte of the download; server output:\n%s", String.join("\n", serverOutput))
                    .isEqualTo((long) chunks * CHUNK);
            assertThat(digest.digest()).as("the download's bytes").isEqualTo(PacedTarget.expectedDigest(chunks));
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).as(String.join("\n", serverOutput)).isTrue();
            outputReader.join(10_000);
        }
        assertThat(server.exitValue()).isZero();
        assertThat(String.join("\n", serverOutput)).contains("Shutdown requested", "1 open stream(s) may finish within")
                .doesNotContain("second signal", "Stopping now");
    }

    /**
     * A client with no stream open while another's stream keeps the server draining learns at once that the server is
     * stopping. Before, the server said so (close status 4000) only at the end of the grace period, long after the idle
     * client had closed its connection: its GoAway line named every possible cause.
     */
    @Test
    void anIdleClientOfADrainingServerIsToldAtOnceThatTheServerIsStopping() throws Exception {
        target = new PacedTarget(100_000, 50); // far longer than the test
        int visitorPort = startServerWithTcpService("5m");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO);
             ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
            ApiClient.Response tunnel = api.post("/api/tunnels", "{\"name\":\"idle\"}");
            assertThat(tunnel.status()).as("create tunnel: %s", tunnel).isEqualTo(201);
            idleClient = startClient(api, tunnel.json());
            try (Socket visitor = visitorMidDownload(visitorPort)) {
                InputStream in = visitor.getInputStream();
                byte[] buffer = new byte[CHUNK];
                server.toHandle().destroy();

                await("both clients' GoAway lines").atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO)
                        .stream().filter(line -> line.contains("ended this connection (GoAway")).count() >= 2);
                assertThat(log.messages(Level.INFO)).as("server output:\n%s", String.join("\n", serverOutput))
                        .anyMatch(line -> line.contains("ended this connection (GoAway, then close status 4000: the "
                                + "server is stopping)"));
                readAtLeast(in, CHUNK, MessageDigest.getInstance("SHA-256"), buffer);
                assertThat(client.activeStreams()).as("the download still in flight").isEqualTo(1);
            }
        }
    }

    /**
     * systemctl restart: SIGTERM with a download in flight, a drain of 20 s, and the server started again on the same
     * tunnel port. The client is back within 2.5 s of the new server listening, and writes no WARN meanwhile. Before,
     * the delays of its refused redials grew during the drain (1 to 16 s: the next try came about 8 s after the server
     * was back), each one a WARN "Nothing accepts connections ...: check that the server runs".
     */
    @Test
    void aClientIsBackWithinSecondsOfARestartAfterALongDrainWithoutAWarning() throws Exception {
        target = new PacedTarget(100_000, 50); // far longer than the grace period
        int visitorPort = startServerWithTcpService("20s");
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO);
             Socket visitor = visitorMidDownload(visitorPort)) {
            server.toHandle().destroy();
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).as(String.join("\n", serverOutput)).isTrue();
            outputReader.join(10_000);

            int port = startServer("20s", "127.0.0.1:" + tunnelPort).get(60, TimeUnit.SECONDS);
            long listening = System.nanoTime();
            assertThat(port).isEqualTo(tunnelPort);
            await("the client is back").atMost(Duration.ofSeconds(60))
                    .until(() -> client.state() == TunnelClient.State.CONNECTED);

            assertThat(Duration.ofNanos(System.nanoTime() - listening)).as("from the new server listening")
                    .isLessThan(Duration.ofMillis(2500));
            assertThat(log.messages(Level.WARN)).as("client WARN lines").isEmpty();
            assertThat(log.messages(Level.INFO)).anyMatch(line -> line.contains("1 open stream(s) finish on the old"
                    + " connection; reconnecting every 1 s for up to 1 min while it restarts"));
            byte[] buffer = new byte[CHUNK];
            assertThatThrownBy(() -> {
                while (visitor.getInputStream().read(buffer) >= 0) {
                    // what was sent before the grace period ended
                }
            }).as("the download still open at the end of the drain was reset").isInstanceOf(SocketException.class);
        }
    }

    /** With no stream open there is no "draining" line: the stop and its end were not logged at all. */
    @Test
    void sigtermWithNoOpenStreamLogsTheStopAndItsEnd() throws Exception {
        target = new PacedTarget(1, 0);
        startServerWithTcpService("30s");

        sigtermAndExpectACleanStop();
        assertThat(serverOutput).as("server output").anyMatch(line -> line.contains("Shutdown requested"))
                .noneMatch(line -> line.contains("draining"));
    }

    /**
     * sqlite-jdbc extracts its native library (1 MB, and a lock file) to the temporary directory and deletes it when
     * the JVM exits: the stop halts the JVM from its shutdown hook, before the deletes run, and every stop left both.
     * The directory is java.io.tmpdir by default, or an operator's org.sqlite.tmpdir, which is left as it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void sigtermLeavesNoSqliteLibraryInTheTemporaryDirectory(String temp) throws Exception {
        startServer("30s", "127.0.0.1:0", temp);
        assertThat(SqliteTempFiles.in(sqliteTemp)).as("the library extracted while the server runs").isNotEmpty();

        sigtermAndExpectACleanStop();
        SqliteTempFiles.assertNoneLeft(sqliteTemp, temp);
    }

    /** SIGTERMs the server, which must exit 0 within 30 s, its last line "Stopped". */
    private void sigtermAndExpectACleanStop() throws InterruptedException {
        server.toHandle().destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).as(String.join("\n", serverOutput)).isTrue();
        outputReader.join(10_000);
        assertThat(server.exitValue()).as(String.join("\n", serverOutput)).isZero();
        assertThat(serverOutput.getLast()).as("the last line of the server output").endsWith("Stopped");
    }

    /** Starts the server process, a tunnel with a tcp service to the target, and a client; returns the service's port. */
    private int startServerWithTcpService(String grace) throws Exception {
        CompletableFuture<Integer> tunnelPort = startServer(grace, "127.0.0.1:0");
        int visitorPort;
        try (ApiClient api = new ApiClient(this.apiPort, ADMIN_TOKEN)) {
            ApiClient.Response tunnel = api.post("/api/tunnels", "{\"name\":\"drain\"}");
            assertThat(tunnel.status()).as("create tunnel: %s", tunnel).isEqualTo(201);
            JsonNode json = tunnel.json();
            visitorPort = TcpServicePorts.create(api, json.get("id").asText(), port -> "{\"type\":\"tcp\","
                    + "\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"127.0.0.1:" + target.port()
                    + "\",\"enabled\":true}").port();
            this.tunnelPort = tunnelPort.get(10, TimeUnit.SECONDS);
            client = startClient(api, json);
        }
        return visitorPort;
    }

    /**
     * Starts the server process on the data directory with its tunnel endpoint on {@code tunnelAddr}, and waits for its
     * management API; returns the tunnel endpoint's port, once listening.
     */
    private CompletableFuture<Integer> startServer(String grace, String tunnelAddr) throws Exception {
        return startServer(grace, tunnelAddr, SqliteTempFiles.OPERATORS);
    }

    /** {@link #startServer(String, String)}, given {@link #sqliteTemp} by the property {@code temp}. */
    private CompletableFuture<Integer> startServer(String grace, String tunnelAddr, String temp) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(javaCommand(), SqliteTempFiles.prepare(sqliteTemp, temp),
                "-cp", System.getProperty("java.class.path"), "io.picotunnel.server.ServerMain", "--data", dataDir.toString(),
                "--listen-addr", "127.0.0.1:0", "--tunnel-addr", tunnelAddr,
                "--http-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0")
                .redirectErrorStream(true);
        builder.environment().put("PICOTUNNEL_ADMIN_TOKEN", ADMIN_TOKEN);
        builder.environment().put("PICOTUNNEL_SHUTDOWN_GRACE", grace);
        server = builder.start();
        CompletableFuture<Integer> apiPort = new CompletableFuture<>();
        CompletableFuture<Integer> tunnelPort = new CompletableFuture<>();
        outputReader = Thread.ofPlatform().daemon().name("server-output").start(() -> {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    serverOutput.add(line);
                    complete(apiPort, API_PORT.matcher(line));
                    complete(tunnelPort, TUNNEL_PORT.matcher(line));
                }
            } catch (IOException e) {
                // the process ended
            }
            apiPort.completeExceptionally(new IllegalStateException("server output ended: " + serverOutput));
            tunnelPort.completeExceptionally(new IllegalStateException("server output ended: " + serverOutput));
        });

        this.apiPort = apiPort.get(60, TimeUnit.SECONDS);
        return tunnelPort;
    }

    /** Starts a client of the tunnel {@code json} (as created by the API) and waits until the server lists it. */
    private TunnelClient startClient(ApiClient api, JsonNode json) {
        TunnelClient started = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + tunnelPort),
                json.get("token").asText()).withShutdownGrace(Duration.ZERO));
        started.start();
        String tunnelPath = "/api/tunnels/" + json.get("id").asText();
        await("the server lists the client").atMost(Duration.ofSeconds(20))
                .until(() -> api.get(tunnelPath).json().get("connected").asBoolean());
        return started;
    }

    private static void complete(CompletableFuture<Integer> port, Matcher matcher) {
        if (matcher.find()) {
            port.complete(Integer.parseInt(matcher.group(1)));
        }
    }

    /** A visitor of the tcp service that has read the first 64 KiB of its download: a stream in flight. */
    private Socket visitorMidDownload(int visitorPort) throws Exception {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), visitorPort);
        try {
            visitor.setSoTimeout(30_000);
            readAtLeast(visitor.getInputStream(), CHUNK, MessageDigest.getInstance("SHA-256"), new byte[CHUNK]);
            return visitor;
        } catch (Exception | AssertionError e) {
            visitor.close();
            throw e;
        }
    }

    private long readAtLeast(InputStream in, int bytes, MessageDigest digest, byte[] buffer) throws IOException {
        long received = 0;
        while (received < bytes) {
            int n = in.read(buffer);
            assertThat(n).as("data before the shutdown; server output:\n%s", String.join("\n", serverOutput))
                    .isPositive();
            digest.update(buffer, 0, n);
            received += n;
        }
        return received;
    }

    private static String javaCommand() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Sends {@code chunks} chunks of 64 KiB (chunk i filled with byte i) with a pause after each, then closes. */
    private static final class PacedTarget implements AutoCloseable {
        private final ServerSocket listener;
        private final Thread acceptor;

        PacedTarget(int chunks, long pauseMillis) throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofPlatform().daemon().name("paced-target").start(() -> {
                while (!listener.isClosed()) {
                    try {
                        Socket socket = listener.accept();
                        Thread.ofPlatform().daemon().start(() -> serve(socket, chunks, pauseMillis));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private static void serve(Socket socket, int chunks, long pauseMillis) {
            try (socket; OutputStream out = socket.getOutputStream()) {
                for (int i = 0; i < chunks; i++) {
                    out.write(chunk(i));
                    out.flush();
                    Thread.sleep(pauseMillis); // the download's pace, part of the scenario
                }
            } catch (IOException | InterruptedException e) {
                // the visitor's side went away
            }
        }

        static byte[] chunk(int i) {
            byte[] chunk = new byte[CHUNK];
            java.util.Arrays.fill(chunk, (byte) i);
            return chunk;
        }

        static byte[] expectedDigest(int chunks) throws Exception {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < chunks; i++) {
                digest.update(chunk(i));
            }
            return digest.digest();
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            try {
                acceptor.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
