package io.picotunnel.server.e2e;

import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.KernelSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * A visitor that floods PINGs and reads none of their ACKs: once the sockets' buffers are full the ACKs queue in the
 * server, and past Netty's limit of queued control frames (maxQueuedControlFrames, 10000 by default, on in our codec)
 * the server ends the connection with GOAWAY(ENHANCE_YOUR_CALM) and drops the ACKs still to come instead of queueing
 * them. Real server and client, a visitor writing HTTP/2 frames by hand over TLS.
 *
 * <p>Past the limit the server closes at once, and TLS gives up what it still queues 3 s later
 * ({@code HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT}): the GOAWAY, queued behind the ACKs, reaches a visitor only if it
 * reads by then. So the visitor sends a batch of PINGs at a time and waits until the server has read them, counts the
 * ACKs the server must be holding from what the kernel shows of both sockets (whatever their sizes), stops as soon as
 * that is past the limit, and reads at once. It writes nothing more then: a socket closed with input unread sends a
 * reset, and the reset would drop what its send buffer holds.
 */
class Http2ControlFrameFloodEndToEndTest {

    private static final String HOST = "flood.test";
    private static final long ENHANCE_YOUR_CALM = 0xb;
    /** Netty's default maxQueuedControlFrames, on in our codec. */
    private static final long LIMIT = 10_000;
    /** A PING and its ACK: a 9-byte header and 8 bytes; in TLS records, a little more. */
    private static final int PING_BYTES = 17;
    /** The most the server reads of the connection at once: Netty's default, which its HTTPS listener keeps. */
    private static final int SERVER_READ = 64 * 1024;
    /** The longest TLS record: 16 KiB of data, at most 2 KiB more once protected (TLS 1.2), and a 5-byte header. */
    private static final int TLS_RECORD = 16 * 1024 + 2048 + 5;
    /**
     * How far past the limit the count of ACKs the server holds must be before the visitor reads: past the PINGs the
     * server may have taken from its socket and not answered yet, those of the read its loop is handling and of the
     * unfinished TLS record it kept from the read before (one more for a PING split across reads).
     */
    private static final long PAST_THE_LIMIT = (SERVER_READ + TLS_RECORD) / PING_BYTES + 1;
    private static final int BATCH = 1_000;
    /** What the visitor's TLS and its buffer may hold read from its socket and not handed on: two records and more. */
    private static final int READ_AHEAD = 40 * 1024;
    /**
     * How long the visitor may flood, all its batches together, their writes and the waits for the server to read them
     * each bounded by what is left of it: the server reads a batch in well under a second, and the flood took 38 s on
     * a host at load 20 to 25, so this leaves room for a slower one.
     */
    private static final Duration FLOODING = Duration.ofSeconds(120);
    /**
     * How long the visitor's reading stays held at most: past the flood, with room for its last checks of the sockets,
     * so that a slow flood fails saying so and the reader never gives up (ending the visitor) while the test floods.
     */
    private static final Duration READING_HELD = FLOODING.plusSeconds(30);

    @TempDir
    Path dataDir;

    private HttpsHostTunnel tunnel;
    /** Read by Awaitility's thread too. */
    private volatile RawHttp2Visitor visitor;

    @BeforeEach
    void start() throws IOException {
        ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        // A connection that opens no stream gets GOAWAY(NO_ERROR) at the header timeout: not before the flood's.
        tunnel = new HttpsHostTunnel(dataDir, Map.of(Setting.HEADER_TIMEOUT, "10m"), HOST, UnaryOperator.identity(),
                target::close, target.getLocalPort());
    }

    /** The visitor's socket reset first: its reader, told to read again, fails at once. */
    @AfterEach
    void stop() throws IOException {
        if (visitor != null) {
            visitor.resumeReading();
            visitor.resetConnection();
        }
        if (tunnel != null) {
            tunnel.close();
        }
    }

