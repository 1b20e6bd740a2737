package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Upstream keep-alive through the real path (proxy, tunnel, our client, a target on plain sockets that counts
 * its connections): a stream and the client's connection to the target behind it carry request after request,
 * and only after a complete keep-alive exchange.
 */
class UpstreamKeepAliveTest {

    private static final String HOST = "keep.test";
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private KeepAliveTarget target;

    private String serviceId;

    private void start(Map<Setting, String> settings) throws Exception {
        tunnel = new TunnelFixture(dataDir, settings);
        target = new KeepAliveTarget();
        serviceId = tunnel.addService(HOST, "/", target.address(), false);
    }

    private void start() throws Exception {
        start(Map.of());
    }

    @AfterEach
    void stop() throws IOException {
        if (tunnel != null) {
            tunnel.close();
        }
        if (target != null) {
            target.close();
        }
    }

    private RawHttp.Response get(RawHttp http, String path) throws IOException {
        return http.get(HOST, path);
    }

    private void awaitIdle(int streams) {
        await().atMost(WAIT).until(() -> tunnel.idleUpstreams() == streams);
    }

    private void awaitTargetConnectionsEnded(int count) {
        await().atMost(WAIT).until(() -> target.ended() == count);
    }

    /** The first stream is closed or idle in the pool: which of the two, the next request tells. */
    private void awaitFirstStreamClosedOrIdle() {
        await().atMost(WAIT).until(() -> target.ended() == 1 || tunnel.idleUpstreams() == 1);
    }

    private long serviceCount(String name) {
        OptionalDouble value = tunnel.metric(name, "service=\"" + serviceId + "\"");
        assertThat(value).as(name + " of the service").isPresent();
        return (long) value.getAsDouble();
    }

    /** The service's {@code picotunnel_http_upstream_streams_opened_total} in {@code /metrics}. */
    private long streamsOpened() {
        return serviceCount("picotunnel_http_upstream_streams_opened_total");
    }

    /** The service's {@code picotunnel_http_upstream_streams_reused_total} in {@code /metrics}. */
    private long streamsReused() {
        return serviceCount("picotunnel_http_upstream_streams_reused_total");
    }

