package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP/2 visitor (TLS with ALPN h2 on the HTTPS listener) downloading through the tunnel from an HTTP/1.1 target:
 * a fault in the middle of the answer (the target resets or ends its connection before the body's end, the tunnel's
 * connection drops, the client stops) ends the visitor's stream with RST_STREAM, never with END_STREAM, whatever
 * frames the target's body (Content-Length, chunked, or the close of its connection). Real server, client and target.
 */
class Http2DownloadFaultEndToEndTest {

    private static final String HOST = "h2faults.test";
    private static final long MiB = 1024 * 1024;
    /** Far more than every buffer on the path holds: a visitor that has read one MiB is really mid-transfer. */
    private static final long SIZE = 256 * MiB;
    /** What the target sends of a body before its fault. */
    private static final long BEFORE_FAULT = 100_000;
    /** HTTP/2's initial window, which {@link RawHttp2Visitor} opens no further unless told to. */
    private static final int INITIAL_WINDOW = 65_535;
    private static final long INTERNAL_ERROR = 0x2;
    private static final Duration BODY_WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private final HttpClient h2 = ca.httpClient(HttpClient.Version.HTTP_2);
    private Testbed testbed;
    private FaultTarget target;
    private String tunnelId;
    private TunnelClient client;

    @BeforeEach
    void start() {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
        target = FaultTarget.http();
        JsonNode tunnel = testbed.createTunnel("h2faults");
        tunnelId = tunnel.get("id").asText();
        testbed.createHttpService(tunnelId, HOST, target.address());
        client = testbed.connect(tunnelId, tunnel.get("token").asText());
    }

    @AfterEach
    void stop() throws Exception {
        h2.shutdownNow();
        testbed.close();
        target.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"reset-length", "reset-chunked", "reset-close", "cut-length", "cut-chunked"})
    void aBodyTheTargetCutsEndsTheVisitorsStreamWithAReset(String kind) throws Exception {
        InputStream body = download("/" + kind + "/" + BEFORE_FAULT);
        assertThat(body.readNBytes((int) BEFORE_FAULT)).hasSize((int) BEFORE_FAULT);

        target.resume();

        assertThat(readToTheEnd(body)).startsWith("reset").contains("RST_STREAM");
    }

    /**
     * The visitor opens no window beyond HTTP/2's initial 64 KiB, so the rest of what the target sent before its reset
     * waits on the way: the reset still ends the stream with RST_STREAM, and the held rest is dropped, not sent once
     * the visitor opens its windows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"reset-length", "reset-chunked", "reset-close"})
    void aStreamWithoutWindowWhoseTargetResetsIsResetAndItsHeldRestDropped(String kind) throws Exception {
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(testbed.server().httpsPort(), HOST, ca.clientContext())) {
            visitor.get(1, "/" + kind + "/" + BEFORE_FAULT);
            await("the target wrote all it sends before its reset").atMost(Duration.ofSeconds(20))
                    .until(() -> target.written() == BEFORE_FAULT);
            visitor.awaitRead("the visitor's window filled, the rest of the body held on the way",
                    Duration.ofSeconds(20), () -> visitor.body(1).length() == INITIAL_WINDOW);

            target.resume();

            visitor.awaitRead("RST_STREAM", Duration.ofSeconds(20), () -> visitor.resetCode(1) != null);
            assertThat(visitor.resetCode(1)).isEqualTo(INTERNAL_ERROR);
            visitor.openWindows();
            visitor.get(3, "/length/1000");
            await("a stream opened after the windows").atMost(Duration.ofSeconds(20))
                    .until(() -> visitor.endOfStream(3));
            assertThat(visitor.body(1)).as("the reset stream's body").hasSize(INITIAL_WINDOW);
            assertThat(visitor.endOfStream(1)).as("END_STREAM on the reset stream").isFalse();
        }
    }

    @Test
    void aBodyDelimitedByTheTargetsCloseEndsTheVisitorsStreamWholeWhenTheTargetClosesNormally() throws Exception {
        InputStream body = download("/close/" + 4 * MiB);

        assertThat(readToTheEnd(body)).isEqualTo("end after " + 4 * MiB);
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "close"})
    void aDownloadWhoseTunnelConnectionDropsEndsTheVisitorsStreamWithAReset(String kind) throws Exception {
        InputStream body = download("/" + kind + "/" + SIZE);
        assertThat(body.readNBytes((int) MiB)).hasSize((int) MiB);

        testbed.server().registry().connections(tunnelId).getFirst().session().parent().close();

        assertThat(readToTheEnd(body)).startsWith("reset").contains("RST_STREAM");
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "close"})
    void aDownloadWhoseClientStopsEndsTheVisitorsStreamWithAReset(String kind) throws Exception {
        InputStream body = download("/" + kind + "/" + SIZE);
        assertThat(body.readNBytes((int) MiB)).hasSize((int) MiB);

        client.stopNow();

        assertThat(readToTheEnd(body)).startsWith("reset").contains("RST_STREAM");
    }

    private InputStream download(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://" + HOST + ":"
                + testbed.server().httpsPort() + path)).timeout(Duration.ofSeconds(60)).build();
        HttpResponse<InputStream> response = h2.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                .get(20, TimeUnit.SECONDS);
        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    /**
     * "end after N" when the stream ended (END_STREAM) after N more bytes, "reset: ..." with the cause when it failed,
     * "neither ..." when it did neither within {@link #BODY_WAIT}: the body's InputStream has no read timeout of its
     * own, so a stream the proxy leaves open would otherwise hold the build.
     */
    private static String readToTheEnd(InputStream body) throws Exception {
        AtomicLong bytes = new AtomicLong();
        CompletableFuture<String> end = CompletableFuture.supplyAsync(() -> readAll(body, bytes),
                task -> Thread.ofVirtual().name("h2-body-reader").start(task));
        try {
            return end.get(BODY_WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            body.close();
            return "neither END_STREAM nor RST_STREAM within " + BODY_WAIT + ", after " + bytes.get() + " bytes";
        }
    }

    private static String readAll(InputStream body, AtomicLong bytes) {
        byte[] buffer = new byte[64 * 1024];
        try {
            for (int n; (n = body.read(buffer)) >= 0; ) {
                bytes.addAndGet(n);
            }
            return "end after " + bytes.get();
        } catch (IOException e) {
            return "reset: " + e + ", cause: " + e.getCause();
        }
    }
}
