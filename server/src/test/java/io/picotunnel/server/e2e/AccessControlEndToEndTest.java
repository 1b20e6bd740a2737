package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.UntrustedProxyHint;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * ip_allow, ip_deny, rate_limit and basic auth in front of real services: the server, our tunnel client, and real
 * targets behind it, visited from two loopback addresses (127.0.0.1 and 127.0.0.2).
 */
class AccessControlEndToEndTest {

    private static final String HOST = "app.test";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private RecordingTarget web;
    private EchoServer echo;
    private String tunnelId;
    private final Visitor first = new Visitor("127.0.0.1");
    private final Visitor second = new Visitor("127.0.0.2");

    private void start(Map<Setting, String> settings) {
        testbed = new Testbed(dataDir, settings);
        web = new RecordingTarget();
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("access");
        tunnelId = tunnel.get("id").asText();
        testbed.connect(tunnelId, tunnel.get("token").asText());
    }

    private void start() {
        start(Map.of());
    }

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        if (web != null) {
            web.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    private JsonNode createHttpService(String accessFields) {
        ApiClient.Response response = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"target_addr\":\"" + web.address() + "\""
                        + accessFields + "}");
        assertThat(response.status()).as("create http service: %s", response).isEqualTo(201);
        return response.json();
    }

    private int createTcpService(String accessFields) {
        return TcpServicePorts.create(testbed.api(), tunnelId, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:"
                + port + "\",\"target_addr\":\"" + echo.address() + "\"" + accessFields + "}").port();
    }

    private int httpPort() {
        return testbed.server().httpPort();
    }

