package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 10, the proxy's half: bodies and heads that stall, connection and stream limits, invalid chunked bodies,
 * request targets and headers made safe, and error pages and logs that give nothing away. All over real sockets,
 * through the server, a tunnel and our client.
 */
class ProxyHardeningTest {

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private TargetServer alpha;
    private TargetServer beta;

    @BeforeEach
    void targets() throws Exception {
        alpha = new TargetServer("alpha");
        beta = new TargetServer("beta");
    }

    @AfterEach
    void stop() {
        if (tunnel != null) {
            tunnel.close();
        }
        alpha.close();
        beta.close();
    }

    private void start(Map<Setting, String> settings) throws InterruptedException {
        Map<Setting, String> all = new EnumMap<>(Setting.class);
        all.put(Setting.PROXY_TIMEOUT, "2s");
        all.putAll(settings);
        tunnel = new TunnelFixture(dataDir, all);
        tunnel.addService("alpha.test", "/", alpha.address(), false);
        tunnel.addService("beta.test", "/", beta.address(), false);
    }

    private RawHttp connect() throws Exception {
        return new RawHttp(tunnel.httpPort());
    }

    private RawHttp connectFrom(String localAddress) throws Exception {
        return new RawHttp(tunnel.httpPort(), localAddress);
    }

    /** A connection from the front proxy (127.0.0.1) that has sent a PROXY protocol v1 header naming {@code visitor}. */
    private RawHttp proxied(String visitor) throws Exception {
        String family = visitor.contains(":") ? "TCP6 " : "TCP4 ";
        String local = visitor.contains(":") ? "::1" : "127.0.0.1";
        RawHttp http = connect();
        try {
            return http.send("PROXY " + family + visitor + " " + local + " 40000 80\r\n");
        } catch (IOException e) {
            http.close();
            throw e;
        }
    }

