package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real server stopped while a round of checks is in flight records and alerts nothing of that round. */
class StopDuringChecksTest {

    @TempDir
    Path dataDir;

    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private ServerSocket target;

    @AfterEach
    void closeTarget() throws IOException {
        for (Socket socket : held) {
            socket.close();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void probeStillRunningWhenTheServerStopsRecordsNoDownAndSendsNoAlert() throws Exception {
        // The target answers the probe at once (by closing) until told to be slow; then it holds the probe's
        // connection open without a word, so the round is in flight (for up to its 1 s timeout) when the stop begins.
        target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        AtomicBoolean slow = new AtomicBoolean();
        AtomicInteger heldProbes = new AtomicInteger();
        Thread acceptor = Thread.ofVirtual().start(() -> {
            while (!target.isClosed()) {
                try {
                    Socket socket = target.accept();
                    if (slow.get()) {
                        held.add(socket);
                        heldProbes.incrementAndGet();
                    } else {
                        socket.close();
                    }
                } catch (IOException closed) {
                    return;
                }
            }
        });
        try (WebhookReceiver receiver = new WebhookReceiver(0)) {
            Testbed testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s", Setting.ALERT_AFTER, "1",
                    Setting.WEBHOOK_URL, receiver.url()));
            String serviceId;
            try {
                String tunnelId = testbed.createConnectedTunnel("stopping");
                JsonNode service = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:" + target.getLocalPort())
                        .service();
                serviceId = service.get("id").asText();
                await().atMost(15, TimeUnit.SECONDS).until(() -> {
                    JsonNode checks = testbed.checks(tunnelId, serviceId, 1);
                    return !checks.isEmpty() && checks.get(0).get("status").asText().equals("up");
                });
                slow.set(true);
                await().atMost(15, TimeUnit.SECONDS).until(() -> heldProbes.get() > 0);
                // The server first (as on SIGTERM), while its client is still connected.
                testbed.server().stop();
            } finally {
                testbed.close();
            }
            assertThat(count("SELECT COUNT(*) FROM checks WHERE service_id = ? AND status = 'down'", serviceId))
                    .as("down checks of the service").isZero();
            assertThat(count("SELECT COUNT(*) FROM events WHERE service_id = ? AND type = 'service_down'", serviceId))
                    .as("service_down events").isZero();
            String service = serviceId;
            assertThat(receiver.messages()).as("webhook messages").noneMatch(m -> m.path("service_id").asText().equals(service));
        } finally {
            target.close();
            acceptor.join(5_000);
        }
    }

    private long count(String sql, String serviceId) throws SQLException {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("picotunnel.db"));
             PreparedStatement select = db.prepareStatement(sql)) {
            select.setString(1, serviceId);
            try (ResultSet row = select.executeQuery()) {
                row.next();
                return row.getLong(1);
            }
        }
    }
}
