package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP request whose stream's SYN was still queued when the chosen client's connection was lost (closed, no
 * GoAway): the client never heard of it and nothing reached the app, so it goes to another client of the tunnel,
 * whatever its method, with its body; with no other client the visitor hears that the tunnel is offline, not that the
 * app failed. Real server, clients and target; the chosen client's connection sends nothing until it is closed.
 */
class HttpRequestClientLostEndToEndTest {

    private static final String HOST = "lost.test";
    /** The HTTP proxy's exchanges log a request's refusals. */
    private static final String EXCHANGE_LOG = "io.picotunnel.server.proxy.http.Exchange";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "lost", HOST);
    }

    @AfterEach
    void stop() {
        testbed.close();
        tunnel.close();
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
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(opened);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("the tunnel's client chosen for the request was lost before its stream reached it")
                    .endsWith("POST " + HOST + " from 127.0.0.1 is answered 502 tunnel_offline (its body went up the"
                            + " lost stream, and the proxy kept no copy to send again)");
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

    /**
     * Sends {@code request} while {@code chosen} sends nothing, closes {@code chosen}'s connection once the request's
     * stream was opened on it and {@code bodyBytes} of its body went up that stream, and returns the visitor's answer.
     */
    private String lostWithSynQueued(TunnelRegistry.Connection chosen, String request, int bodyBytes) throws Exception {
        UnsentWrites.holdWritesTo(chosen);
        long opened = chosen.streamsOpened();
        long received = testbed.server().traffic().tunnel(tunnel.id).bytesIn();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.setSoTimeout(10_000);
            OutputStream out = visitor.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> chosen.streamsOpened() == opened + 1
                    && testbed.server().traffic().tunnel(tunnel.id).bytesIn() >= received + bodyBytes);

            chosen.session().parent().close();

            return new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
