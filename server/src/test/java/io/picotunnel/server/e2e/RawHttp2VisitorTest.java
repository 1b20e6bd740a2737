package io.picotunnel.server.e2e;

import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.testkit.Http2Frames.frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
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

    @Test
    void aCloseNotifyOfTheServersIsItsEndOfTheConnection() throws Exception {
        endedByThePeer((raw, tls) -> tls.close());
    }

    @Test
    void aFinOfTheServersWithoutCloseNotifyIsItsEndOfTheConnection() throws Exception {
        endedByThePeer((raw, tls) -> raw.shutdownOutput());
    }

    @Test
    void aResetOfTheServersIsItsEndOfTheConnection() throws Exception {
        endedByThePeer((raw, tls) -> {
            raw.setSoLinger(true, 0);
            raw.close();
        });
    }

    @Test
    void theVisitorsOwnCloseIsNotTheServersEnd() throws Exception {
        notEndedByThePeer(NOTHING, RawHttp2Visitor::close, "closed or reset its socket itself");
    }

    @Test
    void theVisitorsOwnResetIsNotTheServersEnd() throws Exception {
        notEndedByThePeer(NOTHING, RawHttp2Visitor::resetConnection,
                "closed or reset its socket itself");
    }

    @Test
    void aReaderThatGaveUpAHoldOfItsReadingWasNotEndedByTheServer() throws Exception {
        CompletableFuture<Void> held = new CompletableFuture<>();
        notEndedByThePeer((raw, tls) -> {
            held.get(30, TimeUnit.SECONDS);
            send(tls, frame(0x6, 0x1, 0, new byte[8])); // read: the hold begins at the frame after
        }, visitor -> {
            visitor.holdReading(Duration.ofMillis(100));
            held.complete(null);
        }, "reading held for more than");
    }

    @Test
    void aReaderThatCrashedOnWhatItReadWasNotEndedByTheServer() throws Exception {
        notEndedByThePeer((raw, tls) -> send(tls, frame(0x0, 0x8, 1, new byte[0])), visitor -> { },
                "ArrayIndexOutOfBoundsException");
    }

    /**
     * Before: an Error in the reader (here a check of the test's on what it read) ended the reading with
     * {@code endCause()} null, so the wait failed saying "null", not what went wrong.
     */
    @Test
    void anErrorInTheReaderIsWhatEndedItsReading() throws Exception {
        CompletableFuture<Void> watched = new CompletableFuture<>();
        notEndedByThePeer((raw, tls) -> {
            watched.get(30, TimeUnit.SECONDS);
            send(tls, frame(0x6, 0, 0, new byte[8])); // a PING, which the reader only reads
        }, visitor -> {
            visitor.watchFrames(type -> {
                throw new AssertionError("a check of the test's on a frame of type " + type);
            });
            watched.complete(null);
        }, "a check of the test's on a frame of type 6");
    }

    /**
     * Before: the close of a visitor whose reader had ended waited for a byte of the peer's, up to the socket's read
     * timeout (a minute), while the peer kept the connection and sent nothing.
     */
    @Test
    void aCloseAfterTheReaderEndedIsQuickWhileThePeerKeepsTheConnection() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> released = new CompletableFuture<>();
            CompletableFuture<Void> peer = peer(listener, (raw, tls) -> send(tls, frame(0x0, 0x8, 1, new byte[0])),
                    new CompletableFuture<>(), released); // a DATA frame too short for its padding: the reader fails
            RawHttp2Visitor visitor = RawHttp2Visitor.connect(listener.getLocalPort(), HOST, ca.clientContext());
            try {
                await("the visitor's reading ended").atMost(Duration.ofSeconds(30)).until(visitor::ended);

                assertTimeoutPreemptively(Duration.ofSeconds(20), visitor::close, "the visitor's close");
            } finally {
                released.complete(null);
                visitor.close();
            }
            peer.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * A wait for what the visitor reads fails at once, with what ended the reading as its cause, once the reader failed
     * (here on a DATA frame too short for its padding); before, it ran to its bound and said nothing of that.
     */
    @Test
    void aWaitForWhatTheVisitorReadsFailsWithWhatEndedTheReading() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> released = new CompletableFuture<>();
            CompletableFuture<Void> peer = peer(listener, (raw, tls) -> send(tls, frame(0x0, 0x8, 1, new byte[0])),
                    new CompletableFuture<>(), released);
            try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(listener.getLocalPort(), HOST, ca.clientContext())) {
                assertThatThrownBy(() -> visitor.awaitRead("the status of stream 1", Duration.ofSeconds(60),
                        () -> visitor.status(1) != null)).isInstanceOf(AssertionError.class)
                        .hasMessageStartingWith("the status of stream 1: the visitor's reading ended before")
                        .hasCauseInstanceOf(ArrayIndexOutOfBoundsException.class);
            } finally {
                released.complete(null);
            }
            peer.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Before: the reader's acknowledgement of the SETTINGS failed on the output the visitor had ended ("Socket output is
     * shutdown", a SocketException), and that was taken for the server's end while the server kept the connection;
     * then for the reader's failure, which a reader slow to read the server's first SETTINGS met under load. Now the
     * reading goes on past it, to what the server sends next and its end.
     */
    @Test
    void aSettingsFrameReadAfterTheVisitorEndedItsOutputIsReadPastUntilTheServersEnd() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> opened = new CompletableFuture<>();
            CompletableFuture<Void> outputEnded = new CompletableFuture<>();
            CompletableFuture<Void> released = new CompletableFuture<>();
            CompletableFuture<Void> peer = peer(listener, (raw, tls) -> {
                outputEnded.get(30, TimeUnit.SECONDS);
                send(tls, frame(0x4, 0, 0, new byte[0]));
                send(tls, frame(0x7, 0, 0, ByteBuffer.allocate(8).putInt(0).putInt(2).array()));
                raw.shutdownOutput();
            }, opened, released);
            try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(listener.getLocalPort(), HOST, ca.clientContext())) {
                opened.get(30, TimeUnit.SECONDS);
                visitor.endTcpOutput();
                outputEnded.complete(null);

                visitor.awaitClosedByServer(Duration.ofSeconds(30));
                assertThat(visitor.goAwayError()).as("the GOAWAY after the SETTINGS, read").isEqualTo(2);
            } finally {
                released.complete(null);
            }
            peer.get(30, TimeUnit.SECONDS);
        }
    }

    private static final PeerStep NOTHING = (raw, tls) -> { };

    /** The peer ends the connection with {@code end} once it read the visitor's opening: the server's end. */
    private void endedByThePeer(PeerStep end) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> released = new CompletableFuture<>();
            CompletableFuture<Void> peer = peer(listener, end, new CompletableFuture<>(), released);
            try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(listener.getLocalPort(), HOST, ca.clientContext())) {
                visitor.awaitClosedByServer(Duration.ofSeconds(30));
            } finally {
                released.complete(null);
            }
            peer.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * The peer runs {@code step} once it read the visitor's opening and keeps the connection; the visitor, connected,
     * runs {@code own} once the peer read its opening: its reading ends, not by the server, and the wait says so with a
     * cause that names {@code why}. The peer lets go of the connection before the visitor closes it: the close of an
     * SSLSocket whose reading ended waits for a byte, which RawHttp2Visitor bounds (a few seconds) but need not wait.
     */
    private void notEndedByThePeer(PeerStep step, VisitorStep own, String why) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> opened = new CompletableFuture<>();
            CompletableFuture<Void> released = new CompletableFuture<>();
            CompletableFuture<Void> peer = peer(listener, step, opened, released);
            try (RawHttp2Visitor visitor = RawHttp2Visitor.connect(listener.getLocalPort(), HOST, ca.clientContext())) {
                opened.get(30, TimeUnit.SECONDS);
                own.run(visitor);
                assertThatThrownBy(() -> visitor.awaitClosedByServer(Duration.ofSeconds(30)))
                        .isInstanceOf(AssertionError.class)
                        .hasMessageContaining("not by the server's end of the connection")
                        .hasStackTraceContaining(why);
                released.complete(null);
                peer.get(30, TimeUnit.SECONDS);
            } finally {
                released.complete(null);
            }
        }
    }

    /**
     * Takes one connection on {@code listener}, TLS (ALPN h2) over it as a server, reads the visitor's opening (then
     * completes {@code opened}), runs {@code step}, then keeps the connection until {@code released}, 30 s at most.
     */
    private CompletableFuture<Void> peer(ServerSocket listener, PeerStep step, CompletableFuture<Void> opened,
            CompletableFuture<Void> released) {
        SSLContext context = TestCertificates.serverContext(ca.issue(HOST));
        return CompletableFuture.runAsync(() -> {
            // closes the TCP socket, not the TLS one over it, whose close could wait for a byte from the visitor
            try (Socket raw = listener.accept()) {
                raw.setSoTimeout(30_000);
                SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, null, true);
                tls.setUseClientMode(false);
                SSLParameters parameters = tls.getSSLParameters();
                parameters.setApplicationProtocols(new String[] {"h2"});
                tls.setSSLParameters(parameters);
                byte[] opening = tls.getInputStream().readNBytes(VISITOR_OPENING);
                assertThat(new String(opening, 0, 3, StandardCharsets.US_ASCII)).isEqualTo("PRI");
                opened.complete(null);
                step.run(raw, tls);
                released.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the peer failed: " + e, e);
            }
        });
    }

    private static void send(SSLSocket tls, byte[] frame) throws IOException {
        tls.getOutputStream().write(frame);
        tls.getOutputStream().flush();
    }

    /** What the peer does once it read the visitor's opening; {@code raw} is the TCP socket under {@code tls}. */
    private interface PeerStep {
        void run(Socket raw, SSLSocket tls) throws Exception;
    }

    /** What the visitor does once connected. */
    private interface VisitorStep {
        void run(RawHttp2Visitor visitor) throws Exception;
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
