package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.Future;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The session's timeouts read in its WARN lines and failures as every other duration ("1.5 s", "30 s"), not as
 * {@code PT1.5S}. Simulated time ({@link RawPeer}); the peer answers nothing.
 */
class TimeoutWordsTest {

    private static final Duration OPEN_TIMEOUT = YamuxConfig.defaults().streamOpenTimeout();
    private static final Duration PING_TIMEOUT = YamuxConfig.defaults().pingTimeout();

    private RawPeer peer;

    @AfterEach
    void close() {
        peer.close();
    }

    @Test
    void anUnansweredKeepaliveIsLoggedWithItsInterval() {
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.INFO)) {
            peer = new RawPeer(YamuxRole.CLIENT, YamuxConfig.defaults().withKeepAliveInterval(Duration.ofMillis(1500)),
                    new ChannelInboundHandlerAdapter());
            YamuxFrame startUpPing = peer.writtenOne();
            peer.send(YamuxFrame.ping(YamuxSpec.FLAG_ACK, startUpPing.length()));

            peer.advance(1500);
            peer.advance(1500);

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": no answer to the yamux keepalive ping within 1.5 s, closing the session");
        }
    }

    @Test
    void anUnansweredPingFailsWithTheTimeout() {
        peer = quietPeer();
        Future<Duration> ping = peer.session.ping();

        peer.advance(PING_TIMEOUT.toMillis());

        assertThat(ping.isDone()).isTrue();
        assertThat(ping.cause()).hasMessage("no answer to ping within 30 s");
    }

    @Test
    void aStreamNeverAcknowledgedIsLoggedWithTheTimeout() {
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.INFO)) {
            peer = quietPeer();
            peer.session.openStream(new ChannelInboundHandlerAdapter());

            peer.advance(OPEN_TIMEOUT.toMillis());

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": no ACK for stream 1 within 30 s, resetting it");
        }
    }

    private static RawPeer quietPeer() {
        return new RawPeer(YamuxRole.CLIENT, YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO),
                new ChannelInboundHandlerAdapter());
    }
}
