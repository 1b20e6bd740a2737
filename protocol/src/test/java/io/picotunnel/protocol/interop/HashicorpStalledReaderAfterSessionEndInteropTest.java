package io.picotunnel.protocol.interop;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code StalledReaderAfterSessionEndTest} with the real hashicorp/yamux peer on the other side: hashicorp sends a
 * stream's data and FIN, we send our FIN, so the stream has ended both ways on the wire while its reader has taken
 * none of the bytes it holds; then the peer is killed (SIGKILL, its connection ending with a FIN, or with an RST
 * under {@code -linger0}). The stream outlives its session: a reader that keeps taking its bytes gets every one of
 * them (what hashicorp sent, by SHA-256) and a clean EOF, however long it takes in all; a reader that takes none of
 * them for the stalled reader timeout loses them (reset, never EOF) and the bytes held come back to 0.
 */
class HashicorpStalledReaderAfterSessionEndInteropTest {

    private static final Duration STALLED_READER_TIMEOUT = Duration.ofMillis(1500);
    /** Less than the stalled reader timeout: each read takes one 32 KiB buffer (one of hashicorp's Data frames). */
    private static final Duration SLOW_READ_INTERVAL = Duration.ofMillis(600);
    private static final Duration WAIT = Duration.ofSeconds(30);

    enum Death {
        /** SIGKILL: the kernel closes the socket with a FIN. */
        KILLED,
        /** SIGKILL with SO_LINGER 0 on the peer's socket: the kernel closes it with an RST. */
        KILLED_WITH_RST
    }

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;
    private Channel channel;
    private GoPeer peer;
    private YamuxSession session;

    static Stream<Arguments> rolesAndDeaths() {
        return Stream.of(YamuxRole.values()).flatMap(ours -> Stream.of(Death.values()).map(d -> Arguments.of(ours, d)));
    }

    @ParameterizedTest(name = "ours {0}, peer {1}")
    @MethodSource("rolesAndDeaths")
    void aStreamLeftByTheKilledPeerWhoseReaderTakesNoneOfItsBytesIsResetAfterTheStreamOpenTimeout(
            YamuxRole ours, Death death) throws Exception {
        int size = 100_000;
        RecordingStream reader = streamEndedBothWaysHoldingAll(ours, death, size);

        killPeer();

        assertThat(onLoop(reader.stream::isOpen)).as("its data is complete and stays its reader's for now").isTrue();
        assertThat(onLoop(session::inboundHeld)).isEqualTo(size);
        await("the leftover stream is reset").atMost(WAIT).until(() -> reader.inactive);
        assertThat(reader.resetWhenInactive).as("reset").isTrue();
        assertThat(reader.eof).as("saw EOF").isFalse();
        assertThat(reader.bytesRead).isZero();
        assertThat(Duration.ofNanos(reader.inactiveNanos - connection.sessionEndedNanos()))
                .as("kept from the session's end until the reset")
                .isGreaterThanOrEqualTo(STALLED_READER_TIMEOUT.minusMillis(100));
        assertThat(onLoop(session::inboundHeld)).as("bytes held for readers").isZero();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aStreamLeftByTheKilledPeerWhoseReaderKeepsTakingItsBytesGetsThemAllAndEof(YamuxRole ours) throws Exception {
        int size = 4 * 32 * 1024;
        RecordingStream reader = streamEndedBothWaysHoldingAll(ours, Death.KILLED_WITH_RST, size);
        String sent = peer.awaitResult("whole").shaSent();

        killPeer();

        // One buffer at a time, each read sooner than the stalled reader timeout, all of them longer than it.
        ScheduledFuture<?> reads = channel.eventLoop().scheduleAtFixedRate(() -> reader.stream.read(),
                SLOW_READ_INTERVAL.toMillis(), SLOW_READ_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        try {
            await("the reader is done").atMost(WAIT).until(() -> reader.inactive);
        } finally {
            reads.cancel(false);
        }
        assertThat(Duration.ofNanos(reader.inactiveNanos - connection.sessionEndedNanos())).as("the reader took its time")
                .isGreaterThan(STALLED_READER_TIMEOUT);
        assertThat(reader.resetWhenInactive).as("reset after %s bytes", reader.bytesRead).isFalse();
        assertThat(reader.eof).isTrue();
        assertThat(reader.bytesRead).isEqualTo(size);
        assertThat(reader.sha256()).as("what hashicorp sent").isEqualTo(sent);
        assertThat(onLoop(session::inboundHeld)).as("bytes held for readers").isZero();
    }

    /**
     * hashicorp opens a stream and sends {@code size} bytes (at most a window) and its FIN into our reader, which
     * reads none of them; we send our FIN: the stream has ended both ways on the wire, holding everything.
     */
    private RecordingStream streamEndedBothWaysHoldingAll(YamuxRole ours, Death death, int size) throws Exception {
        connect(ours, death);
        peer.send("OPEN whole " + size + " - send");
        await().atMost(WAIT).until(() -> readers.size() == 1 && onLoop(session::inboundHeld) == size);
        RecordingStream reader = readers.get(0);
        ChannelFuture ended = reader.stream.shutdownOutput();
        assertThat(ended.await(WAIT.toMillis())).as("our FIN written").isTrue();
        assertThat(ended.isSuccess()).isTrue();
        await().atMost(WAIT).until(() -> onLoop(session::activeStreams) == 0);
        assertThat(onLoop(reader.stream::isOpen)).isTrue();
        return reader;
    }

    private void killPeer() throws Exception {
        peer.kill();
        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
    }

    private void connect(YamuxRole ours, Death death) {
        YamuxConfig config = YamuxConfig.defaults().withStalledReaderTimeout(STALLED_READER_TIMEOUT);
        connection = connections.open(ours, "stalled-after-end", config,
                RecordingStream.eachInto(readers, () -> new RecordingStream(false)),
                death == Death.KILLED_WITH_RST ? new String[] {"-linger0"} : new String[0]);
        channel = connection.channel();
        session = connection.session();
        peer = connection.peer();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return connection.onLoop(task);
    }
}
