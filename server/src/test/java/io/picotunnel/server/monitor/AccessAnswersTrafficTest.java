package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.server.access.ServiceSignIn;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.OidcSettings;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.Ports;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the access checks answer themselves (401 without the service's password, 403 to a denied address, 429 over the
 * rate limit, 302 of a page load sent to sign in) counts as one of the service's requests with its response, in the
 * API's figures of the service and of its tunnel and in /metrics' status classes; before, none of it was counted. A
 * real server and client on loopback, raw HTTP/1.1 visitors. So do the proxy's answers to requests routed to the
 * service: https_redirect's 308, the 400 of a path another service's may be read as. (The password checks' busy 503,
 * a failed check's 500, and HTTP/2: ProxyHandlerAccessCheckTest.)
 */
class AccessAnswersTrafficTest {

    private static final String DOMAIN = "gated.example.test";
    private static final List<String> CLASSES = List.of("1xx", "2xx", "3xx", "4xx", "5xx");

    @TempDir
    Path dataDir;

    private HttpServer web;
    private MockOAuth2Server provider;
    private Testbed testbed;
    private String tunnelId;
    private String serviceId;

    @BeforeEach
    void startTarget() throws IOException {
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        web.start();
    }

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        if (provider != null) {
            provider.shutdown();
        }
        web.stop(0);
    }

    @Test
    void aRequestWithoutThePasswordAnswered401CountsOnceAsA4xx() throws Exception {
        start(Map.of(), "\"auth\":{\"type\":\"basic\",\"username\":\"alice\",\"password\":\"correct horse\"}");
        assertCountedOnce("", "HTTP/1.1 401", "4xx");
    }

    /** Answered once its password check ran off the event loop (the verdict handed back), unlike the 401 above. */
    @Test
    void aWrongPasswordAnswered401OnceItsCheckRanCountsOnceAsA4xx() throws Exception {
        start(Map.of(), "\"auth\":{\"type\":\"basic\",\"username\":\"alice\",\"password\":\"correct horse\"}");
        String wrong = Base64.getEncoder().encodeToString("alice:wrong horse".getBytes(StandardCharsets.UTF_8));
        assertCountedOnce("Authorization: Basic " + wrong + "\r\n", "HTTP/1.1 401", "4xx");
    }

    @Test
    void aRequestFromADeniedAddressAnswered403CountsOnceAsA4xx() throws Exception {
        start(Map.of(), "\"ip_deny\":[\"127.0.0.1\"]");
        assertCountedOnce("", "HTTP/1.1 403", "4xx");
    }

    @Test
    void aRequestOverTheRateLimitAnswered429CountsOnceAsA4xx() throws Exception {
        start(Map.of(), "\"rate_limit\":{\"per_second\":0.001,\"burst\":1}");
        assertThat(get("/", "")).as("the burst's one request").startsWith("HTTP/1.1 204");
        await().atMost(10, TimeUnit.SECONDS).until(() -> figures().active() == 0);
        assertCountedOnce("", "HTTP/1.1 429", "4xx");
    }

    @Test
    void aPageLoadSentToSignInCountsOnceAsA3xx() throws Exception {
        provider = new MockOAuth2Server();
        provider.start();
        int mgmtPort = Ports.freePort();
        start(OidcSettings.signingInThrough(provider, mgmtPort, "admin@example.com"),
                "\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}");
        String answer = assertCountedOnce("Accept: text/html\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n",
                "HTTP/1.1 302", "3xx");
        assertThat(answer).containsIgnoringCase("location: http://localhost:" + mgmtPort + ServiceSignIn.LOGIN_ROUTE);
    }

    @Test
    void aPlainHttpRequestSentToHttpsByHttpsRedirectCountsOnceAsA3xx() throws Exception {
        start(Map.of(), "\"https_redirect\":true");
        String answer = assertCountedOnce("/", "", "HTTP/1.1 308", "3xx");
        assertThat(answer).containsIgnoringCase("location: https://" + DOMAIN);
    }

    /** Counted as a request of the service it was routed to, the open "/" one: the gated one never saw it. */
    @Test
    void aPathAnotherServicesMayBeReadAsAnswered400CountsOnceAsA4xxOfTheServiceItWasRoutedTo() throws Exception {
        start(Map.of(), "\"path_prefix\":\"/\"");
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + DOMAIN + "\",\"path_prefix\":\"/admin\","
                + "\"target_addr\":\"127.0.0.1:" + web.getAddress().getPort() + "\",\"health_check\":false}");
        assertCountedOnce("//admin/x", "", "HTTP/1.1 400", "4xx");
    }

    /** The server, with {@code settings}, and one connected tunnel with one http service of {@code access}. */
    private void start(Map<Setting, String> settings, String access) {
        Map<Setting, String> all = new EnumMap<>(Setting.class);
        all.put(Setting.CHECK_INTERVAL, "1h");
        all.putAll(settings);
        testbed = new Testbed(dataDir, all);
        tunnelId = testbed.createConnectedTunnel("gated");
        serviceId = testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + DOMAIN + "\",\"target_addr\":"
                + "\"127.0.0.1:" + web.getAddress().getPort() + "\",\"health_check\":false," + access + "}")
                .get("id").asText();
    }

    /** A GET of {@code path} of the service on a connection of its own, with {@code headers} (lines ending in CRLF); its head. */
    private String get(String path, String headers) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + DOMAIN + "\r\n" + headers
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            String head = HttpHead.read(in);
            in.readNBytes(HttpHead.MAX); // to the close: the answer is whole
            return head;
        }
    }

    /** The service's requests (all, and in progress), its tunnel's, and its responses by class in the API and /metrics. */
    private record Figures(long requests, long active, long tunnelRequests, Map<String, Long> api,
            Map<String, Long> metrics) {
    }

    private Figures figures() {
        JsonNode service = null;
        for (JsonNode candidate : testbed.api().get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (candidate.get("id").asText().equals(serviceId)) {
                service = candidate;
            }
        }
        assertThat(service).as("the service in the API").isNotNull();
        JsonNode tunnel = testbed.api().get("/api/tunnels/" + tunnelId).json();
        String scraped = testbed.api().get("/metrics").raw().body();
        Map<String, Long> api = new LinkedHashMap<>();
        Map<String, Long> metrics = new LinkedHashMap<>();
        for (String statusClass : CLASSES) {
            api.put(statusClass, service.get("requests").get(statusClass).asLong());
            metrics.put(statusClass, HttpRequestsMetric.value(scraped, serviceId, statusClass));
        }
        return new Figures(service.get("total_connections").asLong(), service.get("active_connections").asLong(),
                tunnel.get("total_connections").asLong(), api, metrics);
    }

    /**
     * A GET with {@code headers} is answered with a head starting {@code statusLine}, and counts once: one more request,
     * of the service and of its tunnel, and one more response, of {@code statusClass}. The answer's head.
     */
    private String assertCountedOnce(String headers, String statusLine, String statusClass) throws IOException {
        return assertCountedOnce("/", headers, statusLine, statusClass);
    }

    /** As above, a GET of {@code path}. */
    private String assertCountedOnce(String path, String headers, String statusLine, String statusClass)
            throws IOException {
        Figures before = figures();
        String head = get(path, headers);
        assertThat(head).startsWith(statusLine);
        Figures after = figures();
        assertThat(after.requests() - before.requests()).as("the service's requests").isEqualTo(1);
        assertThat(after.active()).as("its requests in progress").isZero();
        assertThat(after.tunnelRequests() - before.tunnelRequests()).as("the tunnel's requests").isEqualTo(1);
        for (String c : CLASSES) {
            long expected = c.equals(statusClass) ? 1 : 0;
            assertThat(after.api().get(c) - before.api().get(c)).as("%s responses in the API: %s", c, after)
                    .isEqualTo(expected);
            assertThat(after.metrics().get(c) - before.metrics().get(c)).as("%s responses in /metrics: %s", c, after)
                    .isEqualTo(expected);
        }
        return head;
    }
}