    /** The next request, on a visitor connection of its own, gets a new target connection. */
    private void assertNextRequestUsesNewConnection() throws IOException {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            RawHttp.Response response = get(http, "/ok");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=2");
        }
        assertThat(target.accepted()).isEqualTo(2);
        assertThat(streamsReused()).isZero();
    }

    @Test
    void sequentialRequestsOnOneVisitorConnectionShareOneTargetConnectionAndStream() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // No waiting between requests: the stream is back in the pool before the connection reads on.
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            assertThat(get(http, "/chunked").text()).isEqualTo("conn=1");
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        assertThat(target.accepted()).isEqualTo(1);
        assertThat(streamsOpened()).isEqualTo(1);
        assertThat(streamsReused()).isEqualTo(2);
        awaitIdle(1);
    }

    @Test
    void aReusedStreamTheTargetAnswersConnectionCloseOnIsReplacedByANewOne() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            assertThat(get(http, "/close").text()).isEqualTo("conn=1");
        }
        assertThat(streamsOpened()).isEqualTo(1);
        assertThat(streamsReused()).isEqualTo(1);
        awaitTargetConnectionsEnded(1);
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=2");
        }
        assertThat(streamsOpened()).isEqualTo(2);
        assertThat(streamsReused()).isEqualTo(1);
        awaitIdle(1);
    }

    @Test
    void requestsFromTwoVisitorConnectionsShareOneTargetConnectionAndStream() throws Exception {
        start();
        try (RawHttp first = new RawHttp(tunnel.httpPort())) {
            assertThat(get(first, "/ok").text()).isEqualTo("conn=1");
        }
        awaitIdle(1);
        try (RawHttp second = new RawHttp(tunnel.httpPort())) {
            // HTTP/1.0 and Connection: close from the visitor end the visitor's connection, not the upstream's.
            second.send("GET /ok HTTP/1.0\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(second.read().text()).isEqualTo("conn=1");
        }
        awaitIdle(1);
        try (RawHttp third = new RawHttp(tunnel.httpPort())) {
            third.send("GET /ok HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n");
            assertThat(third.read().text()).isEqualTo("conn=1");
        }
        assertThat(target.accepted()).isEqualTo(1);
        assertThat(streamsOpened()).isEqualTo(1);
    }

    @Test
    void connectionCloseFromTheTargetIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/close").text()).isEqualTo("conn=1");
        }
        // The target keeps its socket open: only the proxy's close of the stream ends it.
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void http10ResponseWithoutKeepAliveIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/http10").text()).isEqualTo("conn=1");
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void aTransferCodingOtherThanChunkedGets502AndTheStreamIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // Passed on re-framed as chunked alone, the body would reach the visitor as gzip's bytes, unannounced.
            RawHttp.Response response = get(http, "/gzip-chunked");
            assertThat(response.status()).isEqualTo(502);
            assertThat(response.text()).doesNotContain("conn=");
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void incompleteResponseBodyIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThatThrownBy(() -> get(http, "/cut")).isInstanceOf(IOException.class);
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void headAnsweredWithABodyIsNotReusedAndTheNextVisitorGetsItsOwnAnswer() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("HEAD /head-with-body HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            RawHttp.Response head = http.read(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.headers().get("content-length")).containsExactly("6");
        }
        // Reused, the stream would read the stray body as the start of this visitor's response: a 502 (or a wait
        // for the proxy timeout when the stray bytes held a line break).
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void headAnsweredWithABodyThatComesLateIsNotReadAsTheNextVisitorsResponse() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("HEAD /head-late-body HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(http.read(true).status()).isEqualTo(200);
        }
        // Nothing came past the head yet: the stray body comes only once a next request is on its way. Given back
        // to the pool, the stream would carry this visitor's request, who would get the stray body ("stray").
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void noContentAnswerAnnouncingABodyThatComesLateIsNotReadAsTheNextVisitorsResponse() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/no-content-late-body").status()).isEqualTo(204);
        }
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void notModifiedAnnouncingABodyThatComesLateIsNotReadAsTheNextVisitorsResponse() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /not-modified-late-body HTTP/1.1\r\nHost: " + HOST + "\r\nIf-None-Match: \"1\"\r\n\r\n");
            assertThat(http.read(true).status()).isEqualTo(304);
        }
        // The body comes only once the next request on the target connection has begun to arrive: no idle watch can
        // see it. Given back to the pool, the stream would carry this visitor's request, who would get "stray".
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bytesAnIdleStreamGetsWithoutALineBreakCloseItAndDoNotReachTheNextVisitor() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/not-modified-then-bytes").status()).isEqualTo(304);
        }
        awaitIdle(1);
        // A body after the 304, late: without a line break the response decoder only holds it, no message comes.
        target.sendLateBytes();
        await().atMost(WAIT).until(() -> target.lateBytesSent() == 1);
        // Handed out, the stream would put them before the next response, whose status line would read
        // '{"user":"alice","balance":100}HTTP/1.1 200 OK' (a 502), or the next visitor would get the bytes
        // themselves had they read as the start of a response.
        await("the stream that got bytes while idle was closed").atMost(WAIT).until(() -> target.ended() == 1);
        assertThat(tunnel.idleUpstreams()).isZero();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bytesAfterANotModifiedOrAnEmptyBodyInTheSameWriteAreNotReadAsTheNextResponse() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/not-modified-with-bytes").status()).isEqualTo(304);
            // The same visitor's next request goes on another stream, not after the bytes the decoder holds.
            assertThat(get(http, "/empty-with-bytes").text()).isEmpty();
            assertThat(get(http, "/ok").text()).isEqualTo("conn=3");
        }
        awaitTargetConnectionsEnded(2);
        assertThat(streamsReused()).isZero();
    }

    @Test
    void bytesPastContentLengthAreNotReadAsTheNextResponse() throws Exception {
        start();
        assertSameVisitorsNextRequestGoesOnANewStream("/past-length", "ok");
    }

    @Test
    void aSecondResponseInTheSameReadIsNotServedAndTheStreamIsNotReused() throws Exception {
        start();
        assertSameVisitorsNextRequestGoesOnANewStream("/two-answers", "conn=1");
    }

    /** {@code path} is answered {@code text}; the same visitor's next request goes on another stream. */
    private void assertSameVisitorsNextRequestGoesOnANewStream(String path, String text) throws IOException {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, path).text()).isEqualTo(text);
            assertThat(get(http, "/ok").text()).isEqualTo("conn=2");
        }
        awaitTargetConnectionsEnded(1);
        assertThat(streamsReused()).isZero();
    }

    @Test
    void upgradedConnectionIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /upgrade HTTP/1.1\r\nHost: " + HOST + "\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
            assertThat(http.read(true).status()).isEqualTo(101);
            http.send("ping");
            assertThat(new String(http.in().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bytesSentRightBehindAnUpgradeRequestReachTheTargetAfterTheSwitch() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // One write: a client that speaks first after its upgrade request (the decoder took these as HTTP).
            http.send("GET /upgrade HTTP/1.1\r\nHost: " + HOST + "\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
                    + "early\r\n\r\nbytes");
            assertThat(http.read(true).status()).isEqualTo(101);
            http.send("|late");
            String expected = "early\r\n\r\nbytes|late";
            assertThat(new String(http.in().readNBytes(expected.length()), StandardCharsets.US_ASCII)).isEqualTo(expected);
        }
    }

    @Test
    void bytesBehindAnUpgradeRequestWhoseEmptyLineComesInTwoWritesReachTheTarget() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /upgrade HTTP/1.1\r\nHost: " + HOST + "\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r");
            http.send("\nearly");
            assertThat(http.read(true).status()).isEqualTo(101);
            assertThat(new String(http.in().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("early");
        }
    }

    @Test
    void aRequestPipelinedBehindAnUpgradeTheTargetDeclinesIsAnswered() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /ok HTTP/1.1\r\nHost: " + HOST + "\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
                    + "GET /ok HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(http.read().status()).isEqualTo(200);
            assertThat(http.read().status()).isEqualTo(200);
        }
    }

    @Test
    void aResponseTheVisitorLeftBeforeItsEndIsNotReusedAndItsRestReachesNoOne() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /half-then-gate HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            assertThat(http.line()).isEqualTo("HTTP/1.1 200 OK");
            assertThat(tunnel.openRequests()).isEqualTo(1);
            // The visitor goes away with the response half read.
        }
        // Its stream is closed, not parked in the pool for the rest of a body that would reach the next visitor.
        await().atMost(WAIT).until(() -> tunnel.openRequests() == 0);
        assertThat(tunnel.idleUpstreams()).isZero();
        target.openGate();
        // The rest of the body finds the stream closed: the target's connection ends instead of waiting in the pool.
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void requestWhoseBodyWasNotSentCompletelyIsNotReused() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // The target answers before the body is whole; the rest of the body never comes.
            http.send("POST /early HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 1000\r\n\r\n0123456789");
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=1");
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bodyOfAnExpectContinueRequestAnsweredWithoutA100IsNotTakenForTheNextVisitorsRequest() throws Exception {
        start();
        // The start of a request whose head the next request on the target connection would end.
        String prefix = "GET /smuggled HTTP/1.1\r\nX-Ignore: ";
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("POST /refuse-expect HTTP/1.1\r\nHost: " + HOST + "\r\nExpect: 100-continue\r\nContent-Length: "
                    + prefix.length() + "\r\n\r\n" + prefix);
            assertThat(http.read().status()).isEqualTo(417);
        }
        // Given back to the pool, the stream would carry the next visitor's request after the unread prefix, and
        // that visitor would get the target's answer to /smuggled (a 404).
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bodyOfAGetThatTheTargetDoesNotReadIsNotTakenForTheNextVisitorsRequest() throws Exception {
        start();
        // CL.0: the body is the start of a request whose head the next request on the target connection would end.
        String prefix = "GET /smuggled HTTP/1.1\r\nX-Ignore: ";
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /static HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: " + prefix.length() + "\r\n\r\n"
                    + prefix);
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=1");
        }
        // Given back to the pool, the stream would carry the next visitor's request after the unread prefix, and
        // that visitor would get the target's answer to /smuggled (a 404) instead of its own.
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @Test
    void bodyOfAPostAnsweredWithAnErrorIsNotTakenForTheNextVisitorsRequest() throws Exception {
        start();
        String prefix = "GET /smuggled HTTP/1.1\r\nX-Ignore: ";
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // The target refuses the method before looking at the body (405), and keeps the connection.
            http.send("POST /static HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: " + prefix.length() + "\r\n\r\n"
                    + prefix);
            assertThat(http.read().status()).isEqualTo(405);
        }
        awaitFirstStreamClosedOrIdle();
        assertNextRequestUsesNewConnection();
    }

    @ParameterizedTest
    @ValueSource(strings = {"5\r\nhello\r\n0\r\n\r\n", "0\r\n\r\n"})
    void aChunkedBodyTheTargetLeavesUnreadKeepsItsStreamFromTheNextRequest(String chunks) throws Exception {
        // A request sent on the first stream would wait behind the unread chunks for ever: answered 504 after this.
        start(Map.of(Setting.PROXY_TIMEOUT, "5s"));
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // The target answers without reading the body and keeps the connection: no close, no 400 at the chunks
            // left over, which would get the stream out of the pool before the next request took it.
            http.send("GET /unread-body HTTP/1.1\r\nHost: " + HOST + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunks);
            RawHttp.Response first = http.read();
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.text()).isEqualTo("conn=1");
            // Read once the first exchange ended: a stream given back to the pool would carry it.
            RawHttp.Response second = get(http, "/ok");
            assertThat(streamsReused()).as("streams reused").isZero();
            assertThat(second.status()).as("the answer to the next request").isEqualTo(200);
            assertThat(second.text()).isEqualTo("conn=2");
        }
        assertThat(streamsOpened()).isEqualTo(2);
        assertThat(target.accepted()).isEqualTo(2);
        assertThat(target.paths()).containsExactly("/unread-body", "/ok");
        awaitIdle(1);
    }

    @Test
    void postAndPutWithABodyAnsweredWith2xxKeepTheirStream() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("POST /ok HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(http.read().text()).isEqualTo("conn=1");
            http.send("PUT /chunked HTTP/1.1\r\nHost: " + HOST + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            assertThat(http.read().text()).isEqualTo("conn=1");
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        assertThat(target.accepted()).isEqualTo(1);
        assertThat(streamsReused()).isEqualTo(2);
    }

    @Test
    void requestsFramedTwoWaysGet400AndNeitherTheTargetNorTheNextVisitorSeesWhatTheyHid() throws Exception {
        start();
        String hidden = "GET /smuggled HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n";
        String head = "POST /ok HTTP/1.1\r\nHost: " + HOST + "\r\n";
        Map<String, String> requests = new LinkedHashMap<>();
        requests.put("Content-Length and chunked", head + "Content-Length: " + (5 + hidden.length())
                + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden);
        requests.put("HTTP/1.0 with chunked and Content-Length", "POST /ok HTTP/1.0\r\nHost: " + HOST
                + "\r\nConnection: keep-alive\r\nContent-Length: " + (5 + hidden.length())
                + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden);
        requests.put("two equal Content-Lengths", head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
        requests.put("two Content-Lengths", head + "Content-Length: 0\r\nContent-Length: " + hidden.length()
                + "\r\n\r\n" + hidden);
        requests.put("chunked, identity", head + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + hidden);
        requests.put("xchunked", head + "Transfer-Encoding: xchunked\r\nContent-Length: " + hidden.length()
                + "\r\n\r\n" + hidden);
        requests.put("two Transfer-Encodings", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
                + "0\r\n\r\n" + hidden);
        requests.put("Transfer-Encoding folded", head + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + hidden);
        requests.put("space before the colon", head + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + hidden);
        requests.put("bare CR in a header", head + "X-A: a\rContent-Length: " + hidden.length() + "\r\n\r\n" + hidden);
        requests.put("chunk size past 64 bits", head + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\n"
                + hidden + "\r\n0\r\n\r\n");
        requests.put("negative chunk size", head + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"
                + hidden);
        requests.put("chunk without its CRLF", head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"
                + hidden);
        for (Map.Entry<String, String> request : requests.entrySet()) {
            try (RawHttp http = new RawHttp(tunnel.httpPort())) {
                http.send(request.getValue());
                RawHttp.Response answer = http.read();
                assertThat(answer.status()).as(request.getKey()).isEqualTo(400);
                assertThat(http.closedWithin15s()).as(request.getKey() + ": connection closed").isTrue();
            }
            try (RawHttp next = new RawHttp(tunnel.httpPort())) {
                RawHttp.Response answer = get(next, "/ok");
                assertThat(answer.status()).as(request.getKey() + ": the next visitor's answer").isEqualTo(200);
                assertThat(answer.text()).as(request.getKey()).startsWith("conn=");
            }
        }
        assertThat(target.paths()).doesNotContain("/smuggled");
    }

    @Test
    void timedOutRequestIsNotReused() throws Exception {
        start(Map.of(Setting.PROXY_TIMEOUT, "1s"));
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/hang").status()).isEqualTo(504);
        }
        awaitTargetConnectionsEnded(1);
        assertNextRequestUsesNewConnection();
    }

    @Test
    void idleStreamWhoseTargetClosedIsNotHandedOut() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        awaitIdle(1);
        // The answer is out before the target's thread waits for the next request: only then is there one to close.
        await().atMost(WAIT).until(() -> target.idleConnections() == 1);
        target.closeIdleConnections();
        awaitIdle(0);
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // A POST with a body is never retried: had the dead stream been handed out, this would be a 502.
            http.send("POST /ok HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 5\r\n\r\nhello");
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=2");
        }
        assertThat(streamsReused()).isZero();
    }

    @Test
    void idleTimeoutClosesPooledStreamAndTargetConnection() throws Exception {
        start(Map.of(Setting.UPSTREAM_KEEPALIVE_TIMEOUT, "300ms"));
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        awaitTargetConnectionsEnded(1);
        assertThat(tunnel.idleUpstreams()).isZero();
        assertNextRequestUsesNewConnection();
    }

    /**
     * The visitor's side has its own keep-alive timeout (nginx's keepalive_timeout): it was fixed at 75 s, too short
     * behind a load balancer that keeps its connections longer (Google Cloud's: 600 s), which then sends a request on
     * a connection the server is closing and answers 502.
     */
    @Test
    void aVisitorsIdleConnectionIsClosedAfterTheKeepaliveTimeoutSet() throws Exception {
        start(Map.of(Setting.KEEPALIVE_TIMEOUT, "1s"));
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");

            long idleFrom = System.nanoTime();
            assertThat(http.closedWithin15s()).as("closed after the 1 s keep-alive timeout, not 75 s").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - idleFrom)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
        }
    }

    @Test
    void zeroKeepaliveTimeoutOpensAStreamPerRequest() throws Exception {
        start(Map.of(Setting.UPSTREAM_KEEPALIVE_TIMEOUT, "0"));
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            awaitTargetConnectionsEnded(1);
            assertThat(get(http, "/ok").text()).isEqualTo("conn=2");
        }
        assertThat(streamsReused()).isZero();
    }

    @Test
    void drainingServerClosesIdleStreamsInsteadOfWaitingForThem() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        awaitIdle(1);
        long begin = System.nanoTime();
        tunnel.stopServer(Duration.ofSeconds(60));
        assertThat(Duration.ofNanos(System.nanoTime() - begin))
                .as("the idle stream did not hold the drain for the 60 s grace period").isLessThan(Duration.ofSeconds(20));
        awaitTargetConnectionsEnded(1);
    }

    @Test
    void getIsRetriedOnANewStreamWhenTheReusedConnectionClosesAsItArrives() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/flaky").text()).isEqualTo("conn=1");
            awaitIdle(1);
            RawHttp.Response response = get(http, "/flaky");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=2");
        }
        assertThat(streamsReused()).isEqualTo(1);
        assertThat(streamsOpened()).isEqualTo(2);
    }

    @Test
    void postIsNotRetriedWhenTheReusedConnectionClosesAsItArrives() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/flaky").text()).isEqualTo("conn=1");
            awaitIdle(1);
            http.send("POST /flaky HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(http.read().status()).isEqualTo(502);
        }
        assertThat(target.accepted()).isEqualTo(1);
    }

    /**
     * The reused stream's client connection is lost while the target holds the GET: the request reached the app, so it
     * is the tunnel that was lost, not the tunnel offline, and it is not sent again.
     */
    @Test
    void aGetOnAReusedStreamWhoseTunnelIsLostGets502TunnelLostAndTheConnectionAnswersItsNextRequest() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            awaitIdle(1);
            http.send("GET /hang HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            await().atMost(WAIT).until(() -> target.paths().contains("/hang"));
            tunnel.regenerateToken();
            RawHttp.Response lost = http.read();
            assertThat(lost.status()).isEqualTo(502);
            assertThat(lost.text()).contains("tunnel was lost").contains("may have reached the app")
                    .doesNotContain("offline");
            RawHttp.Response next = get(http, "/ok");
            assertThat(next.status()).isEqualTo(502);
            assertThat(next.text()).contains("The tunnel is offline");
        }
        assertThat(streamsReused()).isEqualTo(1);
    }

    @Test
    void aGetOnAReusedStreamStillOpenWhenTheClientStopsGets503ClientStoppingAndIsNotRetried() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            awaitIdle(1);
            http.send("GET /hang HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            await().atMost(WAIT).until(() -> target.paths().contains("/hang"));

            tunnel.stopClient();

            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(503);
            assertThat(response.header("retry-after")).isEqualTo("5");
            assertThat(response.text()).contains("client is stopping");
        }
        assertThat(streamsReused()).isEqualTo(1);
        assertThat(streamsOpened()).as("no retry on a new stream").isEqualTo(1);
    }

    /** {@code count} visitor connections with a {@code /gate} request each, all at the target at once, then answered. */
    private void concurrentRequests(int count) throws IOException {
        List<RawHttp> visitors = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                RawHttp http = new RawHttp(tunnel.httpPort());
                visitors.add(http);
                http.send("GET /gate HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            }
            await().atMost(WAIT).until(() -> target.accepted() == count);
            target.openGate();
            for (RawHttp http : visitors) {
                assertThat(http.read().status()).isEqualTo(200);
            }
        } finally {
            for (RawHttp http : visitors) {
                http.close();
            }
        }
    }

    @Test
    void sixtyFourConcurrentVisitorsKeepAllTheirTargetConnectionsByDefault() throws Exception {
        start();
        concurrentRequests(64);
        awaitIdle(64);
        assertThat(target.ended()).isZero();
        // The next 64 at once find 64 idle streams: no new target connection.
        concurrentRequests(64);
        assertThat(target.accepted()).isEqualTo(64);
        assertThat(streamsReused()).isEqualTo(64);
    }

    @Test
    void upstreamKeepaliveBoundsTheIdleStreamsPerService() throws Exception {
        start(Map.of(Setting.UPSTREAM_KEEPALIVE, "3"));
        concurrentRequests(10);
        awaitIdle(3);
        awaitTargetConnectionsEnded(7);
    }

    /** One request, answered on the target's first connection, whose stream then waits idle in the pool. */
    private void leaveOneIdleStream() throws IOException {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
        }
        awaitIdle(1);
    }

    @Test
    void anEditedServicesNextRequestGoesToItsNewTargetAndTheOldTargetsIdleConnectionIsClosedAtOnce() throws Exception {
        start();
        leaveOneIdleStream();
        try (KeepAliveTarget moved = new KeepAliveTarget()) {
            tunnel.editService(serviceId, "{\"target_addr\":\"" + moved.address() + "\"}");
            // Not after --upstream-keepalive-timeout (60 s): WAIT is well under it.
            awaitTargetConnectionsEnded(1);
            try (RawHttp http = new RawHttp(tunnel.httpPort())) {
                assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            }
            assertThat(moved.accepted()).isEqualTo(1);
            assertThat(target.accepted()).isEqualTo(1);
            awaitIdle(1);
        }
    }

    @Test
    void aDeletedServicesIdleStreamAndItsTargetConnectionAreClosedAtOnce() throws Exception {
        start();
        leaveOneIdleStream();
        tunnel.deleteService(serviceId);
        awaitTargetConnectionsEnded(1);
        awaitIdle(0);
    }

    @Test
    void aRequestUnderWayWhenItsServiceIsEditedIsAnsweredAndItsTargetConnectionThenClosed() throws Exception {
        start();
        try (RawHttp http = new RawHttp(tunnel.httpPort());
             KeepAliveTarget moved = new KeepAliveTarget()) {
            http.send("GET /gate HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
            await().atMost(WAIT).until(() -> target.paths().contains("/gate"));
            tunnel.editService(serviceId, "{\"target_addr\":\"" + moved.address() + "\"}");
            target.openGate();
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("conn=1");
            // Given back under a target the service no longer has: closed, not kept for 60 s.
            awaitTargetConnectionsEnded(1);
            assertThat(tunnel.idleUpstreams()).isZero();
            assertThat(get(http, "/ok").text()).isEqualTo("conn=1");
            assertThat(moved.accepted()).isEqualTo(1);
        }
    }

    @Test
    void editsWhileRequestsRunLeaveNoIdleStreamToATargetTheServiceNoLongerHas() throws Exception {
        start();
        ExecutorService visitors = Executors.newFixedThreadPool(4);
        AtomicBoolean editing = new AtomicBoolean(true);
        CountDownLatch eachAnswered = new CountDownLatch(4);
        try (KeepAliveTarget other = new KeepAliveTarget()) {
            List<Future<Integer>> runs = new ArrayList<>();
            for (int v = 0; v < 4; v++) {
                runs.add(visitors.submit(() -> {
                    int answered = 0;
                    try (RawHttp http = new RawHttp(tunnel.httpPort())) {
                        // Streams given back on the loops while the API's thread moves the service between targets.
                        while (editing.get() && answered < 5_000) {
                            assertThat(get(http, "/ok").status()).isEqualTo(200);
                            if (answered++ == 0) {
                                eachAnswered.countDown();
                            }
                        }
                    }
                    return answered;
                }));
            }
            // Every visitor has a stream in use or in the pool before the edits start.
            // A visitor that ended before then failed: its own error is the one to report.
            await().atMost(WAIT).alias("each visitor answered once, or one ended")
                    .until(() -> eachAnswered.getCount() == 0 || runs.stream().anyMatch(Future::isDone));
            for (Future<Integer> run : runs) {
                if (run.isDone()) {
                    run.get();
                }
            }
            assertThat(eachAnswered.getCount()).as("visitors that had not answered once when another ended").isZero();
            for (int edit = 1; edit <= 40; edit++) {
                String to = (edit % 2 == 1 ? other : target).address();
                tunnel.editService(serviceId, "{\"target_addr\":\"" + to + "\"}");
            }
            editing.set(false);
            for (Future<Integer> run : runs) {
                assertThat(run.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isPositive();
            }
            // The service ends on this fixture's target: every connection to the other one is closed, none kept idle.
            await().atMost(WAIT).until(() -> other.ended() == other.accepted());
            assertThat(other.accepted()).isPositive();
        } finally {
            visitors.shutdownNow();
        }
    }
}
