package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tunnels and services checked every second by a real server, through real tunnel clients: state changes
 * recorded once, events, and webhook messages to a real HTTP receiver.
 */
class UptimeChecksTest {

    private static final Duration INTERVAL = Duration.ofSeconds(1);

    @TempDir
    Path dataDir;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T closing(T resource) {
        closing.add(resource);
        return resource;
    }

    private Testbed testbed(int alertAfter, WebhookReceiver receiver) {
        return closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s",
                Setting.ALERT_AFTER, String.valueOf(alertAfter), Setting.WEBHOOK_URL, receiver.url())));
    }

    @Test
    void clientThatDisconnectsIsDownWithinTwoIntervalsAndUpAfterReconnectingWithOneChangeAndOneWebhookEachWay() {
        WebhookReceiver receiver = closing(new WebhookReceiver(1));
        Testbed testbed = testbed(2, receiver);
        JsonNode tunnel = testbed.createTunnel("watched");
        String id = tunnel.get("id").asText();
        TunnelClient client = testbed.connect(id, tunnel.get("token").asText());
        int before = settleUp(testbed, receiver, id);
        JsonNode up = testbed.checks(id, null, 1).get(0);
        assertThat(up.get("latency_ms").isIntegralNumber()).as("latency of %s", up).isTrue();
        assertThat(up.get("error").isNull()).isTrue();

        Instant disconnected = Instant.now();
        client.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("down"));
        JsonNode firstDown = firstAfter(testbed, id, disconnected, "down");
        assertThat(Instant.parse(firstDown.get("created_at").asText()))
                .as("first down check after the disconnect at %s", disconnected)
                .isBefore(disconnected.plus(INTERVAL.multipliedBy(2)));
        assertThat(firstDown.get("error").asText()).isEqualTo("no client connected");
        assertThat(firstDown.get("latency_ms").isNull()).isTrue();

        // Down for the alert threshold (two checks): the webhooks hear of it.
        await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.tunnelMessages(id).size() == before + 1);
        Instant reconnected = Instant.now();
        testbed.connect(id, tunnel.get("token").asText());
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("up"));
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(() -> assertThat(receiver.tunnelMessages(id))
                .as("all messages: %s", receiver.messages()).hasSizeGreaterThanOrEqualTo(before + 2));
        // Three more checks up: nothing else may be recorded or sent.
        Instant settled = Instant.now();
        await().atMost(20, TimeUnit.SECONDS).until(() -> checksSince(testbed, id, settled) >= 3);

        List<Check> changes = testbed.server().checks().changes(Subject.tunnel(id), disconnected);
        assertThat(changes).extracting(Check::status).containsExactly(CheckStatus.DOWN, CheckStatus.UP);
        assertThat(changes.get(1).createdAt()).isAfterOrEqualTo(reconnected.minusMillis(1));
        List<JsonNode> all = receiver.tunnelMessages(id);
        List<JsonNode> messages = all.subList(before, all.size());
        assertThat(messages).extracting(m -> m.get("status").asText()).containsExactly("down", "up");
        assertThat(messages.get(0).get("text").asText()).contains("watched").contains("is down")
                .contains("no client connected");
        assertThat(messages.get(0).get("content").asText()).isEqualTo(messages.get(0).get("text").asText());
        assertThat(messages.get(0).get("since").asText()).isEqualTo(firstDown.get("created_at").asText());
        assertThat(messages.get(1).get("event").asText()).isEqualTo("tunnel_up");

        testbed.server().events().flush();
        JsonNode events = testbed.api().get("/api/tunnels/" + id + "/events?limit=50").json();
        List<String> types = new ArrayList<>();
        events.forEach(event -> types.add(event.get("type").asText()));
        List<String> stateEvents = new ArrayList<>();
        events.forEach(event -> {
            if (event.get("type").asText().startsWith("tunnel_")
                    && !Instant.parse(event.get("created_at").asText()).isBefore(disconnected)) {
                stateEvents.add(event.get("type").asText());
            }
        });
        assertThat(stateEvents).containsExactly(EventLog.TUNNEL_UP, EventLog.TUNNEL_DOWN);
        assertThat(types.stream().filter(t -> t.startsWith("client_")).toList())
                .containsExactly(EventLog.CLIENT_CONNECTED, EventLog.CLIENT_LEFT, EventLog.CLIENT_CONNECTED);
        assertThat(events.get(types.indexOf(EventLog.CLIENT_LEFT)).get("message").asText()).contains("127.0.0.1");
    }

    /**
     * A state that had not yet held for {@code PICOTUNNEL_ALERT_AFTER} checks when the server stopped is not taken as
     * confirmed at the next start: its checks go on counting, and the webhooks hear of it once it held long enough.
     */
    @Test
    void downNotYetConfirmedWhenTheServerRestartsIsAlertedAfterTheRestart() {
        WebhookReceiver receiver = closing(new WebhookReceiver(0));
        Testbed testbed = testbed(5, receiver);
        JsonNode tunnel = testbed.createTunnel("restarted");
        String id = tunnel.get("id").asText();
        TunnelClient client = testbed.connect(id, tunnel.get("token").asText());
        // The first round may come before the client: the tunnel is then first seen down, and up only once confirmed.
        int before = settleUp(testbed, receiver, id);

        Instant disconnected = Instant.now();
        client.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("down"));
        testbed.restart();
        JsonNode firstDown = firstAfter(testbed, id, disconnected, "down");
        assertThat(countSince(testbed, id, disconnected, "down"))
                .as("down checks before the restart, below the threshold of 5").isBetween(1L, 4L);
        assertThat(receiver.tunnelMessages(id)).hasSize(before);

        await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.tunnelMessages(id).size() > before);
        JsonNode alert = receiver.tunnelMessages(id).get(before);
        assertThat(alert.get("status").asText()).isEqualTo("down");
        assertThat(alert.get("since").asText()).isEqualTo(firstDown.get("created_at").asText());
        // Five down checks in all, counted across the restart. The alert leaves as the fifth is observed, before the
        // round stores it: the webhook may be heard first.
        await().atMost(5, TimeUnit.SECONDS).untilAsserted(() ->
                assertThat(countSince(testbed, id, disconnected, "down")).isEqualTo(5));
    }

    /**
     * A change of state whose check could not be stored (the database locked by another process for longer than the
     * busy timeout) is not lost: the next check that is stored records it, so {@code since} and the state changes
     * say when the tunnel went down.
     */
    @Test
    void changeOfStateNotStoredWhileTheDatabaseWasLockedIsRecordedAfterwards() throws Exception {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        JsonNode tunnel = testbed.createTunnel("locked-out");
        String id = tunnel.get("id").asText();
        TunnelClient client = testbed.connect(id, tunnel.get("token").asText());
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("up"));

        Instant disconnected = Instant.now();
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("picotunnel.db"));
             Statement statement = other.createStatement()) {
            statement.execute("BEGIN IMMEDIATE");
            client.close();
            // Far longer than the busy timeout: the round's checks, and then each one alone, are refused.
            await().pollDelay(25, TimeUnit.SECONDS).atMost(26, TimeUnit.SECONDS).until(() -> true);
            statement.execute("ROLLBACK");
        }
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("down"));
        await().atMost(10, TimeUnit.SECONDS).untilAsserted(() ->
                assertThat(testbed.server().checks().changes(Subject.tunnel(id), disconnected))
                        .extracting(Check::status).containsExactly(CheckStatus.DOWN));
        JsonNode stats = testbed.api().get("/api/tunnels/" + id + "/stats").json();
        assertThat(stats.get("status").asText()).isEqualTo("down");
        assertThat(Instant.parse(stats.get("since").asText())).isAfter(disconnected);
    }

    /**
     * A stop with a grace period (SIGTERM) tells every client to go away and waits for open streams: clients without
     * streams leave at once. No check runs from the start of the stop, so they are not recorded as down (with an
     * event, and a state change) at every restart.
     */
    @Test
    void noTunnelIsCheckedDownWhileTheServerDrainsOnStop() throws Exception {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        EchoServer echo = closing(new EchoServer());
        JsonNode busy = testbed.createTunnel("busy");
        JsonNode idle = testbed.createTunnel("idle");
        testbed.connect(busy.get("id").asText(), busy.get("token").asText());
        testbed.connect(idle.get("id").asText(), idle.get("token").asText());
        int port = testbed.createTcpServiceOnFreePort(busy.get("id").asText(), echo.address()).port();
        String idleId = idle.get("id").asText();
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, idleId).equals("up"));

        long stopping;
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            visitor.getOutputStream().write('x');
            assertThat(visitor.getInputStream().read()).isEqualTo('x');
            stopping = System.currentTimeMillis();
            // The visitor's stream stays open: the stop waits the whole grace period, long enough for three rounds.
            testbed.server().stop(Duration.ofSeconds(3));
        }
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("picotunnel.db"));
             java.sql.PreparedStatement select = db.prepareStatement(
                     "SELECT COUNT(*) FROM checks WHERE tunnel_id = ? AND status = 'down' AND created_at >= ?")) {
            select.setString(1, idleId);
            select.setLong(2, stopping);
            try (java.sql.ResultSet row = select.executeQuery()) {
                row.next();
                assertThat(row.getInt(1)).as("down checks of the idle tunnel during the stop").isZero();
            }
        }
    }

    @Test
    void flappingTunnelBelowTheThresholdSendsNoWebhook() {
        WebhookReceiver receiver = closing(new WebhookReceiver(0));
        Testbed testbed = testbed(5, receiver);
        JsonNode tunnel = testbed.createTunnel("flappy");
        String id = tunnel.get("id").asText();
        TunnelClient client = testbed.connect(id, tunnel.get("token").asText());
        int before = settleUp(testbed, receiver, id);

        Instant disconnected = Instant.now();
        client.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("down"));
        testbed.connect(id, tunnel.get("token").asText());
        await().atMost(10, TimeUnit.SECONDS).until(() -> newest(testbed, id).equals("up"));
        Instant back = Instant.now();
        await().atMost(20, TimeUnit.SECONDS).until(() -> checksSince(testbed, id, back) >= 6);

        long downChecks = countSince(testbed, id, disconnected, "down");
        assertThat(downChecks).as("down checks while the client was away (the test needs fewer than 5)").isBetween(1L, 4L);
        assertThat(testbed.server().checks().changes(Subject.tunnel(id), disconnected))
                .extracting(Check::status).containsExactly(CheckStatus.DOWN, CheckStatus.UP);
        assertThat(receiver.requests()).isEqualTo(before);
    }

    @Test
    void servicesAreProbedThroughTheTunnelAndCanBeSwitchedOff() throws IOException {
        WebhookReceiver receiver = closing(new WebhookReceiver(0));
        Testbed testbed = testbed(2, receiver);
        EchoServer echo = closing(new EchoServer());
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
        web.createContext("/", exchange -> {
            paths.add(exchange.getRequestURI().getPath() + " " + exchange.getRequestHeaders().getFirst("Host"));
            int status = exchange.getRequestURI().getPath().equals("/broken") ? 503 : 200;
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        web.start();
        closing(() -> web.stop(0));
        String webTarget = "127.0.0.1:" + web.getAddress().getPort();
        String id = testbed.createConnectedTunnel("services");

        JsonNode healthy = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"app.example.test\",\"target_addr\":\""
                + webTarget + "\",\"health_path\":\"/healthz\"}");
        assertThat(healthy.get("health_path").asText()).isEqualTo("/healthz");
        assertThat(healthy.get("health_check").asBoolean()).isTrue();
        JsonNode broken = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"broken.example.test\",\"target_addr\":\""
                + webTarget + "\",\"health_path\":\"/broken\"}");
        JsonNode tcp = TcpServicePorts.create(testbed.api(), id, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + port + "\",\"target_addr\":\"" + echo.address() + "\"}").service();
        JsonNode refused = TcpServicePorts.create(testbed.api(), id, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + port + "\",\"target_addr\":\"127.0.0.1:" + Ports.freePort() + "\"}").service();
        JsonNode silent = TcpServicePorts.create(testbed.api(), id, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + port + "\",\"target_addr\":\"" + echo.address() + "\",\"health_check\":false}").service();
        assertThat(silent.get("health_check").asBoolean()).isFalse();
        assertThat(silent.get("health_path").isNull()).isTrue();

        for (JsonNode service : List.of(healthy, broken, tcp, refused)) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, service.get("id").asText(), 1).size() == 1);
        }
        JsonNode healthyCheck = testbed.checks(id, healthy.get("id").asText(), 1).get(0);
        assertThat(healthyCheck.get("status").asText()).as("%s", healthyCheck).isEqualTo("up");
        assertThat(healthyCheck.get("service_id").asText()).isEqualTo(healthy.get("id").asText());
        assertThat(healthyCheck.get("latency_ms").isIntegralNumber()).isTrue();
        assertThat(paths).contains("/healthz app.example.test");
        JsonNode brokenCheck = testbed.checks(id, broken.get("id").asText(), 1).get(0);
        assertThat(brokenCheck.get("status").asText()).isEqualTo("down");
        assertThat(brokenCheck.get("error").asText()).isEqualTo("HTTP status 503");
        JsonNode tcpCheck = testbed.checks(id, tcp.get("id").asText(), 1).get(0);
        assertThat(tcpCheck.get("status").asText()).as("%s", tcpCheck).isEqualTo("up");
        JsonNode refusedCheck = testbed.checks(id, refused.get("id").asText(), 1).get(0);
        assertThat(refusedCheck.get("status").asText()).isEqualTo("down");
        assertThat(refusedCheck.get("error").asText()).isEqualTo("the client could not reach "
                + refused.get("target_addr").asText() + ": the target refused the connection");
        assertThat(testbed.checks(id, silent.get("id").asText(), 10)).isEmpty();
        // The tunnel's own checks are not mixed with its services'.
        testbed.checks(id, null, 50).forEach(check -> assertThat(check.get("service_id").isNull()).isTrue());

        JsonNode switched = testbed.api().patch("/api/services/" + healthy.get("id").asText(), "{\"health_check\":false}").json();
        assertThat(switched.get("health_check").asBoolean()).isFalse();
        assertThat(switched.get("health_path").asText()).isEqualTo("/healthz");
    }

    /**
     * A probe the client resets with its reason says that reason: "could not reach" alone sent the operator looking
     * for a target that was up, when the client's --allow list left it out.
     */
    @Test
    void aTargetLeftOutOfTheClientsAllowListIsDownSayingSo() {
        Testbed testbed = testbed(2, closing(new WebhookReceiver(0)));
        EchoServer echo = closing(new EchoServer());
        JsonNode tunnel = testbed.createTunnel("allow-list");
        String id = tunnel.get("id").asText();
        testbed.startClient(tunnel.get("token").asText(),
                config -> config.withAllow(AllowList.parse("127.0.0.1:" + Ports.freePort())));
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(id));
        JsonNode left = testbed.createTcpServiceOnFreePort(id, echo.address()).service();

        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, left.get("id").asText(), 1).size() == 1);
        JsonNode check = testbed.checks(id, left.get("id").asText(), 1).get(0);
        assertThat(check.get("status").asText()).isEqualTo("down");
        assertThat(check.get("error").asText()).isEqualTo("the client could not reach " + echo.address()
                + ": the target is not in the client's --allow list");
    }

    /**
     * A health path with letters outside ASCII is asked for as browsers and the proxy spell it, percent-encoded as
     * UTF-8: written as ASCII each became '?', so "/état" was probed as "/" with the query "tat", and a 404 there
     * still counted as up.
     */
    @Test
    void aHealthPathOutsideAsciiIsProbedPercentEncoded() throws IOException {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
        web.createContext("/", exchange -> {
            paths.add(exchange.getRequestURI().getRawPath() + (exchange.getRequestURI().getRawQuery() == null ? ""
                    : "?" + exchange.getRequestURI().getRawQuery()));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        web.start();
        closing(() -> web.stop(0));
        String id = testbed.createConnectedTunnel("accents");
        JsonNode service = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"app.example.test\",\"target_addr\":\"127.0.0.1:"
                + web.getAddress().getPort() + "\",\"health_path\":\"/\u00e9tat?q=\u00fc\"}");
        assertThat(service.get("health_path").asText()).as("shown as typed").isEqualTo("/\u00e9tat?q=\u00fc");

        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, service.get("id").asText(), 1).size() == 1);
        assertThat(paths).first().isEqualTo("/%C3%A9tat?q=%C3%BC");
    }

    /**
     * An http service with {@code tls_mode: passthrough} has a target that speaks TLS (its own certificate): the
     * proxy passes visitors' bytes to it as a tcp stream, and so does the probe, which only checks that the client
     * reaches it. A plain-text GET was sent to it: a TLS server takes that for a broken handshake and closes, so the
     * service was down at every check.
     */
    @Test
    void aPassthroughServiceIsUpWhenItsTlsTargetIsReachable() throws Exception {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        io.picotunnel.server.tls.TestCertificates.Issued issued = new io.picotunnel.server.tls.TestCertificates()
                .issue("tls.example.test");
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("target", issued.keyPair().getPrivate(), new char[0],
                issued.chain().toArray(java.security.cert.X509Certificate[]::new));
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        javax.net.ssl.SSLServerSocket target = (javax.net.ssl.SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closing(target);
        Thread.ofVirtual().start(() -> {
            while (!target.isClosed()) {
                try {
                    java.net.Socket socket = target.accept();
                    Thread.ofVirtual().start(() -> {
                        try (socket) {
                            socket.setSoTimeout(10_000);
                            ((javax.net.ssl.SSLSocket) socket).startHandshake();
                        } catch (IOException e) {
                            // not TLS, or the probe's end of stream: closed, as TLS servers do
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        String id = testbed.createConnectedTunnel("passthrough");
        JsonNode service = testbed.createService(id, "{\"type\":\"http\",\"domain\":\"tls.example.test\","
                + "\"tls_mode\":\"passthrough\",\"target_addr\":\"127.0.0.1:" + target.getLocalPort() + "\"}");

        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, service.get("id").asText(), 1).size() == 1);
        JsonNode check = testbed.checks(id, service.get("id").asText(), 1).get(0);
        assertThat(check.get("status").asText()).as("%s", check).isEqualTo("up");
    }

    /**
     * Events and alerts name an http service as visitors know it: "HTTP service app.example.test" (its path prefix
     * only when it has one), not "Http service app.example.test/".
     */
    @Test
    void anHttpServiceIsNamedInEventsAsVisitorsKnowIt() throws IOException {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        web.start();
        closing(() -> web.stop(0));
        String id = testbed.createConnectedTunnel("named");
        String target = "127.0.0.1:" + web.getAddress().getPort();
        testbed.createService(id, "{\"type\":\"http\",\"domain\":\"app.example.test\",\"target_addr\":\"" + target + "\"}");
        testbed.createService(id, "{\"type\":\"http\",\"domain\":\"api.example.test\",\"path_prefix\":\"/v1\","
                + "\"target_addr\":\"" + target + "\"}");

        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.api().get("/api/tunnels/" + id + "/events").json()
                .findValuesAsText("type").stream().filter("service_down"::equals).count() == 2);
        assertThat(testbed.api().get("/api/tunnels/" + id + "/events").json().findValuesAsText("message"))
                .contains("HTTP service app.example.test of tunnel named is down: HTTP status 503",
                        "HTTP service api.example.test/v1 of tunnel named is down: HTTP status 503");
    }

    /**
     * A round held up (here by another process holding SQLite's write lock for longer than the busy timeout) is not
     * followed by a burst of the rounds it missed, run back to back: they would take checks milliseconds apart and
     * confirm a change of state ({@code PICOTUNNEL_ALERT_AFTER} checks in a row) at once, and weigh the uptime.
     */
    @Test
    void roundsHeldUpByALockedDatabaseAreNotMadeUpInABurst() throws Exception {
        Testbed testbed = closing(new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s")));
        String id = testbed.createTunnel("idle").get("id").asText();
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.checks(id, null, 1).size() == 1);

        Instant locked = Instant.now();
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("picotunnel.db"));
             Statement statement = other.createStatement()) {
            statement.execute("BEGIN IMMEDIATE");
            await().pollDelay(7, TimeUnit.SECONDS).atMost(8, TimeUnit.SECONDS).until(() -> true);
            statement.execute("ROLLBACK");
        }
        Instant released = Instant.now();
        await().atMost(15, TimeUnit.SECONDS).until(() -> Instant.parse(testbed.checks(id, null, 1).get(0)
                .get("created_at").asText()).isAfter(released.plusSeconds(4)));

        List<Instant> times = new ArrayList<>();
        for (JsonNode check : testbed.checks(id, null, 100)) {
            Instant at = Instant.parse(check.get("created_at").asText());
            if (at.isAfter(locked)) {
                times.add(at);
            }
        }
        times = times.reversed();
        for (int i = 1; i < times.size(); i++) {
            assertThat(Duration.between(times.get(i - 1), times.get(i))).as("checks %s", times)
                    .isGreaterThanOrEqualTo(INTERVAL.dividedBy(2));
        }
    }

    @Test
    void invalidHealthFieldsAreRefusedWithTheFieldNamed() {
        WebhookReceiver receiver = closing(new WebhookReceiver(0));
        Testbed testbed = testbed(2, receiver);
        String id = testbed.createTunnel("fields").get("id").asText();
        var response = testbed.api().post("/api/tunnels/" + id + "/services", "{\"type\":\"http\",\"domain\":\"a.example.test\","
                + "\"target_addr\":\"localhost:80\",\"health_path\":\"health\"}");
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("field").asText()).isEqualTo("health_path");
        response = testbed.api().post("/api/tunnels/" + id + "/services", "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + Ports.freePort() + "\",\"target_addr\":\"localhost:80\",\"health_path\":\"/x\"}");
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("message").asText()).contains("http services only");
        response = testbed.api().post("/api/tunnels/" + id + "/services", "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + Ports.freePort() + "\",\"target_addr\":\"localhost:80\",\"health_check\":\"yes\"}");
        assertThat(response.status()).isEqualTo(400);
        assertThat(testbed.api().get("/api/tunnels/" + id + "/services").json()).isEmpty();
    }

    /**
     * Waits until the tunnel's up state is confirmed (held for the alert threshold) and returns how many webhook
     * messages that took: one "up" when the very first check ran before the client had connected, else none.
     */
    private static int settleUp(Testbed testbed, WebhookReceiver receiver, String id) {
        int threshold = testbed.server().config().monitoring().alertAfter();
        await().atMost(20, TimeUnit.SECONDS).until(() -> {
            JsonNode newest = testbed.checks(id, null, threshold);
            if (newest.size() < threshold) {
                return false;
            }
            for (JsonNode check : newest) {
                if (!check.get("status").asText().equals("up")) {
                    return false;
                }
            }
            return true;
        });
        boolean startedDown = testbed.server().checks().changes(Subject.tunnel(id), Instant.EPOCH).getFirst().status()
                == CheckStatus.DOWN;
        int expected = startedDown ? 1 : 0;
        await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.tunnelMessages(id).size() == expected);
        return expected;
    }

    private static String newest(Testbed testbed, String tunnelId) {
        JsonNode checks = testbed.checks(tunnelId, null, 1);
        return checks.isEmpty() ? "none" : checks.get(0).get("status").asText();
    }

    private static JsonNode firstAfter(Testbed testbed, String tunnelId, Instant from, String status) {
        JsonNode first = null;
        for (JsonNode check : testbed.checks(tunnelId, null, 1000)) {
            if (!Instant.parse(check.get("created_at").asText()).isBefore(from) && check.get("status").asText().equals(status)) {
                first = check;
            }
        }
        assertThat(first).as("a %s check after %s", status, from).isNotNull();
        return first;
    }

    private static long checksSince(Testbed testbed, String tunnelId, Instant from) {
        long count = 0;
        for (JsonNode check : testbed.checks(tunnelId, null, 1000)) {
            if (!Instant.parse(check.get("created_at").asText()).isBefore(from)) {
                count++;
            }
        }
        return count;
    }

    private static long countSince(Testbed testbed, String tunnelId, Instant from, String status) {
        long count = 0;
        for (JsonNode check : testbed.checks(tunnelId, null, 1000)) {
            if (!Instant.parse(check.get("created_at").asText()).isBefore(from) && check.get("status").asText().equals(status)) {
                count++;
            }
        }
        return count;
    }
}
