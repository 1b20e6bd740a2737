package io.picotunnel.protocol.interop;

import io.netty.channel.Channel;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Go peer's RESET command, which the interop tests use to reset a stream hashicorp/yamux writes on (it has no
 * reset of its own): it finds a stream whose OPEN came just before it, and while hashicorp's write is stuck on a
 * full socket the RST waits for the end of that frame without stopping the peer's other commands.
 */
class HashicorpPeerResetCommandInteropTest {

    /** Streams opened and reset at once: the peer's OPEN must not lose the race to its RESET on any of them. */
    private static final int STREAMS = 4;
    /**
     * Streams reset together, all sending. Below hashicorp's default AcceptBacklog (256), which bounds its own opens
     * we have not acknowledged yet: we acknowledge each as we accept it, so the backlog is not what this exercises.
     */
    private static final int MANY_STREAMS = 200;
    /** More than the test lets hashicorp send. */
    private static final long ENDLESS = 1024L * 1024 * 1024;
    /** Our fixed window: far more than loopback's socket buffers, so hashicorp's writes fill them. */
    private static final int WINDOW = 64 * 1024 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** The peer answers a command at once unless it is stuck; its RESET waits at most 10 s for each step. */
    private static final Duration PROMPT = Duration.ofSeconds(5);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;
    private GoPeer peer;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aResetRightAfterItsOpenResetsThatStream(YamuxRole ours) {
        connect(ours, YamuxConfig.defaults());

        for (int i = 1; i <= STREAMS; i++) {
            peer.send("OPEN s" + i + " " + ENDLESS + " - send");
            peer.send("RESET s" + i);
        }

        for (int i = 1; i <= STREAMS; i++) {
            peer.awaitLine("RESET_SENT s" + i, Duration.ofSeconds(20));
        }
        await("our streams reset").atMost(WAIT)
                .until(() -> readers.size() == STREAMS && readers.stream().allMatch(r -> r.inactive));
        assertThat(readers).allMatch(r -> r.resetWhenInactive);
    }

    /**
     * Many streams sending at once, all reset together: each ends reset, none stays counted, and the session takes
     * pings and a new stream whole afterwards.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void manyStreamsResetTogetherEndEachAndLeaveTheSessionWhole(YamuxRole ours) throws Exception {
        connect(ours, YamuxConfig.defaults());

        for (int i = 1; i <= MANY_STREAMS; i++) {
            peer.send("OPEN m" + i + "_ " + ENDLESS + " - send");
        }
        for (int i = 1; i <= MANY_STREAMS; i++) {
            peer.send("RESET m" + i + "_");
        }

        for (int i = 1; i <= MANY_STREAMS; i++) {
            // The "_" keeps "m1_" from taking the line of "m10_".
            peer.awaitLine("RESET_SENT m" + i + "_", Duration.ofSeconds(20));
        }
        await("our streams reset").atMost(WAIT)
                .until(() -> readers.size() == MANY_STREAMS && readers.stream().allMatch(r -> r.inactive));
        assertThat(readers).allMatch(r -> r.resetWhenInactive);
        await("no stream left").atMost(PROMPT).until(() -> connection.session().activeStreams() == 0);
        assertThat(connection.session().ping().get(PROMPT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        readers.clear();
        peer.send("OPEN after 100000 - send");
        await("a stream after them").atMost(WAIT).until(() -> readers.size() == 1 && readers.getFirst().eof);
        assertThat(readers.getFirst().bytesRead).isEqualTo(100_000);
        assertThat(connection.channel().isActive()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aResetWhileHashicorpIsStuckOnAFullSocketLetsTheOtherCommandsGoOnAndIsWrittenWhenTheFrameEnds(YamuxRole ours) {
        connect(ours, YamuxConfig.fixedWindow(WINDOW));
        Channel channel = connection.channel();
        peer.send("OPEN s " + ENDLESS + " - send");
        await("the stream open").atMost(WAIT).until(() -> readers.size() == 1);
        channel.config().setAutoRead(false);
        long[] previous = {-1};
        await("hashicorp's writes stuck: our socket's receive queue full and no longer growing").atMost(WAIT)
                .pollInterval(Duration.ofMillis(500)).until(() -> {
                    long now = receiveQueue(channel);
                    boolean stuck = now > 0 && now == previous[0];
                    previous[0] = now;
                    return stuck;
                });

        peer.send("RESET s");
        peer.send("STREAMS");

        assertThat(peer.awaitLine("STREAMS ", PROMPT)).isEqualTo("STREAMS 1");
        channel.config().setAutoRead(true);
        peer.awaitLine("RESET_SENT s", Duration.ofSeconds(20));
        await("our stream reset").atMost(WAIT).until(() -> readers.getFirst().inactive);
        assertThat(readers.getFirst().resetWhenInactive).isTrue();
        assertThat(channel.isActive()).as("the session goes on").isTrue();
    }

    /**
     * The bytes the kernel holds received on our end of the connection, from /proc/net/tcp or, for a dual-stack
     * socket (127.0.0.1 as ::ffff:127.0.0.1), /proc/net/tcp6.
     */
    private static long receiveQueue(Channel channel) {
        String local = hexPort((InetSocketAddress) channel.localAddress());
        String remote = hexPort((InetSocketAddress) channel.remoteAddress());
        try {
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] fields = line.strip().split("\\s+");
                    if (fields.length > 4 && fields[1].endsWith(local) && fields[2].endsWith(remote)) {
                        return Long.parseLong(fields[4].substring(fields[4].indexOf(':') + 1), 16);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no line for " + channel + " in /proc/net/tcp or /proc/net/tcp6");
    }

    private static String hexPort(InetSocketAddress address) {
        return String.format(":%04X", address.getPort());
    }

    private void connect(YamuxRole ours, YamuxConfig config) {
        connection = connections.open(ours, "reset-command", config,
                RecordingStream.eachInto(readers, () -> new RecordingStream(true)));
        peer = connection.peer();
    }
}
