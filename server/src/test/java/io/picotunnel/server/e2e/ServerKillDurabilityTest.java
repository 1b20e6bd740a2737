package io.picotunnel.server.e2e;

import io.picotunnel.server.ServerMain;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server process is SIGKILLed while clients write through the API; started again on the same data directory,
 * it has every write it had answered 2xx (SQLite in WAL mode with synchronous=FULL commits before answering).
 */
class ServerKillDurabilityTest {

    private static final String ADMIN_TOKEN = "k".repeat(64);
    private static final int WRITERS = 3;
    private static final int WRITES_BEFORE_KILL = 60;

    @TempDir
    Path dir;

    private Process startServer(Path dataDir, int apiPort) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ServerMain.class.getName(), "--data", dataDir.toString(), "--listen-addr", "127.0.0.1:" + apiPort,
                "--tunnel-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("server.log").toFile());
        builder.environment().put("PICOTUNNEL_ADMIN_TOKEN", ADMIN_TOKEN);
        return builder.start();
    }

    @Test
    void everyWriteAnswered2xxSurvivesASigkillOfTheServer() throws Exception {
        Path dataDir = Files.createDirectories(dir.resolve("data"));
        int apiPort = Ports.freePort();
        Process server = startServer(dataDir, apiPort);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI tunnels = URI.create("http://127.0.0.1:" + apiPort + "/api/tunnels");
        try {
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/health")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200);

            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            AtomicInteger attempts = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> writers = new java.util.ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                writers.add(Thread.ofVirtual().start(() -> {
                    // bounded: it stops when told, when the server is gone, or after 100,000 writes
                    for (int i = 0; i < 100_000 && !stop.get(); i++) {
                        String name = "w" + writer + "-" + i;
                        attempts.incrementAndGet();
                        try {
                            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(tunnels)
                                    .timeout(Duration.ofSeconds(10))
                                    .header("Authorization", "Bearer " + ADMIN_TOKEN)
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}")).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (answer.statusCode() / 100 == 2) {
                                acknowledged.add(name);
                            }
                        } catch (IOException e) {
                            return; // the server is gone: this write was never answered
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> acknowledged.size() >= WRITES_BEFORE_KILL);

            server.destroyForcibly(); // SIGKILL, in the middle of the writers' requests
            assertThat(server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            stop.set(true);
            for (Thread writer : writers) {
                assertThat(writer.join(Duration.ofSeconds(30))).isTrue();
            }
            assertThat(server.exitValue()).as("killed, not exited").isEqualTo(137);
            Set<String> answered = Set.copyOf(acknowledged);
            assertThat(answered).hasSizeGreaterThanOrEqualTo(WRITES_BEFORE_KILL);

            // started again on the same files: every answered write is there
            server = startServer(dataDir, apiPort);
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> http.send(
                    HttpRequest.newBuilder(tunnels).header("Authorization", "Bearer " + ADMIN_TOKEN).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
            String listed = http.send(HttpRequest.newBuilder(tunnels).header("Authorization", "Bearer " + ADMIN_TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String name : answered) {
                assertThat(listed).as("answered 2xx before the kill: %s", name).contains("\"name\":\"" + name + "\"");
            }
            server.destroy();
            assertThat(server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            try (Store store = Store.open(dataDir)) {
                assertThat(store.tunnels()).extracting(Tunnel::name).containsAll(answered);
                assertThat(store.tunnels().size()).isLessThanOrEqualTo(attempts.get());
            }
        } finally {
            server.destroyForcibly();
        }
    }
}
