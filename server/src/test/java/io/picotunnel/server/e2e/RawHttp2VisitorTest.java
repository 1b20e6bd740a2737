package io.picotunnel.server.e2e;

import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.testkit.Http2Frames.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@link RawHttp2Visitor} against a TLS peer of the test's own that writes HTTP/2 frames by hand. */
class RawHttp2VisitorTest {

    private static final String HOST = "raw.test";
    /** The client's preface and its empty SETTINGS, which the visitor sends first. */
    private static final int VISITOR_OPENING = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".length() + 9;

    private final TestCertificates ca = new TestCertificates();

    /**
     * Before: the reader thread died of the IndexOutOfBoundsException of its read of the error code, which it did not
     * catch: the test failed with that exception, naming no frame, and {@code endCause()} stayed null.
     */
    @Test
    void aGoAwayTooShortForItsErrorCodeEndsTheVisitorSayingSo() throws Exception {
        try (SSLServerSocket peer = h2Listener()) {
            CompletableFuture<Void> answered = CompletableFuture.runAsync(() -> answer(peer, frame(0x7, 0, 0,
                    new byte[4])));
            try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(peer.getLocalPort(), HOST, ca.clientContext())) {
                await("the visitor's reading ended").atMost(Duration.ofSeconds(30)).until(visitor::ended);

                assertThat(visitor.endCause()).as("what ended the visitor's reading")
                        .hasMessageContaining("a GOAWAY of 4 bytes, 8 at least");
            }
            answered.get(30, TimeUnit.SECONDS);
        }
    }

    private SSLServerSocket h2Listener() throws IOException {
        SSLServerSocket listener = (SSLServerSocket) TestCertificates.serverContext(ca.issue(HOST))
                .getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress());
        SSLParameters parameters = listener.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {"h2"});
        listener.setSSLParameters(parameters);
        return listener;
    }

    /**
     * Takes the visitor's connection, reads its opening, writes {@code frame} and reads on until the visitor closes: a
     * close with its bytes unread would reset the connection, and the reset could drop the frame.
     */
    private static void answer(SSLServerSocket listener, byte[] frame) {
        try (Socket accepted = listener.accept()) {
            SSLSocket tls = (SSLSocket) accepted;
            tls.setSoTimeout(30_000);
            InputStream in = tls.getInputStream();
            byte[] opening = in.readNBytes(VISITOR_OPENING);
            assertThat(new String(opening, 0, 3, StandardCharsets.US_ASCII)).isEqualTo("PRI");
            tls.getOutputStream().write(frame);
            tls.getOutputStream().flush();
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
