package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP request whose stream's SYN was still queued when the chosen client's connection was lost (closed, no
 * GoAway): the client never heard of it and nothing reached the app, so it goes to another client of the tunnel,
 * whatever its method, with its body; with no other client the visitor hears that the tunnel is offline, not that the
 * app failed. Real server, clients and target; the chosen client's connection sends nothing until it is closed.
 * A request whose stream reached the client, lost before the response head, may have reached the app: it goes
 * nowhere else, and the visitor hears that the tunnel was lost ({@code tunnel_lost}), not that the app failed, which
 * a target that closes without answering still gets ({@code target_unreachable}). Both hold for a stream of an HTTP/2
 * visitor (TLS with ALPN h2 on the HTTPS listener), whose 502 leaves the connection's other streams alone, and for a
 * GET on an idle keep-alive stream, which goes elsewhere only when its head never left the server. The server
 * closing the sessions itself to stop is no lost tunnel: that request hears the server stopped ({@code server_stopping}).
 */
class HttpRequestClientLostEndToEndTest {

    private static final String HOST = "lost.test";
    /** The HTTP proxy's exchanges log a request's refusals. */
    private static final String EXCHANGE_LOG = "io.picotunnel.server.proxy.http.Exchange";

    @TempDir
    Path dataDir;

    /** The host of a service to a {@link FaultTarget}, on the same tunnel. */
    private static final String FAULT_HOST = "held.test";

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private FaultTarget target;

    private final TestCertificates ca = new TestCertificates();
    /** An HTTP/2 visitor over TLS (the HTTPS listener, ALPN h2), one connection per host. */
    private final HttpClient h2 = ca.httpClient(HttpClient.Version.HTTP_2);

