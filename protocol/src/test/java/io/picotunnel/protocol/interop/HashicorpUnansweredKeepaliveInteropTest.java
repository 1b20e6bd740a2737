package io.picotunnel.protocol.interop;

import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux that stops answering our keepalive pings: its writes are held (HOLD), so it still reads all we send
 * and its answers never leave it. Our side ends the session for the missed answer with GoAway(protocol error), which
 * hashicorp must read, as its goAwayProtoErr (code 1), before the connection closes under it.
 */
class HashicorpUnansweredKeepaliveInteropTest {

    /**
     * Also the wait for the answer to our start-up ping: at 300 ms a busy test host now and then missed it, and the
     * session ended before HOLD.
     */
    private static final Duration KEEPALIVE = Duration.ofSeconds(2);
    /** hashicorp's words when it reads GoAway with code 1 (session.go, handleGoAway). */
    private static final String PROTOCOL_ERROR_GO_AWAY_READ = "[ERR] yamux: received protocol error go away";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aPeerThatStopsAnsweringPingsReadsOurProtocolErrorGoAwayBeforeTheClose(YamuxRole ours) {
        GoPeerConnection connection = connections.open(ours, "unanswered-keepalive",
                YamuxConfig.defaults().withKeepAliveInterval(KEEPALIVE), new EchoStreamHandler());
        GoPeer peer = connection.peer();
        peer.send("PING");
        peer.awaitLine("PONG ");

        peer.send("HOLD");
        peer.awaitLine("HELD");

        await("our session ended for the unanswered ping").atMost(WAIT).until(connection::sessionEnded);
        peer.awaitLine("SESSION_CLOSED");
        // The peer's stderr is read on a thread of its own: its lines can come after the stdout line above.
        await("the peer's log of our GoAway").atMost(WAIT).untilAsserted(() -> assertThat(peer.stderr())
                .contains(PROTOCOL_ERROR_GO_AWAY_READ).contains("accept ended: yamux protocol error"));
    }
}
