package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.PacedBody;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Requests through the whole path: HTTP listener, tunnel stream, our tunnel client, a local target. */
class HttpProxyTest {

    @TempDir
    Path dataDir;
    private EventLoopGroup group;
    private TunnelFixture tunnel;
    private TargetServer alpha;
    private TargetServer beta;

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(1, "proxy-test");
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "1s"));
        alpha = new TargetServer("alpha");
        beta = new TargetServer("beta");
    }

    @AfterEach
    void stop() {
        tunnel.close();
        alpha.close();
        beta.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * The class's tunnel (its proxy timeout 1 s) replaced by {@link TunnelFixture#restartWithPacedProxyTimeout}'s:
     * for the tests whose target says 102 Processing at a pace within it.
     */
    private void useThePacedProxyTimeout() throws Exception {
        tunnel = tunnel.restartWithPacedProxyTimeout(dataDir);
    }

    private void addService(String domain, String prefix, String target) {
        tunnel.addService(domain, prefix, target, false);
    }

    private RawHttp connect() throws Exception {
        return new RawHttp(tunnel.httpPort());
    }

    @Test
    void keepAliveConnectionReachesTheRightServiceForEachHost() throws Exception {
        addService("alpha.test", "/", alpha.address());
        addService("beta.test", "/", beta.address());
        addService("*.wild.test", "/", beta.address());
        try (RawHttp http = connect()) {
            assertThat(http.get("alpha.test", "/one").text()).contains("service=alpha", "uri=/one");
            assertThat(http.get("Beta.Test:80", "/two").text()).contains("service=beta", "uri=/two");
            assertThat(http.get("alpha.test", "/three?x=1").text()).contains("service=alpha", "uri=/three?x=1");
            assertThat(http.get("x.wild.test", "/").text()).contains("service=beta");
        }
    }

    @Test
    void longestPathPrefixPicksTheService() throws Exception {
        addService("app.test", "/", alpha.address());
        addService("app.test", "/api", beta.address());
        try (RawHttp http = connect()) {
            assertThat(http.get("app.test", "/api/users").text()).contains("service=beta", "uri=/api/users");
            assertThat(http.get("app.test", "/apix").text()).contains("service=alpha");
        }
    }

    @Test
    void forwardedHeadersReplaceTheClientsAndHopByHopHeadersAreDropped() throws Exception {
        addService("alpha.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            http.send("GET / HTTP/1.1\r\nHost: alpha.test:8080\r\n"
                    + "X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
                    + "X-Forwarded-Host: evil.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
                    + "Keep-Alive: timeout=99\r\nProxy-Authorization: Basic eDp5\r\nTE: trailers\r\n"
                    + "X-Kept: yes\r\n\r\n");
            RawHttp.Response response = http.read();
            String seen = response.text();
            assertThat(seen).contains("h:host=alpha.test:8080", "h:x-forwarded-for=127.0.0.1",
                    "h:x-real-ip=127.0.0.1", "h:x-forwarded-proto=http", "h:x-forwarded-host=alpha.test:8080",
                    "h:x-kept=yes");
            assertThat(seen).doesNotContain("6.6.6.6", "evil.test", "x-secret", "h:keep-alive",
                    "proxy-authorization", "h:te=");
            assertThat(response.header("X-Target")).isEqualTo("alpha");
            assertThat(response.header("Keep-Alive")).isNull();
        }
    }

    @Test
    void aResponseHeaderTheTargetNamesInConnectionIsDroppedAndItsStreamStillCarriesTheNextRequest() throws Exception {
        try (KeepAliveTarget target = new KeepAliveTarget()) {
            addService("alpha.test", "/", target.address());
            try (RawHttp http = connect()) {
                RawHttp.Response response = http.get("alpha.test", "/connection-named");
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.header("X-Kept")).isEqualTo("yes");
                assertThat(response.header("X-Hop")).isNull();
                assertThat(response.header("Keep-Alive")).isNull();
                assertThat(response.header("Connection")).isNull();
                assertThat(http.get("alpha.test", "/connection-named").text()).isEqualTo(response.text());
            }
            assertThat(target.accepted()).as("the target's keep-alive, read before its Connection went").isEqualTo(1);
        }
    }

    @Test
    void theTrailersOfAChunkedResponseReachTheVisitorAgainAfterAResponseWithALengthOnItsStream() throws Exception {
        try (KeepAliveTarget target = new KeepAliveTarget()) {
            addService("alpha.test", "/", target.address());
            try (RawHttp http = connect()) {
                RawHttp.Response chunked = http.get("alpha.test", "/trailers");
                assertThat(chunked.text()).isEqualTo("conn=1");
                assertThat(chunked.trailers()).containsEntry("x-checksum", List.of("4711"));
                RawHttp.Response withLength = http.get("alpha.test", "/ok");
                assertThat(withLength.text()).as("the same stream").isEqualTo("conn=1");
                assertThat(http.get("alpha.test", "/trailers").trailers()).containsEntry("x-checksum", List.of("4711"));
            }
        }
    }

    @Test
    void anHttp10KeepAliveRequestKeepsItsConnectionAndTheTargetGetsNoConnectionHeader() throws Exception {
        addService("alpha.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            for (int i = 0; i < 2; i++) {
                http.send("GET /ten HTTP/1.0\r\nHost: alpha.test\r\nConnection: keep-alive\r\n\r\n");
                RawHttp.Response response = http.read();
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.text()).contains("uri=/ten").doesNotContain("h:connection", "h:keep-alive");
            }
        }
    }

    /**
     * A local answer after the request went up, its Connection header edited out of it by then: the visitor's own
     * word on keep-alive still decides, both ways.
     */
    @Test
    void theTimeoutPageAfterTheRequestWentUpKeepsOrClosesTheConnectionAsTheRequestAsked() throws Exception {
        addService("slow.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET /hang HTTP/1.1\r\nHost: slow.test\r\nConnection: close\r\n\r\n")
                    .read();
            assertThat(response.status()).isEqualTo(504);
            assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(http.closedWithin15s()).isTrue();
        }
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET /hang HTTP/1.0\r\nHost: slow.test\r\nConnection: keep-alive\r\n\r\n")
                    .read();
            assertThat(response.status()).isEqualTo(504);
            assertThat(http.get("slow.test", "/after").text()).contains("service=alpha");
        }
    }

    @Test
    void unknownHostGets404PageInHtmlOrJson() throws Exception {
        try (RawHttp http = connect()) {
            RawHttp.Response html = http.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\nAccept: text/html\r\n\r\n").read();
            assertThat(html.status()).isEqualTo(404);
            assertThat(html.header("Content-Type")).startsWith("text/html");
            assertThat(html.text()).contains("nowhere.test");

            RawHttp.Response json = http.send("GET / HTTP/1.1\r\nHost: x&y'.test\r\nAccept: application/json\r\n\r\n").read();
            assertThat(json.status()).isEqualTo(404);
            assertThat(json.header("Content-Type")).isEqualTo("application/json");
            assertThat(json.text()).contains("\"error\":\"unknown_host\"");
        }
        try (RawHttp http = connect()) {
            RawHttp.Response markup = http.send("GET / HTTP/1.1\r\nHost: <b>x</b>\r\nAccept: text/html\r\n\r\n").read();
            assertThat(markup.status()).as("no host name").isEqualTo(400);
            assertThat(markup.text()).doesNotContain("<b>");
        }
    }

    @Test
    void refusedTargetGets502() throws Exception {
        addService("gone.test", "/", "127.0.0.1:" + Ports.freePort());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.get("gone.test", "/");
            assertThat(response.status()).isEqualTo(502);
            assertThat(response.text()).contains("not running right now").doesNotContain("127.0.0.1");
        }
    }

    @Test
    void targetThatDoesNotAnswerGets504() throws Exception {
        addService("slow.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.get("slow.test", "/hang");
            assertThat(response.status()).isEqualTo(504);
            assertThat(http.get("slow.test", "/after").text()).contains("service=alpha");
        }
    }

    /** With Connection naming Expect, Expect is not passed on, but the visitor still waits: the same 504. */
    @ParameterizedTest
    @ValueSource(strings = {"", "Connection: expect\r\n"})
    void targetThatSaysNothingToAnUploadAwaiting100ContinueGets504AndTheStreamEnds(String connection) throws Exception {
        try (KeepAliveTarget silent = new KeepAliveTarget()) {
            addService("slow.test", "/", silent.address());
            try (RawHttp http = connect()) {
                // The client waits for the target's word before it sends its body, as RFC 9110 lets it.
                http.send("POST /hang HTTP/1.1\r\nHost: slow.test\r\nExpect: 100-continue\r\n" + connection
                        + "Content-Length: 5\r\n\r\n");
                RawHttp.Response response = http.read();
                assertThat(response.status()).isEqualTo(504);
                assertThat(http.closedByServer()).isTrue();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> silent.ended() == 1);
        }
    }

    /**
     * A target that says only 102 Processing to an upload awaiting 100 Continue: the visitor still waits for the word
     * before its body, so it is the target that did not answer in time (504), not the visitor (408).
     */
    @Test
    void targetThatSaysOnlyProcessingToAnUploadAwaiting100ContinueGets504() throws Exception {
        try (KeepAliveTarget working = new KeepAliveTarget()) {
            addService("slow.test", "/", working.address());
            try (RawHttp http = connect()) {
                RawHttp.Response response = http.send("POST /processing-unread HTTP/1.1\r\nHost: slow.test\r\n"
                        + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n").read();
                int processing = 0;
                while (response.status() == 102 && processing < 100) {
                    processing++;
                    response = http.read();
                }
                assertThat(response.status()).as("after %d times 102", processing).isEqualTo(504);
                assertThat(http.closedByServer()).isTrue();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> working.ended() == 1);
        }
    }

    /** The page's format is the visitor's Accept even when Connection names it (and it is not passed on). */
    @Test
    void theTimeoutPageIsJsonAsAskedEvenWhenConnectionNamesAccept() throws Exception {
        addService("slow.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET /hang HTTP/1.1\r\nHost: slow.test\r\nAccept: application/json\r\n"
                    + "Connection: accept\r\n\r\n").read();
            assertThat(response.status()).isEqualTo(504);
            assertThat(response.header("Content-Type")).isEqualTo("application/json");
        }
    }

    /** An HTTP/1.1 visitor is sent each 102, an HTTP/1.0 one none, and gets the answer all the same. */
    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.0", "HTTP/1.1"})
    void aTargetThatKeepsSayingItIsProcessingIsNotCutOffByTheResponseTimeout(String version) throws Exception {
        useThePacedProxyTimeout();
        try (KeepAliveTarget working = new KeepAliveTarget()) {
            addService("slow.test", "/", working.address());
            try (RawHttp http = connect()) {
                // --proxy-timeout is 2 s here; the target sends 102 every 0.6 s (1.4 s to spare each time) and its
                // answer after 3.6 s, 1.6 s past the timeout counted from the request.
                RawHttp.Response response = http.send("GET /processing " + version + "\r\nHost: slow.test\r\n\r\n")
                        .read();
                int processing = 0;
                while (response.status() == 102 && processing < 10) {
                    processing++;
                    response = http.read();
                }
                assertThat(response.status()).as("after %d times 102", processing).isEqualTo(200);
                assertThat(processing).as("each 102 passed on").isEqualTo(version.equals("HTTP/1.0") ? 0 : 5);
                assertThat(response.text()).startsWith("conn=");
            }
        }
    }

    /**
     * A target that says 102 Processing for ever, each time within --proxy-timeout (2 s here, 0.25 s apart: 1.75 s to
     * spare on a loaded machine): each 102 starts the wait over, for {@link HttpProxy#INTERIM_WAIT_TIMEOUTS} proxy
     * timeouts at most after the request; then the visitor gets 504, and the stream and the target's connection end
     * (an HTTP/1.1 visitor's next request goes on a new one).
     * An HTTP/1.0 visitor is sent no 1xx, an HTTP/1.1 one each.
     */
    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.0", "HTTP/1.1"})
    void aTargetThatSaysItIsProcessingForEverGets504AfterTenProxyTimeouts(String version) throws Exception {
        useThePacedProxyTimeout();
        Duration limit = KeepAliveTarget.PACED_PROXY_TIMEOUT.multipliedBy(HttpProxy.INTERIM_WAIT_TIMEOUTS);
        boolean http10 = version.equals("HTTP/1.0");
        try (KeepAliveTarget working = new KeepAliveTarget()) {
            addService("slow.test", "/", working.address());
            try (RawHttp http = connect()) {
                // An HTTP/1.0 visitor reads nothing before the 504, at the limit: its read waits longer.
                http.readTimeout(limit.plusSeconds(20));
                long start = System.nanoTime();
                RawHttp.Response response = http.send("GET /processing-forever " + version + "\r\nHost: slow.test\r\n\r\n")
                        .read();
                int processing = 0;
                while (response.status() == 102 && System.nanoTime() - start < limit.plusSeconds(10).toNanos()) {
                    processing++;
                    response = http.read();
                }
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(response.status()).as("after %d times 102 in %s", processing, took).isEqualTo(504);
                assertThat(response.text()).contains("did not answer within " + Durations.format(limit));
                assertThat(took).as("each 102 started the wait over").isGreaterThanOrEqualTo(limit);
                if (http10) {
                    assertThat(processing).as("no 1xx to an HTTP/1.0 visitor").isZero();
                    assertThat(http.closedByServer()).isTrue();
                } else {
                    assertThat(processing).as("each 102 passed on").isGreaterThan(HttpProxy.INTERIM_WAIT_TIMEOUTS);
                    assertThat(http.get("slow.test", "/ok").text()).as("not on the stream given up").isEqualTo("conn=2");
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> working.ended() >= 1);
        }
    }

    /**
     * The longest wait interim answers stretch, {@link HttpProxy#INTERIM_WAIT_TIMEOUTS} proxy timeouts, counts from the
     * request's end, not its start: an upload that takes most of that limit, each piece within --proxy-timeout (2 s
     * here, for a loaded machine: each piece and each 102 has over 1 s to spare), whose target then says 102
     * Processing for {@link KeepAliveTarget#PROCESSING_AFTER_BODY} before its answer, gets that answer, though it comes
     * more than the limit after the request began (about 4 s more: counted from the start, a 504 comes first).
     */
    @Test
    void theWaitThatInterimAnswersStretchCountsFromTheEndOfTheUploadNotItsStart() throws Exception {
        useThePacedProxyTimeout();
        Duration limit = KeepAliveTarget.PACED_PROXY_TIMEOUT.multipliedBy(HttpProxy.INTERIM_WAIT_TIMEOUTS);
        int length = 16; // a byte each 0.9 s: over 14 s
        try (KeepAliveTarget working = new KeepAliveTarget()) {
            addService("slow.test", "/", working.address());
            PacedBody.Outcome outcome = new PacedBody(new byte[] {'x'}, Duration.ofMillis(900), length, 500,
                    limit.multipliedBy(3)).sendTo(tunnel.httpPort(), "POST /processing-after-body HTTP/1.1\r\n"
                            + "Host: slow.test\r\nContent-Length: " + length + "\r\nConnection: close\r\n\r\n");
            assertThat(outcome.piecesSent()).as("the whole upload sent").isEqualTo(length);
            assertThat(outcome.answer()).contains("HTTP/1.1 102 Processing").contains("HTTP/1.1 200 OK")
                    .endsWith("conn=1").doesNotContain("504");
            assertThat(outcome.took()).as("the answer came past the limit after the request's start")
                    .isGreaterThan(limit);
        }
    }

    /**
     * A status that is not three digits from 100 to 999, which Netty reads as any integer: {@code 099} went on as a
     * 1xx {@code 99}, {@code 0200} as 200, {@code 1000} as such. Now an invalid response: 502, and the stream and the
     * target's connection end (the next request goes on a new one).
     */
    @ParameterizedTest
    @ValueSource(strings = {"099", "0200", "1000"})
    void aStatusThatIsNotThreeDigitsFrom100To999Gets502AndItsStreamIsNotReused(String status) throws Exception {
        try (KeepAliveTarget odd = new KeepAliveTarget()) {
            addService("odd.test", "/", odd.address());
            try (RawHttp http = connect()) {
                RawHttp.Response response = http.send("GET /status/" + status + " HTTP/1.1\r\nHost: odd.test\r\n"
                        + "Accept: application/json\r\n\r\n").read();
                assertThat(response.status()).isEqualTo(502);
                assertThat(response.text()).contains("\"error\":\"target_unreachable\"");
                await().atMost(Duration.ofSeconds(10)).until(() -> odd.ended() == 1);
                assertThat(http.get("odd.test", "/ok").text()).as("on a new stream").isEqualTo("conn=2");
            }
        }
    }

    /**
     * An invalid response is told once, as such: one INFO line that names the request and the answer (it was told
     * twice, the second time as the target ending the stream before a response), and a page that says the response
     * was invalid (it said the connection was refused or closed).
     */
    @Test
    void anInvalidResponseIsToldOnceAsSuch() throws Exception {
        try (KeepAliveTarget odd = new KeepAliveTarget()) {
            addService("odd.test", "/", odd.address());
            try (LogCapture log = new LogCapture(Exchange.class, Level.INFO); RawHttp http = connect()) {
                RawHttp.Response response = http.send("GET /status/1000 HTTP/1.1\r\nHost: odd.test\r\n"
                        + "Accept: application/json\r\n\r\n").read();
                assertThat(response.status()).isEqualTo(502);
                assertThat(response.text()).contains("\"error\":\"target_unreachable\"")
                        .contains("not valid HTTP").doesNotContain("refused");
                assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains(odd.address()))
                        .singleElement().asString().contains("sent an invalid response to GET odd.test")
                        .contains("is answered 502 target_unreachable");
            }
        }
    }

    /**
     * The line of a response head the decoder refused writes out the control characters and cuts the length of what
     * the target chose that Netty's message holds (a header name it refused), as every log line does with what it did
     * not write itself. Before, the target's escape sequence went into the log as it came, and all 400 characters.
     */
    @Test
    void theLineOfAnInvalidResponseEscapesAndCutsTheTargetsText() throws Exception {
        try (KeepAliveTarget odd = new KeepAliveTarget()) {
            addService("odd.test", "/", odd.address());
            try (LogCapture log = new LogCapture(Exchange.class, Level.INFO); RawHttp http = connect()) {
                assertThat(http.get("odd.test", "/bad-header-name").status()).isEqualTo(502);
                assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains(odd.address()))
                        .singleElement().asString().contains("sent an invalid response to GET odd.test")
                        .contains("\\u001b[31mxxx").doesNotContain("\u001b").contains(" chars)")
                        .doesNotContain("x".repeat(KeepAliveTarget.BAD_HEADER_NAME_LENGTH - 5));
            }
        }
    }

    /** The 504's line cuts a long domain as every log line does with what it did not write itself. */
    @Test
    void theLineOfA504CutsALongDomain() throws Exception {
        String domain = ("a".repeat(60) + ".").repeat(4) + "test";
        addService(domain, "/", alpha.address());
        try (LogCapture log = new LogCapture(Exchange.class, Level.INFO); RawHttp http = connect()) {
            assertThat(http.get(domain, "/hang").status()).isEqualTo(504);
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("did not answer")).singleElement()
                    .asString().contains("...(" + domain.length() + " chars)").doesNotContain(domain);
        }
    }

    @Test
    void malformedRequestGets400() throws Exception {
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("THIS IS NOT HTTP\r\n\r\n").read();
            assertThat(response.status()).isEqualTo(400);
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void contentLengthWithTransferEncodingGets400() throws Exception {
        addService("alpha.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("POST / HTTP/1.1\r\nHost: alpha.test\r\nContent-Length: 4\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").read();
            assertThat(response.status()).isEqualTo(400);
            assertThat(response.text()).contains("both Content-Length and Transfer-Encoding");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void duplicateContentLengthGets400() throws Exception {
        addService("alpha.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("POST / HTTP/1.1\r\nHost: alpha.test\r\nContent-Length: 4\r\n"
                    + "Content-Length: 5\r\n\r\nabcde").read();
            assertThat(response.status()).isEqualTo(400);
            assertThat(response.text()).contains("more than one Content-Length");
        }
    }

    @Test
    void oversizedHeadersGet431() throws Exception {
        addService("alpha.test", "/", alpha.address());
        try (RawHttp http = connect()) {
            RawHttp.Response response = http.send("GET / HTTP/1.1\r\nHost: alpha.test\r\nX-Big: "
                    + "a".repeat(HttpProxy.MAX_HEADER_SIZE + 10) + "\r\n\r\n").read();
            assertThat(response.status()).isEqualTo(431);
        }
    }

    @Test
    void httpsRedirectSends308() throws Exception {
        tunnel.addService("secure.test", "/", alpha.address(), true);
        try (RawHttp http = connect()) {
            RawHttp.Response redirect = http.get("secure.test:80", "/a/b?c=d");
            assertThat(redirect.status()).isEqualTo(308);
            assertThat(redirect.header("Location")).isEqualTo("https://secure.test/a/b?c=d");
        }
    }

    @Test
    void webSocketEchoesThroughTheProxy() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        try (WebSocketEchoServer echo = new WebSocketEchoServer(group)) {
            addService("localhost", "/", echo.address());
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            WebSocket ws = client.newWebSocketBuilder()
                    .buildAsync(URI.create("ws://localhost:" + tunnel.httpPort() + "/ws"), new WebSocket.Listener() {
                        private final StringBuilder text = new StringBuilder();

                        @Override
                        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                            text.append(data);
                            if (last) {
                                received.add(text.toString());
                                text.setLength(0);
                            }
                            webSocket.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                            received.add("closed " + statusCode);
                            return null;
                        }
                    }).get(10, TimeUnit.SECONDS);

            ws.sendText("hello", true).get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: hello");
            String big = "x".repeat(20_000);
            ws.sendText(big, true).get(10, TimeUnit.SECONDS);
            String echoed = received.poll(10, TimeUnit.SECONDS);
            assertThat(echoed).as("echo of a 20000-character message").hasSize(big.length() + 6).startsWith("echo: xxx");
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("closed " + WebSocket.NORMAL_CLOSURE);
        } finally {
            client.shutdownNow();
        }
    }
}
