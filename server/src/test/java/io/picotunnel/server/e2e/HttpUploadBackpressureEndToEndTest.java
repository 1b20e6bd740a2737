package io.picotunnel.server.e2e;

import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A visitor that uploads a long body and ends its side of the connection, to a target that stops reading: the server
 * reads of it only what it can send on, while the rest waits in the kernel's buffers, also once the visitor's end of
 * input is there to be read. Real server, our client in process, a socket target, a raw visitor socket.
 */
class HttpUploadBackpressureEndToEndTest {

    private static final long MiB = 1024 * 1024;
    private static final String HOST = "upload.test";
    private static final long BODY = 24 * MiB;
    /** What the target reads before it first stops: enough for the server's receive buffer to have grown. */
    private static final long READ_BEFORE_PAUSE = 4 * MiB;
    /**
     * Most bytes the server may have read from the visitor and not yet sent up the tunnel: a read held by the
     * decoder's feed (64 KiB) and the proxy's queue of decoded pieces (8 of at most 8 KiB), with room to spare.
     */
    private static final long MAX_HELD_BY_THE_SERVER = 256 * 1024;

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private UploadTunnel upload;
    private UploadTarget target;

    @BeforeEach
    void start() throws IOException {
        testbed = new Testbed(dataDir.resolve("data"));
        upload = new UploadTunnel(testbed, HOST, READ_BEFORE_PAUSE);
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
    void aVisitorThatUploadsMebibytesThenHalfClosesIsReadOnlyAsFastAsTheTargetReads() throws Exception {
        TrafficCounters forwarded = upload.forwarded();
        int httpPort = testbed.server().httpPort();
        try (Socket visitor = FaultTarget.connect(httpPort, Duration.ofSeconds(60))) {
            byte[] head = ("POST /upload HTTP/1.1\r\nHost: " + HOST + "\r\nContent-Length: " + BODY + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            visitor.getOutputStream().write(head);
            AtomicLong written = new AtomicLong();
            // Shuts the visitor's output down once the whole body is written.
            CompletableFuture<String> sent = Transfers.writeRandomInBackground(visitor, BODY, 17, written);

            await().atMost(30, TimeUnit.SECONDS).until(() -> target.received() >= READ_BEFORE_PAUSE);
            Uploads.awaitWritesStopped(written);
            assertThat(sent).as("the body is longer than the buffers on the way take").isNotDone();
            // The target reads as much as the visitor has left to write, and on until the visitor's end is in the
            // server's kernel buffer, behind as much of the body as that buffer takes.
            target.allow(BODY - written.get());
            for (int step = 0; step < 1024 && !(sent.isDone() && endReachedTheServer(visitor.getLocalPort(), httpPort));
                    step++) {
                await().atMost(30, TimeUnit.SECONDS).until(target::paused);
                target.allow(64 * 1024);
            }
            sent.get(30, TimeUnit.SECONDS);
            await().atMost(30, TimeUnit.SECONDS).until(target::paused);
            assertThat(endReachedTheServer(visitor.getLocalPort(), httpPort)).isTrue();

            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                long read = head.length + written.get() - unreadByTheServer(visitor.getLocalPort(), httpPort);
                assertThat(read - head.length - forwarded.bytesIn())
                        .as("bytes read from the visitor and not sent on (forwarded %d)", forwarded.bytesIn())
                        .isLessThanOrEqualTo(MAX_HELD_BY_THE_SERVER);
            });

            // What the server wrote to the stream is counted as forwarded; what the stream holds for the window is
            // the rest of what the server holds.
            YamuxSession session = upload.session();
            assertThat(session.peakStreamBufferedBytes()).as("bytes one stream held on the server")
                    .isLessThanOrEqualTo(YamuxConfig.INITIAL_STREAM_WINDOW + 64 * 1024);

            target.allow(BODY);
            String sentSha = sent.get();
            InputStream in = new BufferedInputStream(visitor.getInputStream());
            assertThat(FaultTarget.readHead(in)).containsEntry("status", "200");
            assertThat(new String(in.readNBytes(64), StandardCharsets.US_ASCII)).as("the body's SHA-256 at the target")
                    .isEqualTo(sentSha);
            assertThat(target.received()).isEqualTo(BODY);
            assertThat(in.read()).as("the end of the connection after the answer").isEqualTo(-1);
        }
    }

    private static boolean endReachedTheServer(int visitorPort, int serverPort) throws IOException {
        KernelSocket serverSide = KernelSocket.find(serverPort, visitorPort);
        return serverSide == null || serverSide.state() == KernelSocket.CLOSE_WAIT;
    }

    /** Bytes the visitor wrote that the server's process has not read: in the visitor's or the server's kernel. */
    private static long unreadByTheServer(int visitorPort, int serverPort) throws IOException {
        KernelSocket visitorSide = KernelSocket.find(visitorPort, serverPort);
        KernelSocket serverSide = KernelSocket.find(serverPort, visitorPort);
        assertThat(visitorSide).isNotNull();
        assertThat(serverSide).isNotNull();
        return visitorSide.queued() + serverSide.unread();
    }
}