    @BeforeEach
    void start() {
        for (String host : List.of(HOST, FAULT_HOST)) {
            TestCertificates.write(ca.issue(host), dataDir.resolve("certs"), host);
        }
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "lost", HOST);
        target = FaultTarget.http();
        testbed.createHttpService(tunnel.id, FAULT_HOST, target.address());
    }

    @AfterEach
    void stop() throws Exception {
        h2.shutdownNow();
        testbed.close();
        tunnel.close();
        target.close();
    }

    @Test
    void aGetWhoseSynWasStillQueuedWhenItsClientWasLostGets200FromTheTunnelsOtherClient() throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            long opened = clients.other().streamsOpened();

            String answer = lostWithSynQueued(clients.chosen(), "GET / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n", 0);

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.requestCount()).as("the app saw the request once").isEqualTo(1);
            assertThat(clients.other().streamsOpened()).as("the other client took it").isEqualTo(opened + 1);
            assertThat(log.messages(Level.INFO)).as("a lost client is no refusal").isEmpty();
        }
    }

    @Test
    void aPostWhoseSynWasStillQueuedWhenItsClientWasLostGoesWithItsWholeBodyToTheTunnelsOtherClient() throws Exception {
        String body = "name=picotunnel&note=" + "x".repeat(1000);
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen()) {
            String answer = lostWithSynQueued(clients.chosen(), "POST / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nConnection: close\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length() + "\r\n\r\n"
                    + body, body.length());

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.bodies()).as("the app saw the request once, its body whole").containsExactly(body);
        }
    }

    /**
     * A chunked POST whose head and first chunk went up the lost stream, the rest still to come: the body is neither
     * whole nor kept, so the request cannot go to the other client, and is answered at once as with no client.
     */
    @Test
    void aChunkedPostWithItsBodyUnfinishedWhenItsClientWasLostGets502TunnelOfflineNotAnotherClient() throws Exception {
        String chunk = "name=picotunnel";
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            long opened = clients.other().streamsOpened();

            String answer = lostWithSynQueued(clients.chosen(), "POST / HTTP/1.1\r\nHost: " + HOST
                    + "\r\nAccept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n", chunk.length());

            assertThat(answer).startsWith("HTTP/1.1 502").contains("tunnel_offline");
            assertWentNowhereForItsBodyLeftBehind(clients, opened, log);
        }
    }

    @Test
    void aGetWhoseSynWasStillQueuedWhenTheOnlyClientWasLostGets502TunnelOffline() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        TunnelRegistry.Connection only = testbed.server().registry().connections(tunnel.id).getFirst();

        String answer = lostWithSynQueued(only, "GET / HTTP/1.1\r\nHost: " + HOST
                + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n", 0);

        assertThat(answer).startsWith("HTTP/1.1 502").contains("tunnel_offline").doesNotContain("target_unreachable");
        assertThat(tunnel.web.requestCount()).isZero();
    }

    @Test
    void anHttp2GetWhoseSynWasStillQueuedWhenItsClientWasLostGets200FromTheTunnelsOtherClient() throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen()) {
            long opened = clients.other().streamsOpened();

            HttpResponse<String> answer = lostWithSynQueued(clients.chosen(), 0, h2Visit(h2Request(HOST, "/").build()));

            assertThat(answer.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(answer.body()).isEqualTo("hello");
            assertThat(tunnel.web.requestCount()).as("the app saw the request once").isEqualTo(1);
            assertThat(clients.other().streamsOpened()).as("the other client took it").isEqualTo(opened + 1);
        }
    }

    @Test
    void anHttp2PostWhoseSynWasStillQueuedWhenItsClientWasLostGoesWithItsWholeBodyToTheTunnelsOtherClient()
            throws Exception {
        String body = "name=picotunnel&note=" + "x".repeat(1000);
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            long opened = clients.other().streamsOpened();

            HttpRequest post = h2Request(HOST, "/").header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            HttpResponse<String> answer = lostWithSynQueued(clients.chosen(), body.length(), h2Visit(post));

            assertThat(answer.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(answer.body()).isEqualTo("hello");
            assertThat(tunnel.web.bodies()).as("the app saw the request once, its body whole").containsExactly(body);
            assertThat(clients.other().streamsOpened()).as("the other client took it").isEqualTo(opened + 1);
            assertThat(log.messages(Level.INFO)).as("a lost client is no refusal").isEmpty();
        }
    }

    /**
     * An HTTP/2 POST whose head and first DATA frame went up the lost stream while the visitor holds the rest of its
     * body: answered 502 at once, its body still unfinished, and sent to no other client.
     */
    @Test
    void anHttp2PostWithItsBodyUnfinishedWhenItsClientWasLostGets502TunnelOfflineNotAnotherClient() throws Exception {
        String part = "name=picotunnel";
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO);
             SubmissionPublisher<ByteBuffer> body = new SubmissionPublisher<>()) {
            long opened = clients.other().streamsOpened();

            HttpResponse<String> answer = lostWithSynQueued(clients.chosen(), part.length(), () -> {
                Callable<HttpResponse<String>> sent = h2Visit(h2Request(HOST, "/")
                        .POST(HttpRequest.BodyPublishers.fromPublisher(body)).build()).send();
                await().atMost(Duration.ofSeconds(10)).until(() -> body.getNumberOfSubscribers() == 1);
                body.submit(ByteBuffer.wrap(part.getBytes(StandardCharsets.US_ASCII)));
                return sent;
            });

            assertThat(answer.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(answer.statusCode()).isEqualTo(502);
            assertThat(answer.body()).contains("\"error\":\"tunnel_offline\"");
            assertWentNowhereForItsBodyLeftBehind(clients, opened, log);
        }
    }

    /**
     * Over HTTP/2 the 502 is one stream's answer: the connection takes a request after it, and an upload to another
     * tunnel, open on the same connection from before the tunnel was lost until after that request, goes on to its end.
     */
    @Test
    void anHttp2GetWhoseTunnelIsLostWhileTheTargetHoldsGets502TunnelLostAndTheConnectionsOtherStreamsGoOn()
            throws Exception {
        TunnelRegistry.Connection only = clientConnected();
        try (ServicedTunnel second = new ServicedTunnel(testbed, "second", "second.test")) {
            testbed.createService(second.id, "{\"type\":\"http\",\"domain\":\"" + FAULT_HOST
                    + "\",\"path_prefix\":\"/second\",\"target_addr\":\"" + second.web.address() + "\"}");
            testbed.connect(second.id, second.token);
            assertThat(h2.send(h2Request(FAULT_HOST, "/second/first").build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).as("the connection is open").isEqualTo(200);
            SubmissionPublisher<ByteBuffer> upload = new SubmissionPublisher<>();
            long uploaded = testbed.server().traffic().tunnel(second.id).bytesIn();
            CompletableFuture<HttpResponse<String>> uploading = h2.sendAsync(h2Request(FAULT_HOST, "/second/upload")
                    .POST(HttpRequest.BodyPublishers.fromPublisher(upload)).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> upload.getNumberOfSubscribers() == 1);
            upload.submit(ByteBuffer.wrap("before".getBytes(StandardCharsets.US_ASCII)));
            CompletableFuture<HttpResponse<String>> held = h2.sendAsync(h2Request(FAULT_HOST, "/hold").build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> target.requests() == 1
                    && testbed.server().traffic().tunnel(second.id).bytesIn() >= uploaded + "before".length());

            only.session().parent().close();

            HttpResponse<String> lost = held.get(20, TimeUnit.SECONDS);
            assertThat(lost.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(lost.statusCode()).isEqualTo(502);
            assertThat(lost.body()).contains("\"error\":\"tunnel_lost\"").doesNotContain("target_unreachable");
            assertThat(h2.send(h2Request(FAULT_HOST, "/second/after").build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).as("a request after the 502").isEqualTo(200);
            upload.submit(ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII)));
            upload.close(); // the end of the upload's body
            HttpResponse<String> whole = uploading.get(20, TimeUnit.SECONDS);
            assertThat(whole.statusCode()).as("the upload, open on the connection throughout, went on").isEqualTo(200);
            assertThat(whole.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(second.web.bodies()).as("the upload reached its app whole").contains("beforeafter");
            assertThat(target.requests()).as("the app saw the held request once").isEqualTo(1);
        }
    }

    @Test
    void aGetWhoseTargetHoldsItsAnswerWhenItsClientsConnectionIsClosedGets502TunnelLostAndGoesNowhereElse()
            throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            long opened = clients.other().streamsOpened();

            String answer = lostWhileTheTargetHolds(() -> clients.chosen().session().parent().close());

            assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"tunnel_lost\"")
                    .contains("may have reached the app").doesNotContain("target_unreachable");
            assertThat(target.requests()).as("the app saw the request once").isEqualTo(1);
            assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(opened);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .startsWith("service ").contains("the tunnel's client connection was lost before "
                            + target.address() + " answered")
                    .endsWith("GET " + FAULT_HOST + " from 127.0.0.1 is answered 502 tunnel_lost");
        }
    }

    @Test
    void aGetWhoseTargetHoldsItsAnswerWhenTheTunnelsTokenIsRegeneratedGets502TunnelLost() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);

        String answer = lostWhileTheTargetHolds(() -> assertThat(testbed.api()
                .post("/api/tunnels/" + tunnel.id + "/regenerate", "").status()).isEqualTo(200));

        assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"tunnel_lost\"");
    }

    /**
     * A GET on an idle keep-alive stream (reused) whose client's connection is lost while the app holds it may have
     * reached the app, as on a new stream: 502 tunnel_lost, and the tunnel's other client is not asked.
     */
    @Test
    void aGetOnAReusedStreamWhoseClientIsLostWhileTheAppHoldsItGets502TunnelLostAndGoesNowhereElse() throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen()) {
            long opened = clients.other().streamsOpened();
            leaveAnIdleStream();
            tunnel.web.holdNextRequest();
            try (LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO);
                 Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
                visitor.setSoTimeout(10_000);
                sendGet(visitor, HOST, "/held");
                await().atMost(Duration.ofSeconds(10)).until(() -> tunnel.web.requestCount() == 2);

                clients.chosen().session().parent().close();

                String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"tunnel_lost\"");
                assertThat(upstreamsReused()).as("the GET went up the idle stream").isEqualTo(1.0);
                assertThat(tunnel.web.uris()).as("the app saw it once").containsExactly("/", "/held");
                assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(opened);
                assertThat(log.messages(Level.INFO)).singleElement().asString()
                        .contains("the tunnel's client connection was lost before " + tunnel.web.address() + " answered")
                        .endsWith("GET " + HOST + " from 127.0.0.1 is answered 502 tunnel_lost");
            }
        }
    }

    /**
     * A GET on an idle stream whose client's connection is lost with the GET's head still queued (the connection sent
     * nothing more) reached no client: it goes to the tunnel's other client.
     */
    @Test
    void aGetOnAReusedStreamWhoseHeadWasStillQueuedWhenItsClientWasLostGets200FromTheTunnelsOtherClient()
            throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen()) {
            long opened = clients.other().streamsOpened();
            leaveAnIdleStream();

            String answer = lostWithHeadQueued(clients.chosen());

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.uris()).as("the app saw it once").containsExactly("/", "/queued");
            assertThat(clients.other().streamsOpened()).as("the other client took it").isEqualTo(opened + 1);
        }
    }

    /** As above with no other client: the tunnel is offline, and the page says so. */
    @Test
    void aGetOnAReusedStreamWhoseHeadWasStillQueuedWhenTheOnlyClientWasLostGets502TunnelOffline() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        TunnelRegistry.Connection only = testbed.server().registry().connections(tunnel.id).getFirst();
        leaveAnIdleStream();

        String answer = lostWithHeadQueued(only);

        assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"tunnel_offline\"");
        assertThat(tunnel.web.uris()).containsExactly("/");
    }

    /** A GET answered whole: its stream waits in the keep-alive pool for the next request to the host. */
    private void leaveAnIdleStream() {
        assertThat(tunnel.get()).startsWith("HTTP/1.1 200").endsWith("hello");
        await().atMost(Duration.ofSeconds(10)).until(() -> metric("picotunnel_http_upstream_streams_idle ", "") == 1);
    }

    /**
     * Sends {@code GET /queued} once {@code chosen} sends nothing more, closes {@code chosen}'s connection once the GET
     * took the idle stream, and returns the visitor's answer.
     */
    private String lostWithHeadQueued(TunnelRegistry.Connection chosen) throws Exception {
        UnsentWrites.holdWritesTo(chosen);
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            sendGet(visitor, HOST, "/queued");
            await().atMost(Duration.ofSeconds(10)).until(() -> upstreamsReused() == 1);

            chosen.session().parent().close();

            return new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Requests of the tunnel's http services that took an idle stream, as {@code /metrics} counts them. */
    private double upstreamsReused() {
        return metric("picotunnel_http_upstream_streams_reused_total{", "tunnel=\"" + tunnel.id + "\"");
    }

    /** The sum of the samples of {@code /metrics} whose lines start with {@code start} and have {@code part}. */
    private double metric(String start, String part) {
        String text = testbed.api().get("/metrics").raw().body();
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (line.startsWith(start) && line.contains(part)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        if (found) {
            return sum;
        }
        throw new AssertionError(start + " with " + part + " not in /metrics:\n" + text);
    }

    /**
     * The server stopped (as on SIGTERM) while the target holds: at the end of its grace period the visitor hears that
     * the server is stopping, with a Retry-After, and the log does not take the stop for a lost client.
     */
    @Test
    void aGetWhoseTargetHoldsItsAnswerPastTheServersShutdownGraceGets503ServerStopping() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        try (LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            String answer = lostWhileTheTargetHolds(() -> Thread.ofPlatform().daemon().name("server-stop")
                    .start(() -> testbed.server().stop(Duration.ofMillis(300))));

            assertThat(answer).startsWith("HTTP/1.1 503").contains("\"error\":\"server_stopping\"")
                    .containsIgnoringCase("retry-after: 5").containsIgnoringCase("connection: close").doesNotContain("tunnel_lost");
            assertThat(target.requests()).as("the app saw the request once").isEqualTo(1);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .doesNotContain("client connection was lost")
                    .startsWith("service ").contains("the server stopped before " + target.address() + " answered")
                    .endsWith("GET " + FAULT_HOST + " from 127.0.0.1 is answered 503 server_stopping");
        }
    }

    @Test
    void aGetWhoseTargetClosesItsConnectionWithoutAnsweringStillGets502TargetUnreachable() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        try (LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            String answer = get("/unanswered");

            assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"target_unreachable\"");
            assertThat(target.requests()).isEqualTo(1);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .isEqualTo(target.address() + " ended the stream before a response to GET " + FAULT_HOST);
        }
    }

    @Test
    void aResponseWhoseClientsConnectionIsLostAfterItsHeadIsResetAndTheLogSaysTheConnectionWasLost()
            throws Exception {
        TunnelRegistry.Connection only = clientConnected();
        try (LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            send(visitor, "/reset-length/1024");
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200").containsEntry("content-length", "10240");
            assertThat(in.readNBytes(1024)).hasSize(1024);

            only.session().parent().close();

            assertThatThrownBy(in::readAllBytes).as("the cut body cannot pass for a whole one")
                    .isInstanceOf(SocketException.class).hasMessageContaining("Connection reset");
            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .isEqualTo("the tunnel's client connection was lost in the middle of " + target.address()
                            + "'s response to GET " + FAULT_HOST);
        }
    }

    /** A POST whose body went up the lost stream reached no app and no other client, and one line says why. */
    private void assertWentNowhereForItsBodyLeftBehind(ServicedTunnel.TwoClients clients, long otherOpened,
                                                       LogCapture log) {
        assertThat(tunnel.web.requestCount()).isZero();
        assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(otherOpened);
        assertThat(log.messages(Level.INFO)).singleElement().asString()
                .contains("the tunnel's client chosen for the request was lost before its stream reached it")
                .endsWith("POST " + HOST + " from 127.0.0.1 is answered 502 tunnel_offline (its body went up the"
                        + " lost stream, and the proxy kept no copy to send again)");
    }

    private TunnelRegistry.Connection clientConnected() {
        testbed.connect(tunnel.id, tunnel.token);
        return testbed.server().registry().connections(tunnel.id).getFirst();
    }

    /** Sends {@code GET /hold}, cuts the tunnel with {@code cut} once the target read it, returns the answer. */
    private String lostWhileTheTargetHolds(Runnable cut) throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            send(visitor, "/hold");
            await().atMost(Duration.ofSeconds(10)).until(() -> target.requests() == 1);

            cut.run();

            return new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A request over HTTP/2 for {@code path} on {@code host} at the HTTPS listener, asking for JSON pages. */
    private HttpRequest.Builder h2Request(String host, String path) {
        return HttpRequest.newBuilder(URI.create("https://" + host + ":" + testbed.server().httpsPort() + path))
                .header("Accept", "application/json").timeout(Duration.ofSeconds(20));
    }

    private String get(String path) throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            send(visitor, path);
            return new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void send(Socket visitor, String path) throws Exception {
        sendGet(visitor, FAULT_HOST, path);
    }

    /** {@code GET path} to {@code host}, asking for JSON pages and the connection's close after the answer. */
    private static void sendGet(Socket visitor, String host, String path) throws Exception {
        OutputStream out = visitor.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host
                + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /**
     * Sends {@code request} while {@code chosen} sends nothing, closes {@code chosen}'s connection once the request's
     * stream was opened on it and {@code bodyBytes} of its body went up that stream, and returns the visitor's answer.
     */
    private String lostWithSynQueued(TunnelRegistry.Connection chosen, String request, int bodyBytes) throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            return lostWithSynQueued(chosen, bodyBytes, () -> {
                OutputStream out = visitor.getOutputStream();
                out.write(request.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return () -> new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            });
        }
    }

    /** As above, the request sent by {@code visit}, whose answer comes from what it returns. */
    private <T> T lostWithSynQueued(TunnelRegistry.Connection chosen, int bodyBytes, Visit<T> visit) throws Exception {
        UnsentWrites.holdWritesTo(chosen);
        long opened = chosen.streamsOpened();
        long received = testbed.server().traffic().tunnel(tunnel.id).bytesIn();
        Callable<T> answer = visit.send();
        await().atMost(Duration.ofSeconds(10)).until(() -> chosen.streamsOpened() == opened + 1
                && testbed.server().traffic().tunnel(tunnel.id).bytesIn() >= received + bodyBytes);

        chosen.session().parent().close();

        return answer.call();
    }

    /** Sends {@code request} over HTTP/2; its answer, within 20 s, as a string. */
    private Visit<HttpResponse<String>> h2Visit(HttpRequest request) {
        return () -> {
            CompletableFuture<HttpResponse<String>> sent = h2.sendAsync(request, HttpResponse.BodyHandlers.ofString());
            return () -> sent.get(20, TimeUnit.SECONDS);
        };
    }

    /** A request sent by a visitor: its answer, once it comes, from the {@link Callable} returned. */
    private interface Visit<T> {
        Callable<T> send() throws Exception;
    }
}
