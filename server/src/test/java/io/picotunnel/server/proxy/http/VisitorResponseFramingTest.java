package io.picotunnel.server.proxy.http;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What an HTTP/1.x visitor reads on its connection, byte for byte where the framing is at stake: the status line and
 * Connection header an HTTP/1.0 visitor is told, which side decides whether the connection stays open, a target's
 * answer that must carry no content (205), and answers to pipelined requests behind an interim answer. Raw sockets on
 * the visitor's side, {@link KeepAliveTarget} behind the tunnel.
 */
class VisitorResponseFramingTest {

    private static final String HOST = "frame.test";

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private KeepAliveTarget target;

    @BeforeEach
    void start() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of());
        target = new KeepAliveTarget();
        tunnel.addService(HOST, "/", target.address(), false);
    }

    @AfterEach
    void stop() throws IOException {
        tunnel.close();
        target.close();
    }

    /** A response's status line, its headers (names in lower case, the first value of each) and its body. */
    private record Answer(String statusLine, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** Reads one answer's head, and a body of its Content-Length unless {@code head} (none when it has no length). */
    private static Answer read(RawHttp http, boolean head) throws IOException {
        String statusLine = http.line();
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line = http.line(); !line.isEmpty(); line = http.line()) {
            int colon = line.indexOf(':');
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            headers.putIfAbsent(name, line.substring(colon + 1).trim());
        }
        String length = headers.get("content-length");
        if (head || length == null) {
            return new Answer(statusLine, headers, "");
        }
        byte[] body = http.in().readNBytes(Integer.parseInt(length));
        if (body.length < Integer.parseInt(length)) {
            throw new EOFException("body ended after " + body.length + " of " + length + " bytes");
        }
        return new Answer(statusLine, headers, new String(body, StandardCharsets.ISO_8859_1));
    }

    private static String request(String method, String path, String version, String host, String extra) {
        return method + " " + path + " " + version + "\r\nHost: " + host + "\r\n" + extra + "\r\n";
    }

    /**
     * As nginx answers an HTTP/1.0 visitor that asks for keep-alive: an HTTP/1.1 status line and
     * {@code Connection: keep-alive}, without which an HTTP/1.0 client (ApacheBench {@code -k}) takes the connection
     * for closed after each answer; and the next request on the connection is answered.
     */
    @Test
    void anHttp10VisitorAskingForKeepAliveIsToldSoAndItsNextRequestIsAnsweredOnTheConnection() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            for (int i = 0; i < 2; i++) {
                Answer answer = read(http.send(request("GET", "/ok", "HTTP/1.0", HOST, "Connection: keep-alive\r\n")),
                        false);
                assertThat(answer.statusLine()).isEqualTo("HTTP/1.1 200 OK");
                assertThat(answer.header("Connection")).as("request %d", i + 1).isEqualToIgnoringCase("keep-alive");
                assertThat(answer.body()).isEqualTo("conn=1");
            }
        }
    }

    /** An HTTP/1.0 visitor that does not ask for keep-alive gets its answer, not told keep-alive, and the close. */
    @Test
    void anHttp10VisitorNotAskingForKeepAliveGetsItsAnswerAndTheClose() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer answer = read(http.send(request("GET", "/ok", "HTTP/1.0", HOST, "")), false);
            assertThat(answer.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(answer.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(answer.body()).isEqualTo("conn=1");
            assertThat(http.closedWithin15s()).isTrue();
        }
    }

    /** The proxy's own answers (an error page, a redirect) tell an HTTP/1.0 visitor keep-alive as the target's do. */
    @Test
    void localAnswersToAnHttp10VisitorAskingForKeepAliveSaySoAndTheConnectionGoesOn() throws Exception {
        tunnel.addService("redirect.test", "/", target.address(), true);
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer unknown = read(http.send(request("GET", "/", "HTTP/1.0", "unknown.test",
                    "Connection: keep-alive\r\n")), false);
            assertThat(unknown.statusLine()).startsWith("HTTP/1.1 404 ");
            assertThat(unknown.header("Connection")).isEqualToIgnoringCase("keep-alive");
            Answer redirect = read(http.send(request("GET", "/x", "HTTP/1.0", "redirect.test",
                    "Connection: keep-alive\r\n")), false);
            assertThat(redirect.statusLine()).startsWith("HTTP/1.1 308 ");
            assertThat(redirect.header("Connection")).isEqualToIgnoringCase("keep-alive");
            Answer last = read(http.send(request("GET", "/ok", "HTTP/1.0", HOST, "")), false);
            assertThat(last.body()).isEqualTo("conn=1");
            assertThat(last.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(http.closedWithin15s()).isTrue();
        }
    }

    /** The ACME HTTP-01 answer too (on a proxy of its own: the tunnel's server has no challenge to answer). */
    @Test
    void theAcmeAnswerToAnHttp10VisitorAskingForKeepAliveSaysSo() throws Exception {
        EventLoopGroup group = Transport.newEventLoopGroup(1, "acme-http10");
        try (HttpListener listener = HttpListener.bind(new InetSocketAddress("127.0.0.1", 0), group,
                AcmeChallengeAnswerTest.proxy());
             RawHttp http = new RawHttp(listener.port())) {
            for (int i = 0; i < 2; i++) {
                Answer answer = read(http.send(request("GET", "/.well-known/acme-challenge/tok123", "HTTP/1.0",
                        "secure.test", "Connection: keep-alive\r\n")), false);
                assertThat(answer.statusLine()).isEqualTo("HTTP/1.1 200 OK");
                assertThat(answer.header("Connection")).isEqualToIgnoringCase("keep-alive");
                assertThat(answer.body()).isEqualTo("tok123.keyauth");
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * Whether the visitor's connection stays open is decided on the public side alone: a target's answer that keeps
     * no connection ({@code Connection: close}, HTTP/1.0) ends the stream, not the visitor's connection, whose next
     * request goes on a new stream.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/close", "/http10"})
    void aTargetsAnswerThatKeepsNoConnectionLeavesTheVisitorsConnectionOpen(String path) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer closing = read(http.send(request("GET", path, "HTTP/1.1", HOST, "")), false);
            assertThat(closing.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(closing.header("Connection")).isNull();
            assertThat(closing.body()).isEqualTo("conn=1");
            Answer next = read(http.send(request("GET", "/ok", "HTTP/1.1", HOST, "")), false);
            assertThat(next.body()).as("on a new stream and target connection").isEqualTo("conn=2");
        }
    }

    /**
     * A 205 carries no content (RFC 9110 15.3.6): the body a target sent with one is not passed on, the visitor is
     * told no length but 0, and the answer after it on the connection is read as sent.
     */
    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.1", "HTTP/1.0"})
    void aResetContentReachesTheVisitorWithoutContentAndTheNextAnswerIsIntact(String version) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer reset = read(http.send(request("GET", "/reset-content", version, HOST,
                    "Connection: keep-alive\r\n")), true);
            assertThat(reset.statusLine()).isEqualTo("HTTP/1.1 205 Reset Content");
            assertThat(reset.header("Content-Length")).isEqualTo("0");
            assertThat(reset.header("Transfer-Encoding")).isNull();
            Answer next = read(http.send(request("GET", "/ok", version, HOST, "Connection: keep-alive\r\n")), false);
            assertThat(next.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(next.body()).isEqualTo("conn=1");
        }
    }

    /**
     * A 205 its target frames by chunks, or by nothing (then closes), has no content for the visitor either: an
     * HTTP/1.0 visitor that asked for keep-alive is told so, its connection stays open and its next request is
     * answered (on a new stream after the target's close).
     */
    @ParameterizedTest
    @CsvSource({"/reset-content-chunked, conn=1", "/reset-content-unframed, conn=2"})
    void aResetContentWithoutLengthKeepsAnHttp10VisitorsConnectionOpen(String path, String nextBody) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer reset = read(http.send(request("GET", path, "HTTP/1.0", HOST, "Connection: keep-alive\r\n")),
                    true);
            assertThat(reset.statusLine()).isEqualTo("HTTP/1.1 205 Reset Content");
            assertThat(reset.header("Connection")).isEqualToIgnoringCase("keep-alive");
            assertThat(reset.header("Content-Length")).isEqualTo("0");
            assertThat(reset.header("Transfer-Encoding")).isNull();
            Answer next = read(http.send(request("GET", "/ok", "HTTP/1.0", HOST, "Connection: keep-alive\r\n")),
                    false);
            assertThat(next.statusLine()).as("the answer after the 205's").isEqualTo("HTTP/1.1 200 OK");
            assertThat(next.body()).isEqualTo(nextBody);
        }
    }

    /**
     * A 205 with neither length nor chunks from a target that keeps its connection open (a bare 205 head, which
     * RFC 9110 15.3.6 forbids content for) ends at its head: the visitor's connection goes on and its next request is
     * answered at once, on a new stream and target connection, the 205's stream closed (bytes may follow it that no
     * framing says the end of). Before, the stream's decoder read the 205's content to the close: the next request
     * waited the proxy timeout (5 min here) and then the visitor's connection was reset.
     */
    @Test
    void aResetContentWithoutFramingFromATargetKeepingItsConnectionEndsAtItsHead() throws Exception {
        restartWithProxyTimeoutOfFiveMinutes();
        try (RawHttp http = new RawHttp(tunnel.httpPort()).readTimeout(Duration.ofSeconds(10))) {
            Answer reset = read(http.send(request("GET", "/reset-content-unframed-open", "HTTP/1.1", HOST, "")), true);
            assertThat(reset.statusLine()).isEqualTo("HTTP/1.1 205 Reset Content");
            assertThat(reset.header("Content-Length")).isEqualTo("0");
            assertThat(reset.header("X-Reset")).isEqualTo("yes");
            Answer next = read(http.send(request("GET", "/ok", "HTTP/1.1", HOST, "")), false);
            assertThat(next.statusLine()).as("the answer after the 205's").isEqualTo("HTTP/1.1 200 OK");
            assertThat(next.body()).as("on a new stream and target connection").isEqualTo("conn=2");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> target.ended() == 1);
        assertThat(target.accepted()).isEqualTo(2);
    }

    /**
     * The same 205 asked for between two requests the visitor sent in one write: each answer comes framed for its own
     * request, the one before the 205's on the stream the 205 then ends, the one after on a new stream. Before, the
     * third waited the proxy timeout (5 min here) behind the 205's stream.
     */
    @Test
    void aResetContentWithoutFramingPipelinedBetweenTwoRequestsEndsAtItsHead() throws Exception {
        restartWithProxyTimeoutOfFiveMinutes();
        try (RawHttp http = new RawHttp(tunnel.httpPort()).readTimeout(Duration.ofSeconds(10))) {
            http.send(request("GET", "/ok", "HTTP/1.1", HOST, "")
                    + request("GET", "/reset-content-unframed-open", "HTTP/1.1", HOST, "")
                    + request("GET", "/ok", "HTTP/1.1", HOST, ""));
            Answer first = read(http, false);
            assertThat(first.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(first.body()).isEqualTo("conn=1");
            Answer reset = read(http, false);
            assertThat(reset.statusLine()).isEqualTo("HTTP/1.1 205 Reset Content");
            assertThat(reset.header("Content-Length")).isEqualTo("0");
            Answer last = read(http, false);
            assertThat(last.statusLine()).as("the answer after the 205's").isEqualTo("HTTP/1.1 200 OK");
            assertThat(last.body()).as("on a new stream and target connection").isEqualTo("conn=2");
        }
        assertThat(target.paths()).containsExactly("/ok", "/reset-content-unframed-open", "/ok");
    }

    /** A new tunnel whose proxy timeout (5 min) no test outlasts: an answer that waits for it fails the test's read. */
    private void restartWithProxyTimeoutOfFiveMinutes() throws Exception {
        tunnel = tunnel.restartWithProxyTimeout(dataDir, Duration.ofMinutes(5));
        tunnel.addService(HOST, "/", target.address(), false);
    }

    /**
     * A chunked 205 whose last chunk carries trailers reaches the visitor without content and without them (trailers
     * need a chunked body), whether they came in the read of the rest of the body or in one of their own (sent once
     * the visitor has the 205's head, so after the proxy read the rest); the stream goes on, its framing whole.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/reset-content-trailers", "/reset-content-trailers-split"})
    void aResetContentsTrailersDoNotReachTheVisitorHoweverTheyCame(String path) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer reset = read(http.send(request("GET", path, "HTTP/1.1", HOST, "")), true);
            assertThat(reset.statusLine()).isEqualTo("HTTP/1.1 205 Reset Content");
            assertThat(reset.header("Content-Length")).isEqualTo("0");
            assertThat(reset.header("Transfer-Encoding")).isNull();
            if (path.endsWith("-split")) {
                target.sendSplitTrailers();
            }
            Answer next = read(http.send(request("GET", "/ok", "HTTP/1.1", HOST, "")), false);
            assertThat(next.statusLine()).as("the answer after the 205's").isEqualTo("HTTP/1.1 200 OK");
            assertThat(next.headers()).doesNotContainKey("x-checksum");
            assertThat(next.body()).as("on the same stream").isEqualTo("conn=1");
        }
    }

    /**
     * An HTTP/1.0 visitor that asked for keep-alive, answered with a body whose length the head does not say (the
     * target's chunks, or its close): the body ends with the close, so it is told {@code Connection: close}, not
     * keep-alive, and gets the body whole, then the close.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/chunked", "/close-delimited"})
    void anHttp10VisitorAskingForKeepAliveGetsACloseDelimitedBodyAndTheClose(String path) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            Answer answer = read(http.send(request("GET", path, "HTTP/1.0", HOST, "Connection: keep-alive\r\n")),
                    true);
            assertThat(answer.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(answer.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(answer.header("Content-Length")).isNull();
            assertThat(answer.header("Transfer-Encoding")).isNull();
            assertThat(new String(http.in().readAllBytes(), StandardCharsets.ISO_8859_1)).isEqualTo("conn=1");
        }
    }

    /**
     * Requests pipelined behind one whose answer starts with 103 Early Hints: the interim answer pairs with no
     * request, so the GET's answer keeps its body and the HEAD's is framed as an answer to HEAD (no body).
     */
    @Test
    void answersToPipelinedRequestsBehindEarlyHintsAreFramedForTheirOwnRequests() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send(request("GET", "/early-hints", "HTTP/1.1", HOST, "")
                    + request("HEAD", "/ok", "HTTP/1.1", HOST, "") + request("GET", "/ok", "HTTP/1.1", HOST, ""));
            Answer hints = read(http, true);
            assertThat(hints.statusLine()).isEqualTo("HTTP/1.1 103 Early Hints");
            assertThat(hints.header("Link")).isEqualTo("</style.css>; rel=preload");
            Answer get = read(http, false);
            assertThat(get.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(get.body()).isEqualTo("conn=1");
            Answer head = read(http, true);
            assertThat(head.statusLine()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(head.header("Content-Length")).isEqualTo("6");
            // On a new stream: one whose answer to HEAD announces a body is not reused (Exchange.headLetsStreamGoOn).
            Answer last = read(http, false);
            assertThat(last.statusLine()).as("the answer after the HEAD's").isEqualTo("HTTP/1.1 200 OK");
            assertThat(last.body()).isEqualTo("conn=2");
        }
    }
}
