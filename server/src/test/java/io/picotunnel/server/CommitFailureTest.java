package io.picotunnel.server;

import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.CommitFaults;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A service change whose commit fails after the server's components were told of it (the disk full when the WAL is
 * written, say). Here a real SQLite commit failure stands in: a deferred foreign key, added to the file by another
 * connection, that a trigger on {@code services} breaks, so that the statements pass and only COMMIT fails.
 */
class CommitFailureTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer server;
    private ApiClient api;

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), server.adminToken());
    }

    @AfterEach
    void stop() {
        api.close();
        server.close();
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @Test
    void aTcpServiceWhoseCommitFailsIsNotStoredAndItsPortIsNotLeftListening() throws Exception {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
        CommitFaults.failEveryCommitThat(dataDir, "AFTER INSERT ON services");
        int port = freeLoopbackPort();

        ApiClient.Response created = api.post("/api/tunnels/" + tunnel + "/services", "{\"type\": \"tcp\","
                + " \"listen_addr\": \"127.0.0.1:" + port + "\", \"target_addr\": \"localhost:22\"}");

        assertThat(created.status()).as("%s", created).isEqualTo(500);
        assertThat(api.get("/api/tunnels/" + tunnel + "/services").json()).isEmpty();
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                .as("nothing listens on the port of a service that was not stored")
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void aTcpServiceWhoseDeletionFailsToCommitStaysStoredAndListening() throws Exception {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
        int port = freeLoopbackPort();
        String service = api.post("/api/tunnels/" + tunnel + "/services", "{\"type\": \"tcp\","
                + " \"listen_addr\": \"127.0.0.1:" + port + "\", \"target_addr\": \"localhost:22\"}").json()
                .get("id").asText();
        CommitFaults.failEveryCommitThat(dataDir, "AFTER DELETE ON services");

        ApiClient.Response deleted = api.delete("/api/services/" + service);

        assertThat(deleted.status()).as("%s", deleted).isEqualTo(500);
        assertThat(api.get("/api/tunnels/" + tunnel + "/services").json()).hasSize(1);
        new Socket(InetAddress.getLoopbackAddress(), port).close();
    }
}
