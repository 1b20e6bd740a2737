package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import io.picotunnel.testkit.StallingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a visitor of an http service sees when the request cannot reach the app, through our server and our
 * real tunnel client over real sockets: a page in plain words for each cause the client reports in its stream
 * reset (docs/protocol.md), naming no address, port or flag; and the operator's log line with the service id.
 */
class VisitorPagesTest {

    /** Words that would reveal the set-up to a visitor. */
    private static final String[] INTERNAL = {"127.0.0.1", "--allow", "picotunnel-client", "token", "dial"};

    @TempDir
    Path dataDir;

    private TargetServer app;
    private TunnelFixture tunnel;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger exchangeLogger = (Logger) LoggerFactory.getLogger(Exchange.class);
    private Level exchangeLevel;

    @BeforeEach
    void setUp() throws Exception {
        app = new TargetServer("app");
        log.start();
        exchangeLevel = exchangeLogger.getLevel();
        exchangeLogger.setLevel(Level.INFO);
        exchangeLogger.addAppender(log);
    }

    @AfterEach
    void tearDown() {
        exchangeLogger.detachAppender(log);
        exchangeLogger.setLevel(exchangeLevel);
        if (tunnel != null) {
            tunnel.close();
        }
        app.close();
    }

    @Test
    void targetNotAllowedByTheClientGets502SayingItsOperatorCanAllowIt() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(),
                config -> config.withAllow(AllowList.parse("127.0.0.1:" + Ports.freePort())));
        String service = tunnel.addService("app.test", "/", app.address(), false);

        RawHttp.Response page = get("app.test");

        assertThat(page.status()).isEqualTo(502);
        assertThat(page.text()).contains("The tunnel&#39;s client does not allow this service&#39;s target. "
                + "Its operator can allow it on the client.");
        assertRevealsNothing(page, app.address());
        assertLogged(service, "not in the client's --allow list");
    }

    @Test
    void targetRefusingTheConnectionGets502SayingTheAppIsNotRunning() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of());
        String target = "127.0.0.1:" + Ports.freePort();
        String service = tunnel.addService("app.test", "/", target, false);

        RawHttp.Response page = get("app.test");

        assertThat(page.status()).isEqualTo(502);
        assertThat(page.text()).contains("The app behind this address is not running right now.");
        assertRevealsNothing(page, target);
        assertLogged(service, "the target refused the connection");
    }

    @Test
    void targetNotAnsweringWithinTheDialTimeoutGets504() throws Exception {
        try (SilentListener silent = new SilentListener()) {
            tunnel = new TunnelFixture(dataDir, Map.of(), config -> config.withDialTimeout(Duration.ofSeconds(1)));
            String service = tunnel.addService("app.test", "/", silent.address(), false);

            RawHttp.Response page = get("app.test");

            assertThat(page.status()).isEqualTo(504);
            assertThat(page.text()).contains("The app behind this address is not answering right now.");
            assertRevealsNothing(page, silent.address());
            assertLogged(service, "did not answer within the client's dial timeout");
        }
    }

    /**
     * Two uploads to apps that read nothing, through a client whose streams may hold one 256 KiB window in all:
     * each stream holds more than half its window once stuck, so the client resets one of them (the one whose app
     * has gone longest without reading) with reason 5, and its visitor is told why instead of the general page.
     */
    @Test
    void uploadsTheClientCannotHoldGet502SayingItsOperatorCanRaiseTheBufferLimit() throws Exception {
        int window = YamuxConfig.INITIAL_STREAM_WINDOW;
        tunnel = new TunnelFixture(dataDir, Map.of(), config -> config.withLimits(
                new SessionLimits(window, 0, YamuxConfig.DEFAULT_MAX_STREAMS, window)));
        List<RawHttp> visitors = new ArrayList<>();
        List<StallingServer> apps = new ArrayList<>();
        try {
            List<CompletableFuture<RawHttp.Response>> pages = new ArrayList<>();
            List<String> services = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                StallingServer stalled = new StallingServer();
                apps.add(stalled);
                services.add(tunnel.addService("app" + i + ".test", "/", stalled.address(), false));
                RawHttp visitor = new RawHttp(tunnel.httpPort());
                visitors.add(visitor);
                pages.add(upload(visitor, "app" + i + ".test", 64L << 20));
            }

            // The other upload stays stuck: its read times out (20 s) unless the test ends first.
            await().atMost(Duration.ofSeconds(60)).until(() -> pages.stream().anyMatch(VisitorPagesTest::answered)
                    || pages.stream().allMatch(CompletableFuture::isDone));
            int first = answered(pages.get(0)) ? 0 : 1;
            assertThat(answered(pages.get(first))).as("a page for either upload: %s", pages).isTrue();
            RawHttp.Response page = pages.get(first).join();

            assertThat(page.status()).isEqualTo(502);
            assertThat(page.text()).contains("The tunnel&#39;s client is holding too much data that its apps have not "
                    + "read yet, or has no memory left to hold it, so it dropped this request. Its operator can raise"
                    + " the client&#39;s buffer limit or, if the client ran out of memory, give it more memory or a"
                    + " lower buffer limit.");
            assertRevealsNothing(page, apps.get(first).address());
            assertThat(page.text()).doesNotContain("session-buffer-limit");
            assertLogged(services.get(first), "--session-buffer-limit");
        } finally {
            for (RawHttp visitor : visitors) {
                visitor.close();
            }
            apps.forEach(StallingServer::close);
        }
    }

    private static boolean answered(CompletableFuture<RawHttp.Response> page) {
        return page.isDone() && !page.isCompletedExceptionally();
    }

    /** Sends a POST with a body of {@code length} zeros from another thread; the page is read meanwhile. */
    private static CompletableFuture<RawHttp.Response> upload(RawHttp visitor, String host, long length)
            throws IOException {
        visitor.send("POST /upload HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/html\r\nContent-Length: "
                + length + "\r\n\r\n");
        Thread.ofVirtual().name("upload-" + host).start(() -> {
            byte[] chunk = new byte[64 * 1024];
            try {
                for (long sent = 0; sent < length; sent += chunk.length) {
                    visitor.out().write(chunk);
                }
            } catch (IOException e) {
                // the server answered and closed, or the test did
            }
        });
        return CompletableFuture.supplyAsync(() -> {
            try {
                return visitor.read();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, runnable -> Thread.ofVirtual().start(runnable));
    }

    @Test
    void appNotRespondingWithinTheProxyTimeoutGets504() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "1s"));
        tunnel.addService("app.test", "/", app.address(), false);

        RawHttp.Response page;
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            page = http.send("GET /hang HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\n\r\n").read();
        }

        assertThat(page.status()).isEqualTo(504);
        assertThat(page.text()).contains("The app behind this address did not answer within 1 s.");
        assertRevealsNothing(page, app.address());
    }

    @Test
    void aPartSecondProxyTimeoutIsNamedToTheMillisecondOnThe504AndInTheLog() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "1500ms"));
        tunnel.addService("app.test", "/", app.address(), false);

        RawHttp.Response page;
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            page = http.send("GET /hang HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\n\r\n").read();
        }

        assertThat(page.status()).isEqualTo(504);
        assertThat(page.text()).contains("did not answer within 1.5 s.");
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("did not answer GET", "within 1.5 s"));
    }

    @Test
    void aBodyStalledForAPartSecondProxyTimeoutGets408NamingItToTheMillisecond() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "1500ms"));
        tunnel.addService("app.test", "/", app.address(), false);

        RawHttp.Response page;
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            page = http.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\n"
                    + "Content-Length: 100\r\n\r\n").read();
        }

        assertThat(page.status()).isEqualTo(408);
        assertThat(page.text()).contains("nothing came for 1.5 s.");
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("stalled for 1.5 s"));
    }

    @Test
    void tunnelWithoutAClientGets502SayingTheTunnelIsOffline() throws Exception {
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir),
                new PrintStream(OutputStream.nullOutputStream()));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnelId = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
            api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\": \"http\", \"domain\": \"app.test\","
                    + " \"target_addr\": \"" + app.address() + "\"}");

            RawHttp.Response page;
            try (RawHttp http = new RawHttp(server.httpPort())) {
                page = http.send("GET / HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\n\r\n").read();
            }

            assertThat(page.status()).isEqualTo(502);
            assertThat(page.text()).contains("The tunnel is offline");
            assertRevealsNothing(page, app.address());
        }
    }

    @Test
    void jsonVisitorsGetTheReasonAsAnErrorCode() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of());
        tunnel.addService("app.test", "/", "127.0.0.1:" + Ports.freePort(), false);

        RawHttp.Response page;
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            page = http.send("GET / HTTP/1.1\r\nHost: app.test\r\nAccept: application/json\r\n\r\n").read();
        }

        assertThat(page.status()).isEqualTo(502);
        assertThat(page.text()).contains("\"error\":\"target_not_running\"");
    }

    private RawHttp.Response get(String host) throws IOException {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            return http.send("GET / HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/html\r\n\r\n").read();
        }
    }

    private static void assertRevealsNothing(RawHttp.Response page, String target) {
        String port = target.substring(target.lastIndexOf(':') + 1);
        assertThat(page.text()).doesNotContain(INTERNAL).doesNotContain(target, ":" + port);
    }

    private void assertLogged(String serviceId, String reason) {
        List<String> lines = new ArrayList<>();
        for (ILoggingEvent event : log.list) {
            lines.add(event.getFormattedMessage());
        }
        assertThat(lines).anySatisfy(line -> assertThat(line).contains("service " + serviceId, reason));
    }
}
