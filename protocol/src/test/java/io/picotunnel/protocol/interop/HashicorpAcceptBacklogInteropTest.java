package io.picotunnel.protocol.interop;

import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux keeps the streams its application has not accepted yet in a backlog of AcceptBacklog (256 by
 * default) and resets each stream beyond it (session.go incomingStream, "backlog exceeded"). The Go peer here
 * accepts nothing until told to: of our streams, those past the backlog must end reset, each on its own, while the
 * rest wait and are then served, and the session goes on.
 */
class HashicorpAcceptBacklogInteropTest {

    private static final int BACKLOG = 256;
    private static final int BEYOND = 4;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsBeyondHashicorpsAcceptBacklogAreResetAndTheOthersAreServedOnceAccepted(YamuxRole ours)
            throws Exception {
        connection = connections.open(ours, "backlog", new EchoStreamHandler(), "-no-accept");
        YamuxSession session = connection.session();
        GoPeer peer = connection.peer();
        List<StreamExchange> exchanges = new ArrayList<>();
        for (int i = 0; i < BACKLOG + BEYOND; i++) {
            StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 1024);
            exchanges.add(exchange);
            session.openStream(exchange).get(10, TimeUnit.SECONDS);
        }

        await("the streams beyond the backlog reset").atMost(WAIT).until(() -> exchanges.stream()
                .filter(e -> e.received().isDone()).count() == BEYOND);
        List<StreamExchange> beyond = exchanges.subList(BACKLOG, BACKLOG + BEYOND);
        assertThat(beyond).as("the last ones opened").allMatch(e -> e.received().getNow(null) != null
                && e.received().getNow(null).reset());
        peer.send("ACCEPT");
        peer.awaitLine("ACCEPTING");

        for (StreamExchange exchange : exchanges.subList(0, BACKLOG)) {
            StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(received.reset()).isFalse();
            assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        }
        StreamExchange after = new StreamExchange(new byte[] {'e'}, 64 * 1024);
        session.openStream(after).get(10, TimeUnit.SECONDS);
        assertThat(after.received().get(WAIT.toSeconds(), TimeUnit.SECONDS).sha256())
                .isEqualTo(after.sent().getNow(null));
        peer.send("PING");
        assertThat(peer.awaitLine("PONG")).matches("PONG \\d+");
        assertThat(session.isGoingAway()).isFalse();
        assertThat(connection.channel().isActive()).isTrue();
    }
    /**
     * As above with a backlog of 4 and 8 streams that each send 1 MiB at once, more than the window hashicorp gives
     * a stream before it is accepted: the 4 beyond end reset with their queued bytes dropped, the 4 in the backlog
     * wait at their window and are echoed byte-exact once accepted, and no stream is left counted open.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsBeyondASmallBacklogAreResetWhileSendingMoreThanAWindow(YamuxRole ours) throws Exception {
        int backlog = 4;
        connection = connections.open(ours, "backlog", new EchoStreamHandler(), "-no-accept",
                "-accept-backlog", String.valueOf(backlog));
        YamuxSession session = connection.session();
        List<StreamExchange> exchanges = new ArrayList<>();
        for (int i = 0; i < 2 * backlog; i++) {
            StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 1024 * 1024);
            exchanges.add(exchange);
            session.openStream(exchange).get(10, TimeUnit.SECONDS);
        }

        await("the streams beyond the backlog reset").atMost(WAIT).until(() -> exchanges.stream()
                .filter(e -> e.received().isDone()).count() == backlog);
        assertThat(exchanges.subList(backlog, 2 * backlog)).allMatch(e -> e.received().getNow(null) != null
                && e.received().getNow(null).reset());
        connection.peer().send("ACCEPT");

        for (StreamExchange exchange : exchanges.subList(0, backlog)) {
            StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(received.reset()).isFalse();
            assertThat(received.bytes()).isEqualTo(1024 * 1024);
            assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        }
        assertThat(connection.onLoop(session::inboundHeld)).as("bytes held for readers").isZero();
        await("every stream gone, the reset ones too").atMost(WAIT)
                .until(() -> connection.onLoop(session::activeStreams) == 0);
        assertThat(connection.channel().isActive()).isTrue();
    }
    /**
     * Our streams wait in hashicorp's backlog past our stream open timeout: we reset them as not acknowledged; when
     * hashicorp accepts them later, its service finds them reset, and the session goes on, a new stream echoed.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsLeftInTheBacklogPastOurOpenTimeoutAreResetAndALateAcceptHarmsNothing(YamuxRole ours)
            throws Exception {
        connection = connections.open(ours, "backlog",
                YamuxConfig.defaults().withStreamOpenTimeout(Duration.ofMillis(500)), new EchoStreamHandler(),
                "-no-accept");
        YamuxSession session = connection.session();
        List<YamuxStreamChannel> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            YamuxStreamChannel stream = session.openStream(new StreamExchange(new byte[] {'e'}, 1024))
                    .get(10, TimeUnit.SECONDS);
            waiting.add(stream);
        }

        await("our streams reset at the open timeout").atMost(WAIT)
                .until(() -> connection.onLoop(() -> waiting.stream().allMatch(YamuxStreamChannel::openTimedOut)));
        connection.peer().send("ACCEPT");
        connection.peer().awaitLine("ACCEPTING");
        StreamExchange after = new StreamExchange(new byte[] {'e'}, 64 * 1024);
        session.openStream(after).get(10, TimeUnit.SECONDS);

        StreamExchange.Received received = after.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.reset()).isFalse();
        assertThat(received.sha256()).isEqualTo(after.sent().getNow(null));
        connection.peer().send("PING");
        assertThat(connection.peer().awaitLine("PONG")).matches("PONG \\d+");
        await("no stream left open").atMost(WAIT).until(() -> connection.onLoop(session::activeStreams) == 0);
        assertThat(connection.channel().isActive()).isTrue();
    }
}