    @Test
    void httpIpAllowServesOneLoopbackAddressAndAnswersTheOther403() throws Exception {
        start();
        createHttpService(",\"ip_allow\":[\"127.0.0.1/32\"]");

        Visitor.Response served = first.get(httpPort(), HOST, "/");
        Visitor.Response refused = second.get(httpPort(), HOST, "/", "Accept: application/json");

        assertThat(served.status()).isEqualTo(200);
        assertThat(served.body()).isEqualTo("hello");
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.body()).contains("\"error\":\"forbidden\"").contains("127.0.0.2");
        assertThat(web.requestCount()).isEqualTo(1);
    }

    @Test
    void tcpIpDenyClosesTheRefusedConnectionBeforeItReachesTheClient() throws Exception {
        start();
        int port = createTcpService(",\"ip_deny\":[\"127.0.0.2\"]");

        assertThat(first.echo(port, "served")).isEqualTo("served");
        try (LogCapture log = new LogCapture(AccessControl.class, Level.INFO)) {
            assertThat(second.echo(port, "refused")).isNull();
            // The visitor gets no page to report: the operator learns of it from the log.
            assertThat(log.messages(Level.INFO)).singleElement(as(InstanceOfAssertFactories.STRING))
                    .contains("refused a connection from 127.0.0.2").contains("ip_allow / ip_deny");
        }

        assertThat(echo.acceptedConnections()).isEqualTo(1);
        assertThat(first.echo(port, "again")).isEqualTo("again");
        assertThat(echo.acceptedConnections()).isEqualTo(2);
        // ... and from /metrics, which counted nothing for it
        assertThat(testbed.api().get("/metrics").raw().body())
                .containsPattern("picotunnel_connections_refused_total\\{reason=\"ip_rules\",service=\"[^\"]+\","
                        + "tunnel=\"" + tunnelId + "\",type=\"tcp\"} 1.0")
                .containsPattern("picotunnel_connections_refused_total\\{reason=\"rate_limit\",[^}]*} 0.0");
    }

    @Test
    void accessRulesSurviveARestart() throws Exception {
        start();
        int port = createTcpService(",\"ip_deny\":[\"127.0.0.2\"]");

        testbed.restart();
        await().atMost(20, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));

        assertThat(second.echo(port, "refused")).isNull();
        assertThat(first.echo(port, "served")).isEqualTo("served");
        assertThat(echo.acceptedConnections()).isEqualTo(1);
    }

    @Test
    void tcpIpAllowWithIpv6AndIpv4BlocksLetsOnlyTheListedAddressIn() throws Exception {
        start();
        int port = createTcpService(",\"ip_allow\":[\"::1/128\",\"127.0.0.2/32\"]");

        assertThat(second.echo(port, "served")).isEqualTo("served");
        assertThat(first.echo(port, "refused")).isNull();
        assertThat(echo.acceptedConnections()).isEqualTo(1);
    }

    @Test
    void httpBurstOverTheRateLimitGets429WithRetryAfterAndTheTargetSeesOnlyTheAllowedRequests() throws Exception {
        start();
        createHttpService(",\"rate_limit\":{\"per_second\":0.01,\"burst\":3}");

        List<Visitor.Response> responses = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            responses.add(first.get(httpPort(), HOST, "/"));
        }

        assertThat(responses).extracting(Visitor.Response::status).containsExactly(200, 200, 200, 429, 429, 429);
        assertThat(responses.get(3).header("Retry-After")).matches("\\d+");
        assertThat(Long.parseLong(responses.get(3).header("Retry-After"))).isPositive();
        assertThat(web.requestCount()).isEqualTo(3);
        // another address has a bucket of its own
        assertThat(second.get(httpPort(), HOST, "/").status()).isEqualTo(200);
        assertThat(web.requestCount()).isEqualTo(4);
    }

    @Test
    void tcpNewConnectionsOverTheRateLimitAreRefused() throws Exception {
        start();
        int port = createTcpService(",\"rate_limit\":{\"per_second\":0.01,\"burst\":2}");

        assertThat(first.echo(port, "one")).isEqualTo("one");
        assertThat(first.echo(port, "two")).isEqualTo("two");
        try (LogCapture log = new LogCapture(AccessControl.class, Level.INFO)) {
            assertThat(first.echo(port, "three")).isNull();
            assertThat(first.echo(port, "four")).isNull();
            // One line a minute at most: the second refusal is counted for the next line, not logged.
            assertThat(log.messages(Level.INFO)).singleElement(as(InstanceOfAssertFactories.STRING))
                    .contains("refused a connection from 127.0.0.1").contains("over its rate_limit");
        }
        assertThat(echo.acceptedConnections()).isEqualTo(2);
        assertThat(testbed.api().get("/metrics").raw().body())
                .containsPattern("picotunnel_connections_refused_total\\{reason=\"rate_limit\",[^}]*} 2.0")
                // accepted: the two that reached the target, not the refused ones
                .containsPattern("picotunnel_tcp_connections_total\\{[^}]*type=\"tcp\"} 2.0");
    }

    /**
     * The log's line for refused tcp connections is once a minute per service and cause: a flood over one service's
     * rate_limit does not hide its ip_deny refusals, nor another service's, in the same minute; the same again does.
     */
    @Test
    void tcpRefusalsAreLoggedOnceAMinutePerServiceAndCause() throws Exception {
        start();
        int limited = createTcpService(",\"ip_deny\":[\"127.0.0.2\"],\"rate_limit\":{\"per_second\":0.01,\"burst\":1}");
        int denying = createTcpService(",\"ip_deny\":[\"127.0.0.2\"]");

        assertThat(first.echo(limited, "served")).isEqualTo("served");
        try (LogCapture log = new LogCapture(AccessControl.class, Level.INFO)) {
            assertThat(first.echo(limited, "over")).isNull();
            assertThat(second.echo(limited, "denied")).isNull();
            assertThat(second.echo(denying, "denied")).isNull();
            assertThat(first.echo(limited, "over again")).isNull();
            assertThat(second.echo(limited, "denied again")).isNull();
            assertThat(second.echo(denying, "denied again")).isNull();

            assertThat(log.messages(Level.INFO)).satisfiesExactly(
                    line -> assertThat(line).contains("refused a connection from 127.0.0.1")
                            .contains("over its rate_limit"),
                    line -> assertThat(line).contains("refused a connection from 127.0.0.2")
                            .contains("ip_allow / ip_deny"),
                    line -> assertThat(line).contains("refused a connection from 127.0.0.2")
                            .contains("ip_allow / ip_deny"));
            assertThat(log.messages(Level.INFO).get(1)).isNotEqualTo(log.messages(Level.INFO).get(2));
        }
        assertThat(echo.acceptedConnections()).isEqualTo(1);
    }

    @Test
    void xForwardedForNamesTheVisitorOnlyWhenATrustedProxySendsIt() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        createHttpService(",\"ip_deny\":[\"192.0.2.0/24\"]");

        // 127.0.0.1 is a trusted proxy: the visitor it names is the one checked, and the one the target hears of
        assertThat(first.get(httpPort(), HOST, "/", "X-Forwarded-For: 192.0.2.9").status()).isEqualTo(403);
        assertThat(first.get(httpPort(), HOST, "/", "X-Forwarded-For: 198.51.100.4").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("198.51.100.4");
        // a forged hop to the left of what the proxy appended does not help
        assertThat(first.get(httpPort(), HOST, "/", "X-Forwarded-For: 198.51.100.4, 192.0.2.9").status())
                .isEqualTo(403);
        // 127.0.0.2 is not trusted: what it claims is ignored
        assertThat(second.get(httpPort(), HOST, "/", "X-Forwarded-For: 198.51.100.4").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("127.0.0.2");
    }

    /**
     * A trusted proxy that ends TLS in front of the plain HTTP listener says the visitor used https: the target hears
     * so, and https_redirect does not send that visitor to https again (through the same proxy: a loop). Anyone
     * else's X-Forwarded-Proto is replaced.
     */
    @Test
    void xForwardedProtoOfATrustedProxyReachesTheTargetAndEndsTheRedirectToHttpsAnyoneElsesDoesNot() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        String id = createHttpService(",\"https_redirect\":true").get("id").asText();

        // Before: 308 to https://app.test:<https port>/x, which the front proxy sends back here as the same request.
        Visitor.Response viaProxy = first.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https");
        assertThat(viaProxy.status()).as(viaProxy.toString()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("https");
        // The proxy's visitor on plain http, and anyone who is not a trusted proxy, still go to https.
        assertThat(first.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: http").status()).isEqualTo(308);
        Visitor.Response claimed = second.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https");
        assertThat(claimed.status()).isEqualTo(308);
        assertThat(claimed.header("Location")).startsWith("https://" + HOST);
        assertThat(web.requestCount()).isEqualTo(1);

        ApiClient.Response plain = testbed.api().patch("/api/services/" + id, "{\"https_redirect\": false}");
        assertThat(plain.status()).as(plain.toString()).isEqualTo(200);
        assertThat(second.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("http");
        assertThat(first.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("https");
    }

    /**
     * cloudflared, Caddy or nginx ending TLS in front of the plain HTTP listener, but missing from
     * PICOTUNNEL_TRUSTED_PROXIES: its X-Forwarded-Proto: https is ignored, and a WARN names its address and the
     * setting, once for many such requests. A trusted proxy's header, a claim of http and no header say nothing.
     */
    @Test
    void anUntrustedPeerClaimingHttpsOnThePlainListenerGetsOneWarnNamingItAndTheSetting() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        createHttpService("");

        try (LogCapture log = new LogCapture(UntrustedProxyHint.class, Level.INFO)) {
            assertThat(first.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https").status()).isEqualTo(200);
            assertThat(second.get(httpPort(), HOST, "/x").status()).isEqualTo(200);
            assertThat(second.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: http").status()).isEqualTo(200);
            assertThat(log.events()).isEmpty();

            for (int i = 0; i < 3; i++) {
                assertThat(second.get(httpPort(), HOST, "/x", "X-Forwarded-Proto: https").status()).isEqualTo(200);
                assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("http");
            }
            assertThat(log.events()).hasSize(1);
            assertThat(log.messages(Level.WARN)).singleElement(as(InstanceOfAssertFactories.STRING))
                    .contains("A request from 127.0.0.2 ").contains("X-Forwarded-Proto: https")
                    .contains("127.0.0.2 is not in PICOTUNNEL_TRUSTED_PROXIES");
        }
    }

    @Test
    void basicAuthRefusesMissingAndWrongCredentialsAndLetsTheRightOnesIn() throws Exception {
        start();
        JsonNode service = createHttpService(
                ",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"correct horse battery\"}");
        assertThat(service.get("auth").toString()).isEqualTo("{\"type\":\"basic\",\"username\":\"ops\"}");

        Visitor.Response none = first.get(httpPort(), HOST, "/");
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.header("WWW-Authenticate")).startsWith("Basic realm=\"" + HOST + "\"");

        Visitor.Response wrong = first.get(httpPort(), HOST, "/", basic("ops", "wrong password"));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.header("WWW-Authenticate")).startsWith("Basic");
        assertThat(first.get(httpPort(), HOST, "/", basic("root", "correct horse battery")).status()).isEqualTo(401);
        assertThat(web.requestCount()).isZero();

        Visitor.Response right = first.get(httpPort(), HOST, "/", basic("ops", "correct horse battery"),
                "X-PicoTunnel-User: forged", "X-PicoTunnel-Email: forged@example.com");
        assertThat(right.status()).isEqualTo(200);
        assertThat(right.body()).isEqualTo("hello");
        assertThat(web.requestCount()).isEqualTo(1);
        assertThat(web.lastHeader("X-PicoTunnel-User")).containsExactly("ops");
        assertThat(web.lastHeader("X-PicoTunnel-Email")).isEmpty();
        assertThat(web.lastHeader("Authorization")).isEmpty();
        // remembered credentials still pass (the check is cached, not skipped)
        assertThat(first.get(httpPort(), HOST, "/", basic("ops", "correct horse battery")).status()).isEqualTo(200);
    }

    /**
     * A user name or password with accents passes whichever Unicode form the visitor's system sends (macOS keyboards
     * give "e" + combining accent where others give "é"), and the target gets the user name in UTF-8, as Go and
     * most proxies send it, not with "?" for every character beyond ASCII.
     */
    @Test
    void basicAuthTakesEitherUnicodeFormOfTheNameAndPasswordAndTheTargetGetsTheNameInUtf8() throws Exception {
        start();
        String composed = "Jos\u00e9";
        String decomposed = "Jose\u0301";
        JsonNode service = createHttpService(",\"auth\":{\"type\":\"basic\",\"username\":\"" + decomposed
                + "\",\"password\":\"caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\"}");
        assertThat(service.at("/auth/username").asText()).as("stored composed (NFC)").isEqualTo(composed);

        Visitor.Response right = first.get(httpPort(), HOST, "/",
                basic(composed, "cafe\u0301 cre\u0300me bru\u0302le\u0301e"));
        assertThat(right.status()).isEqualTo(200);
        assertThat(web.lastHeader("X-PicoTunnel-User")).singleElement()
                .extracting(value -> new String(value.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8))
                .isEqualTo(composed);
        assertThat(first.get(httpPort(), HOST, "/", basic(decomposed, "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"))
                .status())
                .isEqualTo(200);
        assertThat(first.get(httpPort(), HOST, "/", basic(composed, "cafe cre\u0300me bru\u0302le\u0301e")).status())
                .as("a missing accent is a wrong password").isEqualTo(401);
    }

    /**
     * Guessing passwords is throttled per visitor address: after 5 wrong ones the address must wait (429 with
     * Retry-After, the guess not checked, the right password neither), while another address, and credentials
     * that passed before, are not held up. Before, every guess was checked, as fast as the pool could.
     */
    @Test
    void wrongPasswordsFromOneAddressAreThrottledWithoutHoldingUpOthers() throws Exception {
        start();
        createHttpService(",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"correct horse battery\"}");

        for (int i = 1; i <= 5; i++) {
            Visitor.Response wrong = second.get(httpPort(), HOST, "/", basic("ops", "guess number " + i));
            assertThat(wrong.status()).as("guess %d", i).isEqualTo(401);
            assertThat(wrong.header("WWW-Authenticate")).startsWith("Basic realm=\"" + HOST + "\"");
        }
        Visitor.Response throttled = second.get(httpPort(), HOST, "/", basic("ops", "correct horse battery"),
                "Accept: application/json");
        assertThat(throttled.status()).as(throttled.toString()).isEqualTo(429);
        assertThat(throttled.header("Retry-After")).isEqualTo("1");
        assertThat(throttled.body()).contains("\"error\":\"too_many_attempts\"");
        assertThat(second.get(httpPort(), HOST, "/", basic("ops", "guess number 6")).status()).isEqualTo(429);
        // another address is not held up; credentials that passed there are no guess, from any address
        assertThat(first.get(httpPort(), HOST, "/", basic("ops", "correct horse battery")).status()).isEqualTo(200);
        assertThat(first.get(httpPort(), HOST, "/", basic("ops", "a guess from the first address")).status())
                .isEqualTo(401);
        assertThat(second.get(httpPort(), HOST, "/", basic("ops", "correct horse battery")).status()).isEqualTo(200);
        // after the wait, guesses are checked again
        await().atMost(10, TimeUnit.SECONDS).pollInterval(300, TimeUnit.MILLISECONDS).until(() ->
                second.get(httpPort(), HOST, "/", basic("ops", "guess number 7")).status() == 401);
        assertThat(web.requestCount()).isEqualTo(2);
    }

    /**
     * Guesses sent all at once are not all checked before the first failure counts: at most two different
     * credentials of one address are checked at a time, the others get 429. The same credentials sent in parallel
     * (a client's first requests) share one check and all pass.
     */
    @Test
    void guessesSentAllAtOnceAreNotAllChecked() throws Exception {
        start();
        createHttpService(",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"correct horse battery\"}");

        List<String> guesses = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            guesses.add(basic("ops", "parallel guess " + i));
        }
        List<Integer> answers = allAtOnce(second, guesses);
        assertThat(answers).containsOnly(401, 429);
        // 5 free failures, and at most one more that was being checked when the fifth counted
        assertThat(answers.stream().filter(status -> status == 401).count()).as(answers.toString())
                .isLessThanOrEqualTo(6);

        List<String> right = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            right.add(basic("ops", "correct horse battery"));
        }
        assertThat(allAtOnce(first, right)).containsOnly(200).hasSize(8);
    }

    /** Sends one GET with each of {@code authorizations} on its own connection, all before reading any answer. */
    private List<Integer> allAtOnce(Visitor visitor, List<String> authorizations) throws Exception {
        List<java.net.Socket> sockets = new ArrayList<>();
        try {
            for (String authorization : authorizations) {
                java.net.Socket socket = visitor.connect(httpPort());
                sockets.add(socket);
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\n" + authorization
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            }
            List<Integer> statuses = new ArrayList<>();
            for (java.net.Socket socket : sockets) {
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                statuses.add(Integer.parseInt(answer.substring(9, 12)));
            }
            return statuses;
        } finally {
            for (java.net.Socket socket : sockets) {
                socket.close();
            }
        }
    }

    /**
     * A browser that signed in to a basic-auth "/" sends the credentials with every request to the host, an open
     * "/public" next to it too: that service's target does not get them (it got the visitor's password). Its own
     * Authorization (a bearer token, Basic credentials of another user) still reaches it.
     */
    @Test
    void theCredentialsOfABasicAuthServiceDoNotReachAnotherServiceOfTheHost() throws Exception {
        start();
        createHttpService(",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"correct horse battery\"}");
        ApiClient.Response open = testbed.api().post("/api/tunnels/" + tunnelId + "/services", "{\"type\":\"http\","
                + "\"domain\":\"" + HOST + "\",\"path_prefix\":\"/public\",\"target_addr\":\"" + web.address() + "\"}");
        assertThat(open.status()).as(open.toString()).isEqualTo(201);

        assertThat(first.get(httpPort(), HOST, "/", basic("ops", "correct horse battery")).status()).isEqualTo(200);
        assertThat(first.get(httpPort(), HOST, "/public/x", basic("ops", "correct horse battery")).status())
                .isEqualTo(200);
        assertThat(web.lastHeader("Authorization")).isEmpty();

        assertThat(first.get(httpPort(), HOST, "/public/x", "Authorization: Bearer the-public-apps-token").status())
                .isEqualTo(200);
        assertThat(web.lastHeader("Authorization")).containsExactly("Bearer the-public-apps-token");
        assertThat(first.get(httpPort(), HOST, "/public/x", basic("reader", "its own password")).status())
                .isEqualTo(200);
        assertThat(web.lastHeader("Authorization")).hasSize(1);
    }

    @Test
    void pathsATargetMayReadAsTheGatedServicesAreRefusedNotPassedToTheOpenOne() throws Exception {
        start();
        createHttpService("");
        createHttpService(",\"path_prefix\":\"/admin\",\"auth\":{\"type\":\"basic\",\"username\":\"ops\","
                + "\"password\":\"correct horse battery\"}");

        // Both services have the same target. Before, these went to the open "/" and reached the target ungated,
        // where a framework that collapses "//", drops ;parameters, ignores case or decodes %2F serves /admin/x.
        for (String path : List.of("//admin/x", "/admin;a=b/x", "/ADMIN/x", "/admin%2fx", "/x/..;/admin/x",
                "http://" + HOST + "//admin/x")) {
            Visitor.Response refused = first.get(httpPort(), HOST, path);
            assertThat(refused.status()).as(path).isEqualTo(400);
            assertThat(refused.body()).as(path).contains("another service on this host");
        }
        assertThat(web.requestCount()).isZero();
        // Spellings the proxy itself resolves to /admin meet its gate.
        for (String path : List.of("/%61dmin/x", "/x/../admin/x", "/./admin", "/x/%2E%2E/admin/x")) {
            assertThat(first.get(httpPort(), HOST, path).status()).as(path).isEqualTo(401);
        }
        assertThat(web.requestCount()).isZero();
        // Spellings that stay within one service pass, as sent.
        assertThat(first.get(httpPort(), HOST, "/docs;v=2/Readme").status()).isEqualTo(200);
        assertThat(first.get(httpPort(), HOST, "/admin/X;a=b//y", basic("ops", "correct horse battery")).status())
                .isEqualTo(200);
        assertThat(web.uris()).containsExactly("/docs;v=2/Readme", "/admin/X;a=b//y");
    }

    @Test
    void pathsATargetMayReadAsTheGatedServicesByDecodingTwiceCuttingAtNulOrTrimmingAreRefused() throws Exception {
        start();
        createHttpService("");
        createHttpService(",\"path_prefix\":\"/admin\",\"auth\":{\"type\":\"basic\",\"username\":\"ops\","
                + "\"password\":\"correct horse battery\"}");

        // Before, these went to the open "/" and reached the target ungated, where a framework that decodes twice,
        // ends the path at a NUL, drops trailing dots or spaces of a segment (IIS) or takes overlong UTF-8 for / or
        // . serves /admin/x.
        for (String path : List.of("/admin%252Fx", "/x/%252e%252e/admin/x", "/admin%00/x", "/admin%00.html",
                "/admin./x", "/admin%20/x", "/admin%C0%AFx", "/x/%C0%AE%C0%AE/admin/x")) {
            Visitor.Response refused = first.get(httpPort(), HOST, path);
            assertThat(refused.status()).as(path).isEqualTo(400);
            assertThat(refused.body()).as(path).contains("another service on this host");
        }
        assertThat(web.requestCount()).isZero();
        // Ordinary paths, and ones read as nothing else, pass as sent.
        List<String> ordinary = List.of("/adminx", "/static/a.b.js", "/files/%2520", "/files/100%25", "/x/report.");
        for (String path : ordinary) {
            assertThat(first.get(httpPort(), HOST, path).status()).as(path).isEqualTo(200);
        }
        assertThat(web.uris()).containsExactlyElementsOf(ordinary);

        // A host with one service reads every path as that service's.
        ApiClient.Response single = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"one.test\",\"target_addr\":\"" + web.address() + "\"}");
        assertThat(single.status()).isEqualTo(201);
        for (String path : List.of("/files/%2520", "/admin%252Fx", "/admin./x")) {
            assertThat(first.get(httpPort(), "one.test", path).status()).as(path).isEqualTo(200);
        }
    }

    @Test
    void basicAuthPasswordIsStoredOnlyAsABcryptHashAndNeverReturned() throws Exception {
        start();
        String id = createHttpService(
                ",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"correct horse battery\"}")
                .get("id").asText();

        String listed = testbed.api().get("/api/tunnels/" + tunnelId + "/services").raw().body();
        assertThat(listed).doesNotContain("correct horse battery").doesNotContain("$2y$").doesNotContain("password");
        // an edit that leaves the password out keeps it
        ApiClient.Response renamed = testbed.api().patch("/api/services/" + id,
                "{\"auth\":{\"type\":\"basic\",\"username\":\"admin\"}}");
        assertThat(renamed.status()).isEqualTo(200);
        assertThat(first.get(httpPort(), HOST, "/", basic("admin", "correct horse battery")).status()).isEqualTo(200);

        testbed.close();
        testbed = null;
        byte[] database = Files.readAllBytes(dataDir.resolve("picotunnel.db"));
        String raw = new String(database, StandardCharsets.ISO_8859_1);
        assertThat(raw).doesNotContain("correct horse battery");
        assertThat(raw).containsPattern("\\$2y\\$11\\$[./A-Za-z0-9]{53}");
    }

    @Test
    void visitorsCannotForgeTheIdentityHeadersOfAnOpenService() throws Exception {
        start();
        createHttpService("");

        assertThat(first.get(httpPort(), HOST, "/", "X-PicoTunnel-User: admin", "x-picotunnel-email: admin@example.com")
                .status()).isEqualTo(200);
        assertThat(web.lastHeader("X-PicoTunnel-User")).isEmpty();
        assertThat(web.lastHeader("X-PicoTunnel-Email")).isEmpty();
    }

    @Test
    void proxyProtocolFromATrustedProxyNamesTheVisitorOfTcpAndHttpServices() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        int port = createTcpService(",\"ip_deny\":[\"192.0.2.0/24\"]");
        createHttpService(",\"ip_deny\":[\"192.0.2.0/24\"]");

        // version 1, with the visitor's first bytes in the same write: they reach the target after the header
        assertThat(proxiedEcho(port, "PROXY TCP4 198.51.100.4 127.0.0.1 40000 2222\r\n", "first bytes"))
                .isEqualTo("first bytes");
        assertThat(proxiedEcho(port, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 2222\r\n", "refused")).isNull();
        assertThat(echo.acceptedConnections()).isEqualTo(1);
        // an untrusted peer sends no header: it is the visitor itself
        assertThat(second.echo(port, "direct")).isEqualTo("direct");

        // version 2 in front of an HTTP request
        try (java.net.Socket socket = first.connect(httpPort())) {
            socket.getOutputStream().write(ProxyV2.tcp4(new byte[] {(byte) 192, 0, 2, 9}));
            socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 403");
        }
        try (java.net.Socket socket = first.connect(httpPort())) {
            socket.getOutputStream().write(ProxyV2.tcp4(new byte[] {(byte) 198, 51, 100, 4}));
            socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 200");
        }
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("198.51.100.4");
        // a trusted proxy that sends no header is refused
        assertThat(first.echo(port, "no header")).isNull();
    }

    /**
     * A front proxy listening on both families (HAProxy "bind :::80 v4v6", nginx "listen [::]:80") names its IPv4
     * visitors in a TCP6 line as IPv4-mapped addresses: they get in, and the IPv4 rules apply to them.
     */
    @Test
    void proxyProtocolTcp6WithAnIpv4MappedVisitorIsThatIpv4Visitor() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        int port = createTcpService(",\"ip_deny\":[\"192.0.2.0/24\"]");
        createHttpService(",\"ip_deny\":[\"192.0.2.0/24\"]");

        assertThat(proxiedEcho(port, "PROXY TCP6 ::ffff:198.51.100.4 ::ffff:127.0.0.1 40000 2222\r\n", "mapped"))
                .isEqualTo("mapped");
        assertThat(proxiedEcho(port, "PROXY TCP6 ::ffff:192.0.2.9 ::ffff:127.0.0.1 40000 2222\r\n", "denied")).isNull();
        assertThat(echo.acceptedConnections()).isEqualTo(1);

        byte[] header = "PROXY TCP6 ::ffff:198.51.100.4 ::ffff:127.0.0.1 40000 80\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        Visitor.Response served = first.getBehind(header, httpPort(), HOST, "/");
        assertThat(served.status()).as(served.toString()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("198.51.100.4");
    }

    /**
     * A trusted proxy that ends TLS and sends the PROXY protocol (HAProxy's send-proxy-v2-ssl) says in its header's
     * SSL TLV that the visitor used https: https_redirect forwards that visitor, and the target hears https. The
     * visitor's own X-Forwarded-Proto, on a connection its header names, changes nothing either way.
     */
    @Test
    void theSslTlvOfATrustedProxysVersionTwoHeaderSaysTheVisitorUsedHttps() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        String id = createHttpService(",\"https_redirect\":true").get("id").asText();
        byte[] visitor = {(byte) 198, 51, 100, 4};
        byte[] overTls = ProxyV2.tcp4(visitor, ProxyV2.alpn("http/1.1"), ProxyV2.ssl(true));

        // Before: 308 to https://app.test:<https port>/x, which HAProxy sends back here as the same request.
        Visitor.Response tls = first.getBehind(overTls, httpPort(), HOST, "/x");
        assertThat(tls.status()).as(tls.toString()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("https");
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("198.51.100.4");
        assertThat(first.getBehind(overTls, httpPort(), HOST, "/x", "X-Forwarded-Proto: http").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("https");
        // Without the TLV, or with PP2_CLIENT_SSL clear, the visitor used plain http: the 308, whatever it claims.
        try (LogCapture log = new LogCapture(UntrustedProxyHint.class, Level.INFO)) {
            Visitor.Response plain = first.getBehind(ProxyV2.tcp4(visitor), httpPort(), HOST, "/x",
                    "X-Forwarded-Proto: https");
            assertThat(plain.status()).isEqualTo(308);
            assertThat(plain.header("Location")).startsWith("https://" + HOST);
            // The visitor's claim is not the trusted proxy's mistake: no hint to add an address.
            assertThat(log.events()).isEmpty();
        }
        assertThat(first.getBehind(ProxyV2.tcp4(visitor, ProxyV2.ssl(false)), httpPort(), HOST, "/x").status())
                .isEqualTo(308);
        assertThat(web.requestCount()).isEqualTo(2);

        ApiClient.Response off = testbed.api().patch("/api/services/" + id, "{\"https_redirect\": false}");
        assertThat(off.status()).as(off.toString()).isEqualTo(200);
        assertThat(first.getBehind(ProxyV2.tcp4(visitor, ProxyV2.ssl(false)), httpPort(), HOST, "/x").status())
                .isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("http");
        assertThat(first.getBehind(overTls, httpPort(), HOST, "/x").status()).isEqualTo(200);
        assertThat(web.lastHeader("X-Forwarded-Proto")).containsExactly("https");
    }

    /**
     * An HTTP/2 stream is its own channel, which keeps no record of the PROXY header its connection had but answers
     * its connection's peer (the trusted proxy) as its own. Before, access control took that peer for the visitor:
     * the denied visitor got 200s, and could name itself in an X-Forwarded-For as the trusted proxy's visitor.
     */
    @Test
    void theVisitorAProxyProtocolHeaderNamesIsTheOneAccessControlSeesOnHttp2() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        createHttpService(",\"ip_deny\":[\"203.0.113.0/24\"]");
        int httpsPort = testbed.server().httpsPort();
        byte[] denied = "PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] served = "PROXY TCP4 198.51.100.4 127.0.0.1 40000 443\r\n".getBytes(StandardCharsets.US_ASCII);

        try (RawHttp2Visitor visitor = RawHttp2Visitor.connectBehind(denied, httpsPort, HOST, ca.clientContext())) {
            visitor.get(1, "/");
            visitor.get(3, "/", "x-forwarded-for", "198.51.100.4");
            visitor.awaitRead("both answers", Duration.ofSeconds(10),
                    () -> visitor.status(3) != null && visitor.status(1) != null);
            assertThat(visitor.status(1)).isEqualTo("403");
            assertThat(visitor.status(3)).isEqualTo("403");
        }
        assertThat(web.requestCount()).isZero();
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connectBehind(served, httpsPort, HOST, ca.clientContext())) {
            visitor.get(1, "/");
            visitor.awaitRead("the answer", Duration.ofSeconds(10), () -> visitor.status(1) != null);
            assertThat(visitor.status(1)).isEqualTo("200");
        }
        assertThat(web.lastHeader("X-Forwarded-For")).containsExactly("198.51.100.4");
    }

    /** A version 2 header whose TLV runs past its end is a broken header: the connection is closed, unanswered. */
    @Test
    void aVersionTwoHeaderWithABrokenTlvClosesTheConnection() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        createHttpService("");
        byte[] broken = ProxyV2.tcp4(new byte[] {(byte) 198, 51, 100, 4}, ProxyV2.ssl(true));
        broken[15] -= 2;

        try (java.net.Socket socket = first.connect(httpPort())) {
            socket.getOutputStream().write(broken);
            socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(socket.getInputStream().readAllBytes()).isEmpty();
        } catch (java.net.SocketException reset) {
            // closed with the request unread: a reset
        }
        assertThat(web.requestCount()).isZero();
        assertThat(first.getBehind(ProxyV2.tcp4(new byte[] {(byte) 198, 51, 100, 4}, ProxyV2.ssl(true)), httpPort(),
                HOST, "/").status()).isEqualTo(200);
    }

    @Test
    void rateLimitCountsAnIpv6VisitorByItsSlash64() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        int port = createTcpService(",\"rate_limit\":{\"per_second\":0.01,\"burst\":2}");

        assertThat(proxiedEcho(port, "PROXY TCP6 2001:db8:1:2::1 ::1 40000 2222\r\n", "one")).isEqualTo("one");
        assertThat(proxiedEcho(port, "PROXY TCP6 2001:db8:1:2:ffff::2 ::1 40000 2222\r\n", "two")).isEqualTo("two");
        assertThat(proxiedEcho(port, "PROXY TCP6 2001:db8:1:2::3 ::1 40000 2222\r\n", "three"))
                .as("a third connection from the same /64").isNull();
        assertThat(proxiedEcho(port, "PROXY TCP6 2001:db8:1:3::1 ::1 40000 2222\r\n", "next /64"))
                .isEqualTo("next /64");
        assertThat(echo.acceptedConnections()).isEqualTo(3);
    }

    /** Sends {@code header} and {@code text} in one write from 127.0.0.1; the echo, or null when closed. */
    private String proxiedEcho(int port, String header, String text) throws Exception {
        try (java.net.Socket socket = first.connect(port)) {
            socket.getOutputStream().write((header + text).getBytes(StandardCharsets.US_ASCII));
            byte[] back = socket.getInputStream().readNBytes(text.length());
            return back.length == text.length() ? new String(back, StandardCharsets.US_ASCII) : null;
        } catch (java.net.SocketException reset) {
            return null;
        }
    }

    private static String basic(String user, String password) {
        return "Authorization: Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                .getBytes(StandardCharsets.UTF_8));
    }
}