    /**
     * Starts the server behind a front proxy at 127.0.0.1 that speaks the PROXY protocol, with --max-connections 10
     * and --max-connections-per-address 2.
     */
    private void startBehindProxyProtocol() throws InterruptedException {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true",
                Setting.MAX_CONNECTIONS, "10", Setting.MAX_CONNECTIONS_PER_ADDRESS, "2"));
    }

    private static void closeAll(List<RawHttp> connections) throws IOException {
        for (RawHttp http : connections) {
            http.close();
        }
    }

    /**
     * The status of {@code response} and the {@code error} of its JSON body, e.g. "503 overloaded": a connection
     * limit's refusal, told apart from another answer with the same status.
     */
    private static String statusAndError(RawHttp.Response response) {
        Matcher error = Pattern.compile("\"error\":\"([^\"]*)\"").matcher(response.text());
        return response.status() + (error.find() ? " " + error.group(1) : "");
    }

    private static String stalledUpload(String host) {
        return "POST /upload HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 100\r\n\r\n";
    }

    // 1. A request body that makes no progress.

    @Test
    void stalledBodyGets408WhileOtherAddressesStillReachTheTunnelsServices() throws Exception {
        start(Map.of(Setting.MAX_CONNECTIONS_PER_ADDRESS, "6", Setting.MAX_TUNNEL_REQUESTS, "20", Setting.PROXY_TIMEOUT, "5s"));
        List<RawHttp> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                stalled.add(connect().send(stalledUpload("alpha.test")));
            }
            // Each stalled upload holds a stream from the moment the proxy opened it for the request head.
            await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.openRequests() == 6);
            try (RawHttp seventh = connect()) {
                assertThat(statusAndError(seventh.get("alpha.test", "/"))).as("over the per-address limit")
                        .isEqualTo("429 too_many_connections");
            }
            try (RawHttp other = connectFrom("127.0.0.2")) {
                RawHttp.Response response = other.get("beta.test", "/other");
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.text()).contains("service=beta", "uri=/other");
            }
            for (RawHttp http : stalled) {
                RawHttp.Response response = http.read();
                assertThat(response.status()).isEqualTo(408);
                assertThat(response.text()).contains("request body did not arrive");
                assertThat(http.closedWithin15s()).isTrue();
            }
        } finally {
            closeAll(stalled);
        }
        try (RawHttp again = connect()) {
            assertThat(again.get("alpha.test", "/after").text()).contains("service=alpha");
        }
    }

    @Test
    void bodyStalledAfterSomeBytesResetsTheStreamAndClosesTheConnection() throws Exception {
        start(Map.of());
        try (RawHttp http = connect()) {
            http.send(stalledUpload("alpha.test") + "0123456789");
            assertThat(http.closedWithin15s()).as("closed without a response").isTrue();
        }
        try (RawHttp http = connect()) {
            http.send("POST /upload HTTP/1.1\r\nHost: alpha.test\r\nContent-Length: 3\r\n\r\nabc");
            assertThat(http.read().text()).startsWith("bytes=3 ");
        }
    }

    // 2. Limits and deadlines.

    @Test
    void connectionsOverTheLimitsGet429Or503AndTheRefusalsAreLoggedOnce() throws Exception {
        start(Map.of(Setting.MAX_CONNECTIONS, "4", Setting.MAX_CONNECTIONS_PER_ADDRESS, "3"));
        List<RawHttp> open = new ArrayList<>();
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            for (int i = 0; i < 3; i++) {
                open.add(connect());
                assertThat(open.get(i).get("alpha.test", "/").status()).isEqualTo(200);
            }
            for (int i = 0; i < 3; i++) {
                try (RawHttp refused = connect()) {
                    RawHttp.Response response = refused.read();
                    assertThat(response.status()).isEqualTo(429);
                    assertThat(response.text()).contains("too_many_connections");
                }
            }
            open.add(connectFrom("127.0.0.2"));
            assertThat(open.get(3).get("beta.test", "/").status()).isEqualTo(200);
            try (RawHttp refused = connectFrom("127.0.0.3")) {
                assertThat(statusAndError(refused.read())).as("over the listener's limit").isEqualTo("503 overloaded");
            }
            assertThat(log.messages(Level.WARN)).as("one line for the five refusals").hasSize(1);
            assertThat(log.messages(Level.WARN).get(0)).contains("127.0.0.1", "--max-connections-per-address");
        } finally {
            closeAll(open);
        }
        // The server counts a connection out when it sees the close, a moment after the client closed it.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (RawHttp http = connect()) {
                assertThat(http.get("alpha.test", "/").status()).as("room again once connections closed").isEqualTo(200);
            }
        });
    }

    @Test
    void connectionsFromATrustedProxyCountInTheListenersTotalOnly() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.2/32", Setting.MAX_CONNECTIONS, "8",
                Setting.MAX_CONNECTIONS_PER_ADDRESS, "2"));
        List<RawHttp> open = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                RawHttp http = connectFrom("127.0.0.2");
                open.add(http);
                RawHttp.Response response = http.send("GET / HTTP/1.1\r\nHost: alpha.test\r\n"
                        + "X-Forwarded-For: 198.51.100." + (i + 1) + "\r\n\r\n").read();
                assertThat(response.status()).as("visitor %d through the front proxy", i + 1).isEqualTo(200);
            }
            for (int i = 0; i < 2; i++) {
                RawHttp http = connectFrom("127.0.0.3");
                open.add(http);
                assertThat(http.get("alpha.test", "/").status()).isEqualTo(200);
            }
            try (RawHttp third = connectFrom("127.0.0.3")) {
                RawHttp.Response response = third.get("alpha.test", "/");
                assertThat(response.status()).as("a third connection from an untrusted address").isEqualTo(429);
                assertThat(response.text()).contains("too_many_connections");
            }
            RawHttp eighth = connectFrom("127.0.0.2");
            open.add(eighth);
            assertThat(eighth.get("alpha.test", "/").status()).as("the listener's eighth").isEqualTo(200);
            try (RawHttp ninth = connectFrom("127.0.0.2")) {
                assertThat(statusAndError(ninth.get("alpha.test", "/")))
                        .as("over the listener's total, from the trusted proxy too").isEqualTo("503 overloaded");
            }
        } finally {
            closeAll(open);
        }
    }

    @Test
    void behindProxyProtocolConnectionsCountForTheVisitorTheHeaderNamesGet429OverItAndAreReleasedOnClose()
            throws Exception {
        startBehindProxyProtocol();
        List<RawHttp> open = new ArrayList<>();
        try (LogCapture log = new LogCapture(ConnectionLimits.class, Level.INFO)) {
            for (String visitor : List.of("198.51.100.1", "198.51.100.2")) {
                for (int i = 0; i < 2; i++) {
                    RawHttp http = proxied(visitor);
                    open.add(http);
                    assertThat(http.get("alpha.test", "/").status()).as("visitor %s, connection %d from the front proxy",
                            visitor, i + 1).isEqualTo(200);
                }
            }
            try (RawHttp third = proxied("198.51.100.1")) {
                // The request follows the header in the same write, as a front proxy sends it.
                RawHttp.Response response = third.send("GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n").read();
                assertThat(response.status()).as("a third connection of one visitor").isEqualTo(429);
                assertThat(response.text()).contains("too_many_connections");
            }
            assertThat(log.messages(Level.WARN)).hasSize(1);
            assertThat(log.messages(Level.WARN).get(0)).contains("198.51.100.1", "--max-connections-per-address");

            open.getFirst().close();
            // The server counts a connection out when it sees the close, a moment after the client closed it.
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
                try (RawHttp again = proxied("198.51.100.1")) {
                    assertThat(again.get("alpha.test", "/").status()).as("room again once one closed").isEqualTo(200);
                }
            });
        } finally {
            closeAll(open);
        }
    }

    @Test
    void behindProxyProtocolV2HeadersThatNameNoVisitorAreAcceptedAndTheProxysAddressStandsForIt() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        byte[] unixBlock = new byte[216];
        byte[] path = "/run/haproxy/front.sock".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(path, 0, unixBlock, 0, path.length);
        System.arraycopy(path, 0, unixBlock, 108, path.length);
        // LOCAL over AF_UNSPEC (HAProxy's health checks), PROXY over AF_UNSPEC, PROXY over AF_UNIX: the spec says to
        // accept them and use the connection's own addresses.
        Map<String, byte[]> headers = new LinkedHashMap<>();
        headers.put("LOCAL, UNSPEC", proxyV2(0x20, 0x00, new byte[0]));
        headers.put("PROXY, UNSPEC", proxyV2(0x21, 0x00, new byte[0]));
        headers.put("PROXY, UNIX stream", proxyV2(0x21, 0x31, unixBlock));
        for (Map.Entry<String, byte[]> header : headers.entrySet()) {
            try (RawHttp http = connect()) {
                http.out().write(header.getValue());
                RawHttp.Response response = http.get("alpha.test", "/");
                assertThat(response.status()).as(header.getKey()).isEqualTo(200);
                assertThat(response.text()).as(header.getKey()).contains("h:x-forwarded-for=127.0.0.1\n");
            }
        }
    }

    @Test
    void behindProxyProtocolTheProxysOwnConnectionsCountInTheListenersTotalOnly() throws Exception {
        startBehindProxyProtocol();
        List<RawHttp> open = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                RawHttp http = connect();
                open.add(http);
                // LOCAL: the proxy's own connection (HAProxy's health checks), which names no visitor.
                http.out().write(proxyV2(0x20, 0x00, new byte[0]));
                assertThat(http.get("alpha.test", "/").status()).as("the front proxy's connection %d", i + 1)
                        .isEqualTo(200);
            }
            try (RawHttp eleventh = connect()) {
                assertThat(statusAndError(eleventh.get("alpha.test", "/"))).as("over the listener's total of 10")
                        .isEqualTo("503 overloaded");
            }
        } finally {
            closeAll(open);
        }
    }

    /** A PROXY protocol version 2 header: {@code versionCommand}, {@code family}, then {@code body}. */
    private static byte[] proxyV2(int versionCommand, int family, byte[] body) {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        header.write(versionCommand);
        header.write(family);
        header.write(body.length >> 8);
        header.write(body.length);
        header.writeBytes(body);
        return header.toByteArray();
    }

    @Test
    void behindProxyProtocolIpv6VisitorsOfOneSlash64ShareTheirLimit() throws Exception {
        startBehindProxyProtocol();
        List<RawHttp> open = new ArrayList<>();
        try {
            for (String visitor : List.of("2001:db8:1:2::1", "2001:db8:1:2:ffff::2")) {
                RawHttp http = proxied(visitor);
                open.add(http);
                assertThat(http.get("alpha.test", "/").status()).isEqualTo(200);
            }
            try (RawHttp third = proxied("2001:db8:1:2::3")) {
                assertThat(statusAndError(third.get("alpha.test", "/"))).as("a third connection from the same /64")
                        .isEqualTo("429 too_many_connections");
            }
            RawHttp nextBlock = proxied("2001:db8:1:3::1");
            open.add(nextBlock);
            assertThat(nextBlock.get("alpha.test", "/").status()).as("the next /64").isEqualTo(200);
        } finally {
            closeAll(open);
        }
    }

    @Test
    void requestHeadThatDoesNotCompleteIsClosedAtTheHeaderDeadline() throws Exception {
        start(Map.of(Setting.HEADER_TIMEOUT, "1s"));
        try (RawHttp http = connect()) {
            http.send("GET / HTTP/1.1\r\nHost: alp");
            assertThat(http.closedWithin15s()).as("first head cut short").isTrue();
        }
        try (RawHttp http = connect()) {
            assertThat(http.get("alpha.test", "/one").status()).isEqualTo(200);
            http.send("GET /two HTTP/1.1\r\nHost: alpha.test\r\nX-Slow: ");
            assertThat(http.closedWithin15s()).as("later head cut short").isTrue();
        }
    }

    @Test
    void aHeadBegunDuringAnExchangeMustBeWholeWithinTheHeaderTimeoutOnceTheExchangeEnds() throws Exception {
        start(Map.of(Setting.HEADER_TIMEOUT, "1s"));
        try (RawHttp http = connect()) {
            http.send("GET /sse HTTP/1.1\r\nHost: alpha.test\r\n\r\n");
            alpha.sseEvents.add("tick"); // the target's head goes with its first event
            assertThat(http.read(true).status()).isEqualTo(200);
            assertThat(List.of(http.line(), http.line(), http.line(), http.line())).containsExactly("c", "data: tick", "", "");
            http.send("GET /two HTTP/1.1\r\nHost: alpha.test\r\nX-Slow: ");
            alpha.sseEvents.add("tock"); // a round trip while the exchange goes on: the proxy has read the part
            assertThat(List.of(http.line(), http.line(), http.line(), http.line())).containsExactly("c", "data: tock", "", "");
            alpha.sseEvents.add("END");
            assertThat(http.line()).isEqualTo("0");
            assertThat(http.line()).isEmpty();
            // It was left to the idle timeout (75 s) instead: a slow-loris could hold each connection that long.
            assertThat(http.closedWithin15s()).as("the head begun during the exchange, cut short").isTrue();
        }
    }

    @Test
    void tunnelRequestLimitAnswers503AndWarnsOnce() throws Exception {
        start(Map.of(Setting.MAX_TUNNEL_REQUESTS, "2", Setting.UPSTREAM_KEEPALIVE_TIMEOUT, "0", Setting.PROXY_TIMEOUT, "5s"));
        try (LogCapture log = new LogCapture(TunnelUpstream.class, Level.INFO);
             RawHttp first = connect().send(stalledUpload("alpha.test"));
             RawHttp second = connect().send(stalledUpload("beta.test"))) {
            // Each stalled upload holds a stream from the moment the proxy opened it for the request head.
            await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.openRequests() == 2);
            for (int i = 0; i < 3; i++) {
                try (RawHttp third = connect()) {
                    RawHttp.Response response = third.get("beta.test", "/");
                    assertThat(response.status()).isEqualTo(503);
                    assertThat(response.header("retry-after")).as("as client_stopping's").isEqualTo("5");
                    assertThat(response.text()).contains("as many requests as it may");
                }
            }
            assertThat(log.messages(Level.WARN)).hasSize(1);
            assertThat(log.messages(Level.WARN).get(0)).contains("--max-tunnel-requests");
            assertThat(first.read().status()).isEqualTo(408);
            assertThat(second.read().status()).isEqualTo(408);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.openRequests() == 0);
        try (RawHttp http = connect()) {
            assertThat(http.get("beta.test", "/").text()).contains("service=beta");
        }
    }

    // 3. Malformed chunked bodies.

    @Test
    void malformedChunkedBodyGets400AndTheConnectionCloses() throws Exception {
        start(Map.of());
        for (String body : List.of("3\r\nabc\r\nZZ\r\n", "3\r\nabcXY\r\n0\r\n\r\n", "-1\r\nabc\r\n0\r\n\r\n")) {
            try (RawHttp http = connect()) {
                http.send("POST /upload HTTP/1.1\r\nHost: alpha.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
                RawHttp.Response response = http.read();
                assertThat(response.status()).as(body).isEqualTo(400);
                assertThat(response.text()).contains("not valid chunked encoding");
                assertThat(http.closedWithin15s()).isTrue();
            }
        }
        try (RawHttp http = connect()) {
            http.send("POST /upload HTTP/1.1\r\nHost: alpha.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
            assertThat(http.read().text()).startsWith("bytes=3 ");
        }
    }

    // 8. Request targets and headers.

    @Test
    void pathsAreNormalisedBeforePrefixMatchingAndSentNormalised() throws Exception {
        start(Map.of());
        tunnel.addService("app.test", "/", alpha.address(), false);
        tunnel.addService("app.test", "/api", beta.address(), false);
        try (RawHttp http = connect()) {
            assertThat(http.get("app.test", "/%61pi/x?q=%2e").text()).contains("service=beta", "uri=/api/x?q=%2e");
            assertThat(http.get("app.test", "/api/../x").text()).contains("service=alpha", "uri=/x\n");
            assertThat(http.get("app.test", "/api/%2E%2e/x").text()).contains("service=alpha", "uri=/x\n");
            assertThat(http.get("app.test", "/a/./b/../api/y").text()).contains("service=alpha", "uri=/a/api/y");
            assertThat(http.get("app.test", "/../../api/z").text()).contains("service=beta", "uri=/api/z");
            assertThat(http.get("app.test", "/x%2Fy").text()).as("an encoded slash is no separator")
                    .contains("service=alpha", "uri=/x%2Fy");
            assertThat(http.get("app.test", "/api%2Fx").status()).as("but a target may read it as one: /api/x")
                    .isEqualTo(400);
        }
        try (RawHttp http = connect()) {
            assertThat(http.get("app.test", "/api/%zz").status()).isEqualTo(400);
            assertThat(http.closedWithin15s()).isTrue();
        }
    }

    @Test
    void absoluteFormTargetSetsTheHostAndDuplicateHostGets400() throws Exception {
        start(Map.of());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET http://alpha.test/abs?x=1 HTTP/1.1\r\nHost: beta.test\r\n\r\n").read();
            assertThat(response.text()).contains("service=alpha", "uri=/abs?x=1", "h:host=alpha.test\n",
                    "h:x-forwarded-host=alpha.test\n");
        }
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET / HTTP/1.1\r\nHost: alpha.test\r\nHost: beta.test\r\n\r\n").read();
            assertThat(response.status()).isEqualTo(400);
            assertThat(response.text()).contains("more than one Host header");
            assertThat(http.closedWithin15s()).isTrue();
        }
    }

    @Test
    void aHostHeaderThatIsNoHostNameGets400AndIsNeitherRoutedNorRedirected() throws Exception {
        start(Map.of());
        tunnel.addService("*.wild.test", "/", alpha.address(), true);
        // Matched as one label of the wildcard, "x/" made the redirect's Location https://x/.wild.test/ (another host).
        for (String host : List.of("x/.wild.test", "x?.wild.test", "x#.wild.test", "u@x.wild.test", "x\\.wild.test",
                "x\u00e9.wild.test")) {
            try (RawHttp http = connect()) {
                RawHttp.Response response = http.send("GET /p HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
                assertThat(response.status()).as(host).isEqualTo(400);
                assertThat(response.text()).as(host).contains("not a host name");
                assertThat(response.header("location")).as(host).isNull();
            }
        }
        for (String host : List.of("x.wild.test", "x.wild.test:80", "X-1_a.Wild.test.")) {
            try (RawHttp http = connect()) {
                RawHttp.Response response = http.send("GET /p HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
                assertThat(response.status()).as(host).isEqualTo(308);
                assertThat(response.header("location")).as(host).startsWith("https://").endsWith("/p");
            }
        }
        try (RawHttp http = connect()) {
            assertThat(http.send("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").read().status()).as("an IP literal")
                    .isEqualTo(404);
        }
    }

    @Test
    void h2cUpgradeAndClientForwardingHeadersAreNotPassedOn() throws Exception {
        start(Map.of());
        try (RawHttp http = connect()) {
            http.send("GET /h HTTP/1.1\r\nHost: alpha.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
                    + "X-Forwarded-Port: 1\r\nX-Forwarded-Prefix: /evil\r\nX-Original-URL: /admin\r\n"
                    + "True-Client-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\nCF-Connecting-IP: 6.6.6.6\r\n"
                    + "X-Forwarded-Server: evil\r\nX-Kept: yes\r\n\r\n");
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            String seen = response.text().toLowerCase(Locale.ROOT);
            assertThat(seen).contains("uri=/h", "h:x-kept=yes", "h:x-forwarded-for=127.0.0.1");
            assertThat(seen).doesNotContain("h2c", "http2-settings", "h:upgrade", "x-forwarded-port", "x-forwarded-prefix",
                    "x-original-url", "true-client-ip", "x-client-ip", "cf-connecting-ip", "6.6.6.6", "evil");
            assertThat(http.get("alpha.test", "/next").text()).as("the connection stays HTTP/1.1").contains("uri=/next");
        }
    }

    /** RFC 9110 7.8: a server must ignore an Upgrade received in an HTTP/1.0 request; it went on to the target. */
    @Test
    void anHttp10RequestsUpgradeIsIgnoredAndNotPassedOn() throws Exception {
        start(Map.of());
        try (RawHttp http = connect()) {
            http.send("GET /h10 HTTP/1.0\r\nHost: alpha.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "X-Kept: yes\r\n\r\n");
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            String seen = response.text().toLowerCase(Locale.ROOT);
            assertThat(seen).contains("uri=/h10", "h:x-kept=yes").doesNotContain("h:upgrade", "h:connection=upgrade");
        }
    }

    // 9. Error pages and odd framing.

    @Test
    void errorPagesNameNoTargetAddress() throws Exception {
        start(Map.of());
        int port = Ports.freePort();
        tunnel.addService("gone.test", "/", "127.0.0.1:" + port, false);
        tunnel.addService("slow.test", "/", alpha.address(), false);
        try (RawHttp http = connect()) {
            RawHttp.Response refused = http.get("gone.test", "/");
            assertThat(refused.status()).isEqualTo(502);
            assertThat(refused.text()).contains("not running right now").doesNotContain(Integer.toString(port), "127.0.0.1");
        }
        try (RawHttp http = connect()) {
            RawHttp.Response slow = http.send("GET /hang HTTP/1.1\r\nHost: slow.test\r\nAccept: application/json\r\n\r\n").read();
            assertThat(slow.status()).isEqualTo(504);
            assertThat(slow.text()).contains("gateway_timeout").doesNotContain(alpha.address(), "127.0.0.1");
        }
    }

    @Test
    void contentLengthListGets400() throws Exception {
        start(Map.of());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("POST /upload HTTP/1.1\r\nHost: alpha.test\r\nContent-Length: 3, 3\r\n\r\nabc")
                    .read();
            assertThat(response.status()).isEqualTo(400);
            assertThat(response.text()).contains("Content-Length");
            assertThat(http.closedWithin15s()).isTrue();
        }
    }
}
