package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * While the server drains to stop (SIGTERM, within its shutdown grace period), the visitors' keep-alive connections
 * take no next request: a request on one hears that the server is stopping (503 {@code server_stopping},
 * Retry-After), not that the tunnel's client is gone, and every answer closes its connection, so that the visitor's
 * next request goes to the server's next instance. A keep-alive connection idle between requests is closed when the
 * drain begins, and an HTTP/2 connection gets GOAWAY then. Real server, client and target; HTTP/1.1 on plain
 * sockets, HTTP/2 over TLS (the HTTPS listener, ALPN h2).
 */
class HttpServerDrainEndToEndTest {

    private static final String HOST = "drain.test";
    private static final Pattern CONTENT_LENGTH = Pattern.compile("(?im)^content-length: *(\\d+)");

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;

    private final TestCertificates ca = new TestCertificates();
    private final HttpClient h2 = ca.httpClient(HttpClient.Version.HTTP_2);

    @BeforeEach
    void start() {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "drain", HOST);
        testbed.connect(tunnel.id, tunnel.token);
    }

    @AfterEach
    void stop() {
        h2.shutdownNow();
        testbed.server().stopNow();
        testbed.close();
        tunnel.close();
    }

    @Test
    void aRequestOnAConnectionOpenedBeforeTheDrainGets503ServerStoppingAndEveryAnswerClosesItsConnection()
            throws Exception {
        try (Socket fresh = visitor(); Socket waiting = visitor();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            assertThat(exchange(waiting)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
            holdARequestOf(waiting);

            Thread stopping = stopAndAwaitTheDrain(drain);

            String next = exchange(fresh);
            assertThat(next).startsWith("HTTP/1.1 503").contains("\"error\":\"server_stopping\"")
                    .containsIgnoringCase("retry-after: 5").containsIgnoringCase("connection: close")
                    .contains("did not reach the app");
            assertThat(fresh.getInputStream().read()).as("the connection is closed after the 503").isEqualTo(-1);
            assertThat(tunnel.web.requestCount()).as("the app never saw it").isEqualTo(2);

            tunnel.web.answerHeldRequest();
            assertThat(read(waiting)).as("an answer that came while the server drains")
                    .startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close").endsWith("hello");
            assertThat(waiting.getInputStream().read()).as("its connection is closed after it").isEqualTo(-1);
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    @Test
    void aKeepAliveConnectionIdleBetweenRequestsIsClosedWhenTheDrainBegins() throws Exception {
        try (Socket idle = visitor(); Socket waiting = visitor();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            assertThat(exchange(idle)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
            holdARequestOf(waiting);

            Thread stopping = stopAndAwaitTheDrain(drain);

            assertThat(idle.getInputStream().read()).as("the idle connection is closed, no request sent").isEqualTo(-1);
            assertThat(stopping.isAlive()).as("the drain still waits for the held request").isTrue();

            tunnel.web.answerHeldRequest();
            assertThat(read(waiting)).as("the request in flight finishes")
                    .startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close").endsWith("hello");
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    /**
     * From the moment the ports close, not only once the HTTP proxy's step of the drain comes: the drain is held
     * between the two here (by the tcp services' lock, which the step that closes their listeners takes, as a slow
     * step would hold it). Either the keep-alive connection was closed as idle, or its request is answered 503
     * {@code server_stopping} with {@code Connection: close}; never kept open.
     */
    @Test
    void aKeepAliveRequestOnceThePortsCloseClosesItsConnectionEvenBeforeTheDrainReachesTheProxy() throws Exception {
        try (Socket idle = visitor()) {
            assertThat(exchange(idle)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
            int port = testbed.server().httpPort();
            Thread stopping;
            synchronized (testbed.server().tcpServices()) {
                stopping = Thread.ofPlatform().daemon().name("server-stop")
                        .start(() -> testbed.server().stop(Duration.ofSeconds(30)));
                await().atMost(Duration.ofSeconds(10)).until(() -> Ports.refuses(port));

                String answer = sendGetAndReadToTheClose(idle);
                if (!answer.isEmpty()) {
                    assertThat(answer).startsWith("HTTP/1.1 503").contains("\"error\":\"server_stopping\"")
                            .containsIgnoringCase("connection: close");
                }
            }
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends").isFalse();
        }
    }

    /**
     * Sends a keep-alive GET and reads all until the server closes the connection (a reset counts as a close); fails
     * with a SocketTimeoutException when the connection is kept open.
     */
    private static String sendGetAndReadToTheClose(Socket visitor) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            sendGet(visitor);
            InputStream in = visitor.getInputStream();
            byte[] buffer = new byte[4096];
            for (int i = 0; i < 1_000; i++) {
                int n = in.read(buffer);
                if (n < 0) {
                    break;
                }
                all.write(buffer, 0, n);
            }
        } catch (SocketException closed) {
            // Closed as idle while the GET went out: the server reset it.
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void anHttp2ConnectionGetsGoAwayWhenTheDrainBeginsAndItsStreamInFlightFinishes() throws Exception {
        try (LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            HttpResponse<String> first = h2.send(h2Get(), HttpResponse.BodyHandlers.ofString());
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
            tunnel.web.holdNextRequest();
            CompletableFuture<HttpResponse<String>> held = h2.sendAsync(h2Get(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.web.requestCount() == 2);

            Thread stopping = stopAndAwaitTheDrain(drain);

            // After GOAWAY the client opens a new connection, which the closed listener refuses; on the old
            // connection the request would have been answered (503 server_stopping) by the stopping server.
            await("a new request goes to a new connection").atMost(Duration.ofSeconds(10)).until(() -> {
                try {
                    h2.send(h2Get(), HttpResponse.BodyHandlers.ofString());
                    return false;
                } catch (ConnectException refused) {
                    return true;
                }
            });
            assertThat(tunnel.web.requestCount()).as("the app saw no request after the drain began").isEqualTo(2);

            tunnel.web.answerHeldRequest();
            HttpResponse<String> answer = held.get(10, TimeUnit.SECONDS);
            assertThat(answer.statusCode()).as("the stream in flight finishes").isEqualTo(200);
            assertThat(answer.body()).isEqualTo("hello");
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    /**
     * The HTTP and HTTPS ports close when the drain begins: an http service created or enabled during the drain is
     * stored but nothing listens for it, and the API says so, as for a tcp service; one that was active before the
     * drain stays active, its request in flight still served.
     */
    @Test
    void anHttpServiceCreatedOrEnabledWhileTheServerDrainsIsShownNotListeningBecauseTheServerIsStopping()
            throws Exception {
        String activeBefore = serviceOf(HOST).get("id").asText();
        String enabledDuring = createHttpService("enabled.drain.test", false);
        try (Socket waiting = visitor();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            assertThat(exchange(waiting)).startsWith("HTTP/1.1 200");
            holdARequestOf(waiting);
            Thread stopping = stopAndAwaitTheDrain(drain);

            String createdDuring = createHttpService("created.drain.test", true);
            ApiClient.Response enabled = testbed.api().patch("/api/services/" + enabledDuring, "{\"enabled\":true}");
            assertThat(enabled.status()).as(enabled.toString()).isEqualTo(200);

            // Before: "active": true, "error": null for both, though the HTTP and HTTPS ports were closed.
            for (String id : new String[] {createdDuring, enabledDuring}) {
                JsonNode service = serviceJson(id);
                assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
                assertThat(service.get("error").asText()).as("%s", service)
                        .isEqualTo("not listening: the server is stopping; it listens from the next start");
            }
            JsonNode before = serviceJson(activeBefore);
            assertThat(before.get("active").asBoolean()).as("%s", before).isTrue();
            assertThat(before.get("error").isNull()).as("%s", before).isTrue();

            tunnel.web.answerHeldRequest();
            assertThat(read(waiting)).startsWith("HTTP/1.1 200");
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    /**
     * An http service active before the drain whose domain or path prefix changes during it has a route no visitor can
     * reach in this run (the ports are closed, the sessions take no new streams): the API says so, as for a tcp service
     * moved to another address; moved back to the route it had when the drain began, or changed in its target only, it
     * reads active again.
     */
    @Test
    void anHttpServiceWhoseRouteChangesWhileTheServerDrainsIsShownNotListeningUntilItIsBackOnItsRoute()
            throws Exception {
        String moved = createHttpService("moved.drain.test", true);
        String prefixed = createHttpService("prefixed.drain.test", true);
        try (Socket waiting = visitor();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            assertThat(exchange(waiting)).startsWith("HTTP/1.1 200");
            holdARequestOf(waiting);
            Thread stopping = stopAndAwaitTheDrain(drain);

            patch(moved, "{\"domain\":\"elsewhere.drain.test\"}");
            patch(prefixed, "{\"path_prefix\":\"/api\"}");

            // Before: "active": true, "error": null for both, though no visitor could reach the new route.
            for (String id : new String[] {moved, prefixed}) {
                JsonNode service = serviceJson(id);
                assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
                assertThat(service.get("error").asText()).as("%s", service)
                        .isEqualTo("not listening: the server is stopping; it listens from the next start");
            }

            patch(moved, "{\"domain\":\"moved.drain.test\"}");
            patch(prefixed, "{\"path_prefix\":\"/\"}");
            for (String id : new String[] {moved, prefixed}) {
                JsonNode service = serviceJson(id);
                assertThat(service.get("active").asBoolean()).as("back on its route: %s", service).isTrue();
                assertThat(service.get("error").isNull()).as("%s", service).isTrue();
            }

            tunnel.web.answerHeldRequest();
            assertThat(read(waiting)).startsWith("HTTP/1.1 200");
            stopping.join(Duration.ofSeconds(20));
            assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
        }
    }

    private void patch(String serviceId, String json) {
        ApiClient.Response changed = testbed.api().patch("/api/services/" + serviceId, json);
        assertThat(changed.status()).as(changed.toString()).isEqualTo(200);
    }

    /** Creates an http service of the tunnel to its web target; returns its id. */
    private String createHttpService(String domain, boolean enabled) {
        return testbed.createService(tunnel.id, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\""
                + tunnel.web.address() + "\",\"enabled\":" + enabled + "}").get("id").asText();
    }

    private JsonNode serviceOf(String domain) {
        for (JsonNode service : testbed.api().get("/api/services").json()) {
            if (domain.equals(service.get("domain").asText(null))) {
                return service;
            }
        }
        throw new AssertionError("no service of " + domain);
    }

    private JsonNode serviceJson(String serviceId) {
        for (JsonNode service : testbed.api().get("/api/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service;
            }
        }
        throw new AssertionError("no service " + serviceId);
    }

    /** The app holds the next request, {@code waiting}'s GET, unanswered; it is the app's second. */
    private void holdARequestOf(Socket waiting) throws IOException {
        tunnel.web.holdNextRequest();
        sendGet(waiting);
        await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.web.requestCount() == 2);
    }

    /** Stops the server with a 30 s grace on a thread of its own, returned once its drain has begun. */
    private Thread stopAndAwaitTheDrain(LogCapture drain) {
        Thread stopping = Thread.ofPlatform().daemon().name("server-stop")
                .start(() -> testbed.server().stop(Duration.ofSeconds(30)));
        await("the server drains").atMost(Duration.ofSeconds(10))
                .until(() -> drain.messages(Level.INFO).stream().anyMatch(m -> m.startsWith("draining: ")));
        return stopping;
    }

    private HttpRequest h2Get() {
        return HttpRequest.newBuilder(URI.create("https://" + HOST + ":" + testbed.server().httpsPort() + "/"))
                .header("Accept", "application/json").timeout(Duration.ofSeconds(10)).build();
    }

    private Socket visitor() throws IOException {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort());
        visitor.setSoTimeout(10_000);
        return visitor;
    }

    private static String exchange(Socket visitor) throws IOException {
        sendGet(visitor);
        return read(visitor);
    }

    /** A keep-alive {@code GET /} asking for JSON pages. */
    private static void sendGet(Socket visitor) throws IOException {
        visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        visitor.getOutputStream().flush();
    }

    /** One response delimited by its Content-Length: head and body, read no further. */
    private static String read(Socket visitor) throws IOException {
        InputStream in = visitor.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        for (int i = 0; i < 16_384 && !head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n"); i++) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        Matcher length = CONTENT_LENGTH.matcher(text);
        assertThat(length.find()).as("a Content-Length in %s", text).isTrue();
        byte[] body = in.readNBytes(Integer.parseInt(length.group(1)));
        return text + new String(body, StandardCharsets.UTF_8);
    }
}
