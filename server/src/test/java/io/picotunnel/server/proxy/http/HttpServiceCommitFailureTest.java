package io.picotunnel.server.proxy.http;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.testbed.CommitFaults;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Changes to http services whose commit fails (a deferred foreign key that a trigger on {@code services} breaks, as in
 * CommitFailureTest): the routes follow only what is stored, so visitors of a service whose delete or disable is undone
 * are never told it is unknown, not even while the change's transaction is open.
 */
class HttpServiceCommitFailureTest {

    private static final String TOKEN = "e2e-admin-token-0123456789abcdef";

    @TempDir
    Path dataDir;

    @Test
    void whileADeleteOrDisableThatIsUndoneIsInItsTransactionVisitorsAreAnsweredAsBefore() throws Exception {
        List<String> seenInTransactions = new CopyOnWriteArrayList<>();
        PicoTunnelServer[] started = new PicoTunnelServer[1];
        // Told after the routes, inside the transaction: what a visitor gets at that moment.
        ServiceListener visitorDuringTransaction = new ServiceListener() {
            @Override
            public void onServiceChange(Service before, Service after) {
            }

            @Override
            public Staged stage(Service before, Service after) {
                if (before != null && started[0] != null) {
                    seenInTransactions.add(before.id() + " -> " + visit(started[0].httpPort()));
                }
                return Staged.NOTHING;
            }
        };
        try (PicoTunnelServer server = PicoTunnelServer.start(
                ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, TOKEN)),
                new PrintStream(OutputStream.nullOutputStream()), visitorDuringTransaction);
             ApiClient api = new ApiClient(server.apiPort(), TOKEN)) {
            String tunnel = api.post("/api/tunnels", "{\"name\":\"undone\"}").json().get("id").asText();
            ApiClient.Response created = api.post("/api/tunnels/" + tunnel + "/services",
                    "{\"type\":\"http\",\"domain\":\"shop.test\",\"target_addr\":\"127.0.0.1:9\"}");
            assertThat(created.status()).as("%s", created).isEqualTo(201);
            String service = created.json().get("id").asText();
            int before = visit(server.httpPort());
            assertThat(before).as("a visitor of the service, its tunnel offline").isNotEqualTo(404);
            started[0] = server;
            CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services", "AFTER UPDATE ON services");

            List<Supplier<ApiClient.Response>> undone = List.of(
                    () -> api.delete("/api/services/" + service),
                    () -> api.patch("/api/services/" + service, "{\"enabled\": false}"),
                    () -> api.delete("/api/tunnels/" + tunnel));
            for (Supplier<ApiClient.Response> request : undone) {
                ApiClient.Response response = request.get();
                assertThat(response.status()).as("%s", response).isEqualTo(500);
                assertThat(visit(server.httpPort())).as("after %s", response).isEqualTo(before);
            }
            assertThat(seenInTransactions).containsExactly(service + " -> " + before, service + " -> " + before,
                    service + " -> " + before);
        }
    }

    /** The status a visitor of shop.test gets. */
    private static int visit(int httpPort) {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), httpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("GET / HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String statusLine = new BufferedReader(new InputStreamReader(visitor.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            assertThat(statusLine).as("the status line").startsWith("HTTP/1.1 ");
            return Integer.parseInt(statusLine.substring(9, 12));
        } catch (IOException e) {
            throw new AssertionError("the visitor's request failed", e);
        }
    }
}
