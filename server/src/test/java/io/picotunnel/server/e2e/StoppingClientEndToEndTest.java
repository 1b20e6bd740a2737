package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tunnel client that stops while a request is still open: its stream outlives the client's shutdown grace, and the
 * visitor is told the client stopped. Real server, client and target.
 */
class StoppingClientEndToEndTest {

    private static final String HOST = "stopping.test";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private HttpServer target;
    /** Holds every request the target takes until the test ends (bounded). */
    private final CountDownLatch answer = new CountDownLatch(1);
    private final CountDownLatch requestTaken = new CountDownLatch(1);
    private String token;
    private String tunnelId;

    @BeforeEach
    void start() throws Exception {
        testbed = new Testbed(dataDir);
        target = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        target.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        target.createContext("/", exchange -> {
            requestTaken.countDown();
            try {
                answer.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        target.start();
        JsonNode tunnel = testbed.createTunnel("stopping");
        token = tunnel.get("token").asText();
        testbed.createService(tunnel.get("id").asText(), "{\"type\":\"http\",\"domain\":\"" + HOST
                + "\",\"target_addr\":\"127.0.0.1:" + target.getAddress().getPort() + "\"}");
        tunnelId = tunnel.get("id").asText();
    }

    @AfterEach
    void stop() {
        answer.countDown();
        testbed.close();
        target.stop(0);
    }

    @Test
    void aRequestStillOpenWhenTheClientsGracePeriodEndsGets503ClientStoppingWithRetryAfter() throws Exception {
        TunnelClient client = testbed.connect(tunnelId, token);

        CompletableFuture<Visitor.Response> response = CompletableFuture.supplyAsync(() -> {
            try {
                return new Visitor("127.0.0.1").get(testbed.server().httpPort(), HOST, "/slow", "Accept: application/json");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(requestTaken.await(10, TimeUnit.SECONDS)).as("the target has the request").isTrue();
        assertThat(client.activeStreams()).isEqualTo(1);

        client.stop(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS);

        Visitor.Response page = response.get(10, TimeUnit.SECONDS);
        assertThat(page.status()).as(page.body()).isEqualTo(503);
        assertThat(page.header("retry-after")).isEqualTo("5");
        assertThat(page.body()).contains("\"error\":\"client_stopping\"").contains("client is stopping");
    }
}
