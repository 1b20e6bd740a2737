package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A peer that accepts the connection and never answers a frame: the start-up ping (the round-trip estimate) waits
 * the ping timeout or the keepalive interval, whichever is shorter, and with keepalive on the session is then closed
 * with a WARN naming that wait, not a second keepalive interval later.
 */
class SilentPeerAtStartUpTest {

    private static final String START_UP_LINE = "no answer to the start-up yamux ping within ";

    private EventLoopGroup group;

    @BeforeEach
    void loop() {
        group = Transport.newEventLoopGroup(1, "silent-peer");
    }

    @AfterEach
    void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void aSilentPeerIsClosedAtThePingTimeoutWhenItIsShorterThanTheKeepalive() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withPingTimeout(Duration.ofSeconds(1));
        assertClosedByTheStartUpPingAfterOneSecond(config);
    }

    @Test
    void aSilentPeerIsClosedAtTheKeepaliveIntervalWhenItIsShorterThanThePingTimeout() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ofSeconds(1))
                .withPingTimeout(Duration.ofMinutes(10));
        assertClosedByTheStartUpPingAfterOneSecond(config);
    }

    /** {@code --max-stream-window 256KiB}: a fixed window needs no estimate, but the start-up ping still goes. */
    @Test
    void withWindowAutoTuningOffASilentPeerIsStillClosedAtTheStartUpPing() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false).withPingTimeout(Duration.ofSeconds(1));
        assertClosedByTheStartUpPingAfterOneSecond(config);
    }

    private void assertClosedByTheStartUpPingAfterOneSecond(YamuxConfig config) throws Exception {
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN);
                SilentPeer silent = SilentPeer.readingNothing()) {
            Channel parent = connect(config, silent);
            try {
                await("the session closed").atMost(Duration.ofSeconds(10)).until(() -> !parent.isOpen());

                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .endsWith(START_UP_LINE + "1 s, closing the session");
            } finally {
                parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void withKeepaliveOffAnUnansweredStartUpPingOnlyLeavesTheEstimateMissing() throws Exception {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO)
                .withPingTimeout(Duration.ofMillis(500));
        try (SilentPeer silent = SilentPeer.readingNothing()) {
            Channel parent = connect(config, silent);
            YamuxSession session = YamuxSession.of(parent);
            try {
                await("the start-up ping failed").atMost(Duration.ofSeconds(10))
                        .until(() -> parent.eventLoop().submit(session::pendingPings).get() == 0);

                assertThat(parent.isActive()).isTrue();
                assertThat(session.roundTripTime()).isNull();
            } finally {
                parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        }
    }

    private Channel connect(YamuxConfig config, SilentPeer silent) throws InterruptedException {
        YamuxSession session = new YamuxSession(YamuxRole.CLIENT, config, new ChannelInboundHandlerAdapter());
        return new Bootstrap().group(group).channel(Transport.socketChannel()).handler(session)
                .connect(silent.socketAddress()).sync().channel();
    }
}