    @Test
    void aPingFloodWhoseAcksAreNotReadGetsGoAwayEnhanceYourCalm() throws IOException {
        visitor = tunnel.visitor();
        visitor.ping();
        visitor.holdReading(READING_HELD);
        long sent = floodPastTheLimit();
        visitor.resumeReading();

        visitor.awaitClosedByServer(Duration.ofSeconds(30));
        assertThat(visitor.goAwayError())
                .as("the GOAWAY's error code (-1: none came; the visitor's reading ended by %s)", visitor.endCause())
                .isEqualTo(ENHANCE_YOUR_CALM);
        assertThat(visitor.pingAcks()).as("PING ACKs of %d PINGs", sent).isLessThan(sent);
    }

    /**
     * Sends PINGs, reading none of their ACKs, until the server holds more than the limit of them; the PINGs sent. The
     * count follows what the sockets' buffers really hold, so it passes the limit whatever their sizes; a server that
     * no longer reads is caught by the bound of the write or of the wait for its read, what is left of
     * {@link #FLOODING}.
     */
    private long floodPastTheLimit() throws IOException {
        long sent = 0;
        long until = System.nanoTime() + FLOODING.toNanos();
        for (long held = acksHeldByTheServer(sent); held <= LIMIT + PAST_THE_LIMIT; held = acksHeldByTheServer(sent)) {
            int batch = (int) Math.max(BATCH, LIMIT + PAST_THE_LIMIT + 1 - held);
            visitor.pings(batch, floodingLeft(until, sent, held));
            sent += batch;
            await("the server read the PINGs (%d sent, at least %d of their ACKs held by the server before the last %d)"
                    .formatted(sent, held, batch)).atMost(floodingLeft(until, sent, held))
                    .pollInterval(Duration.ofMillis(5)).until(() -> unreadByTheServer() == 0);
        }
        return sent;
    }

    /** What is left of {@link #FLOODING} until {@code until}; fails, saying how far the flood got, when nothing is. */
    private static Duration floodingLeft(long until, long sent, long held) {
        Duration left = Duration.ofNanos(until - System.nanoTime());
        if (left.compareTo(Duration.ofMillis(10)) < 0) {
            fail("the flood took more than %s: %d PINGs sent, at least %d of their ACKs held by the server where more"
                    + " than %d are needed", FLOODING, sent, held, LIMIT + PAST_THE_LIMIT);
        }
        return left;
    }

    /**
     * At least how many ACKs the server holds unsent once it has read all {@code sent} PINGs: those the visitor did not
     * read, less as many as the sockets' buffers and the visitor's read-ahead could hold. The server's socket is looked
     * at first, so that what moves on to the visitor's in between counts twice, never not at all.
     */
    private long acksHeldByTheServer(long sent) throws IOException {
        KernelSocket server = KernelSocket.find(tunnel.server().httpsPort(), visitor.localPort());
        KernelSocket visitorSide = KernelSocket.find(visitor.localPort(), tunnel.server().httpsPort());
        assertThat(server).as("the server's socket").isNotNull();
        assertThat(visitorSide).as("the visitor's socket").isNotNull();
        long buffered = server.queued() + visitorSide.unread() + READ_AHEAD;
        return sent - visitor.pingAcks() - buffered / PING_BYTES;
    }

    /**
     * The PINGs' bytes the server has not read: in the visitor's socket unacknowledged, or in its own. The visitor's
     * socket is looked at first, upstream of the server's: what moves on to the server's in between counts twice, never
     * not at all.
     */
    private long unreadByTheServer() throws IOException {
        KernelSocket visitorSide = KernelSocket.find(visitor.localPort(), tunnel.server().httpsPort());
        KernelSocket server = KernelSocket.find(tunnel.server().httpsPort(), visitor.localPort());
        return (visitorSide == null ? 0 : visitorSide.queued()) + (server == null ? 0 : server.unread());
    }
}
