package io.picotunnel.protocol.interop;

import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux opens more streams than our session takes (its stream limit): those beyond are reset, each on its
 * own, hashicorp's writes on them fail with "connection reset", and once the streams held end a new one is served.
 */
class HashicorpStreamsBeyondOurLimitInteropTest {

    private static final int LIMIT = 2;
    private static final long ENDLESS = 1024L * 1024 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    /** Whether the readers of the streams opened from now on read (the held ones do not). */
    private final AtomicBoolean reading = new AtomicBoolean();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpsStreamsBeyondOurLimitAreResetAndTheSessionGoesOn(YamuxRole ours) throws Exception {
        connection = connections.open(ours, "limit", YamuxConfig.defaults().withMaxStreams(LIMIT),
                RecordingStream.eachInto(readers, () -> new RecordingStream(reading.get())), "-report-resets");
        GoPeer peer = connection.peer();
        for (int i = 1; i <= LIMIT; i++) {
            peer.send("OPEN held" + i + " " + ENDLESS + " - send");
        }
        await("the held streams open").atMost(WAIT).until(() -> readers.size() == LIMIT);

        for (int i = 1; i <= 2; i++) {
            peer.send("OPEN over" + i + " " + (1024 * 1024) + " - send");
            assertThat(peer.awaitResult("over" + i).end()).isEqualTo("reset");
            assertThat(peer.awaitLine("RESET ").split(" ")[2]).as("the reason in the RST's length")
                    .isEqualTo(String.valueOf(ResetReason.REFUSED_STREAM_LIMIT.code()));
        }
        for (RecordingStream held : readers) {
            connection.onLoop(() -> held.stream.reset());
        }
        for (int i = 1; i <= LIMIT; i++) {
            assertThat(peer.awaitResult("held" + i).end()).isEqualTo("reset");
        }
        await("the held streams gone").atMost(WAIT).until(() -> readers.stream().allMatch(r -> r.inactive));

        readers.clear();
        reading.set(true);
        peer.send("OPEN after " + (1024 * 1024) + " - send");
        GoPeer.StreamResult after = peer.awaitResult("after");
        assertThat(after.end()).isEqualTo("eof");
        await("the new stream read").atMost(WAIT).until(() -> readers.size() == 1 && readers.getFirst().eof);
        assertThat(readers.getFirst().bytesRead).isEqualTo(1024 * 1024);
        assertThat(connection.onLoop(readers.getFirst()::sha256)).isEqualTo(after.shaSent());
        assertThat(connection.channel().isActive()).isTrue();
    }
}
