package io.picotunnel.server.e2e;

import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.KernelSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP/2 visitor that uploads a long body to a target that stops reading, then ends its side of the TCP connection
 * (a FIN, no close_notify). Unlike HTTP/1.1 ({@link HttpUploadBackpressureEndToEndTest}), the server reads an HTTP/2
 * connection on whatever its streams' backpressure (it must, to see WINDOW_UPDATE, RST_STREAM, PING): what bounds what
 * it holds is the stream's flow-control window, which it opens again only as the target takes the body. At the FIN it
 * closes the connection, and the stream's exchange ends with it. Real server, our client in process, a socket target,
 * a visitor writing HTTP/2 frames by hand over TLS.
 */
class Http2UploadBackpressureEndToEndTest {

    private static final long MiB = 1024 * 1024;
    private static final String HOST = "upload.test";
    private static final long BODY = 16 * MiB;
    private static final long READ_BEFORE_PAUSE = 2 * MiB;
    /**
     * Most body bytes the server may have taken from the visitor and not sent up the tunnel: the stream's window (64
     * KiB, which it gives back only as the body goes on) and the proxy's queue of pieces, with room to spare.
     */
    private static final long MAX_HELD_BY_THE_SERVER = 256 * 1024;

    @TempDir
    Path dataDir;

    private final TestCertificates ca = new TestCertificates();
    private Testbed testbed;
    private UploadTunnel upload;
    private UploadTarget target;

    @BeforeEach
    void start() throws IOException {
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        testbed = new Testbed(dataDir);
    }

    /** The service's target: it reads {@code allowed} bytes of the body, then waits to be allowed more. */
    private void target(long allowed) throws IOException {
        upload = new UploadTunnel(testbed, HOST, allowed);
        target = upload.target;
    }

    @AfterEach
    void stop() throws IOException {
        testbed.close();
        if (upload != null) {
            upload.close();
        }
    }

    @Test
    void anHttp2UploadIsTakenOnlyAsFastAsTheTargetReadsAndAFinEndsTheConnectionAndTheExchange() throws Exception {
        target(READ_BEFORE_PAUSE);
        TrafficCounters forwarded = upload.forwarded();
        int httpsPort = testbed.server().httpsPort();
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(httpsPort, HOST, ca.clientContext())) {
            visitor.post(1, "/upload", BODY);
            AtomicLong sent = new AtomicLong();
            CompletableFuture<Void> body = CompletableFuture.runAsync(() -> visitor.sendBody(1, BODY, sent));

            await().atMost(30, TimeUnit.SECONDS).until(() -> target.received() >= READ_BEFORE_PAUSE);
            await().atMost(30, TimeUnit.SECONDS).until(target::paused);
            Uploads.awaitWritesStopped(sent);
            assertThat(body).as("the body is longer than the buffers on the way take").isNotDone();
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(sent.get() - forwarded.bytesIn())
                            .as("body bytes the visitor could send and the server did not send on (forwarded %d)",
                                    forwarded.bytesIn())
                            .isLessThanOrEqualTo(MAX_HELD_BY_THE_SERVER));
            KernelSocket serverSide = KernelSocket.find(httpsPort, visitor.localPort());
            assertThat(serverSide).isNotNull();
            assertThat(serverSide.unread()).as("bytes waiting in the server's kernel: it reads HTTP/2 on").isZero();

            visitor.endTcpOutput();
            visitor.awaitClosedByServer(Duration.ofSeconds(10));
            assertThat(visitor.endOfStream(1)).as("the stream's answer, none: the connection was closed").isFalse();
            target.allow(BODY);
            await().atMost(10, TimeUnit.SECONDS).until(target::over);
            assertThat(target.received()).as("the upload was cut").isLessThan(BODY);
            YamuxSession session = upload.session();
            await().atMost(10, TimeUnit.SECONDS).until(() -> session.activeStreams() == 0);
            assertThat(body).failsWithin(Duration.ofSeconds(10));
        }
    }

    /**
     * HTTP/2 has no half-closed connection: a stream ends its request with END_STREAM, and a visitor whose TCP input
     * ended could no longer send the WINDOW_UPDATEs, SETTINGS acknowledgements and PINGs the answer may need. The server
     * closes the connection at the FIN, as nginx and Go's server do, but first sends GOAWAY naming the last stream it
     * took (RFC 9113 6.8: so that the visitor knows the later ones were never processed), and the exchange is ended
     * with the connection: the target, which holds the whole request, has read none of its body and has not answered,
     * sees its connection end.
     */
    @Test
    void anHttp2VisitorThatEndsItsTcpOutputAfterItsRequestGetsTheConnectionClosedAndItsExchangeEnded()
            throws Exception {
        target(0);
        try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(testbed.server().httpsPort(), HOST, ca.clientContext())) {
            visitor.post(1, "/upload", 10);
            visitor.sendBody(1, 10, new AtomicLong());
            await().atMost(10, TimeUnit.SECONDS).until(target::paused);

            visitor.endTcpOutput();
            visitor.awaitClosedByServer(Duration.ofSeconds(10));
            assertThat(visitor.endOfStream(1)).as("an answer on the closed connection").isFalse();
            assertThat(visitor.goAwayError()).as("the GOAWAY before the close, NO_ERROR").isZero();
            await().atMost(10, TimeUnit.SECONDS).until(target::endedByTheProxy);
            assertThat(target.received()).as("body bytes the target read").isZero();
            assertThat(target.over()).as("the target answered").isFalse();
            target.allow(10);
            await().atMost(10, TimeUnit.SECONDS).until(target::over);
            YamuxSession session = upload.session();
            await().atMost(10, TimeUnit.SECONDS).until(() -> session.activeStreams() == 0);
        }
    }
}
