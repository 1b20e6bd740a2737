package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.HttpHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target that answers in chunks of one byte each, written one by one: the answer reaches an HTTP/1.1 and an HTTP/2
 * visitor through the tunnel whole and in order.
 */
class TinyChunksEndToEndTest {

    private static final String HOST = "tiny.test";
    private static final int CHUNKS = 100_000;
    private static final Duration ANSWER_WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private final HttpClient h2 = ca.httpClient(HttpClient.Version.HTTP_2);
    private final HttpClient h1 = ca.httpClient(HttpClient.Version.HTTP_1_1);
    private Testbed testbed;
    private ServerSocket target;

    @BeforeEach
    void start() throws IOException {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
        target = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("tiny-chunks").start(this::answerInTinyChunks);
        JsonNode tunnel = testbed.createTunnel("tiny");
        String id = tunnel.get("id").asText();
        testbed.createHttpService(id, HOST, "127.0.0.1:" + target.getLocalPort());
        testbed.connect(id, tunnel.get("token").asText());
    }

    @AfterEach
    void stop() throws IOException {
        h2.shutdownNow();
        h1.shutdownNow();
        testbed.close();
        target.close();
    }

    @Test
    void anAnswerInOneByteChunksReachesAnHttp2VisitorWhole() throws Exception {
        assertWhole(h2, HttpClient.Version.HTTP_2);
    }

    @Test
    void anAnswerInOneByteChunksReachesAnHttp11VisitorWhole() throws Exception {
        assertWhole(h1, HttpClient.Version.HTTP_1_1);
    }

    /**
     * The whole answer within {@link #ANSWER_WAIT}, or a failure: the request's timeout covers only the wait for the
     * head, so a body the proxy leaves open would otherwise hold the build.
     */
    private void assertWhole(HttpClient client, HttpClient.Version version) throws Exception {
        CompletableFuture<HttpResponse<byte[]>> answer = client.sendAsync(HttpRequest.newBuilder(URI.create(
                "https://" + HOST + ":" + testbed.server().httpsPort() + "/")).timeout(ANSWER_WAIT).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> response;
        try {
            response = answer.get(ANSWER_WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true);
            throw new AssertionError("no whole answer within " + ANSWER_WAIT, e);
        }
        assertThat(response.version()).isEqualTo(version);
        assertWhole(response.body());
    }

    private static void assertWhole(byte[] body) {
        assertThat(body).hasSize(CHUNKS);
        for (int i = 0; i < CHUNKS; i++) {
            if (body[i] != (byte) ('a' + i % 26)) {
                throw new AssertionError("byte " + i + " is " + body[i]);
            }
        }
    }

    private void answerInTinyChunks() {
        while (!target.isClosed()) {
            try (Socket socket = target.accept()) {
                InputStream in = socket.getInputStream();
                HttpHead.read(in);
                OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64);
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < CHUNKS; i++) {
                    out.write(("1\r\n" + (char) ('a' + i % 26) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                return;
            }
        }
    }
}
