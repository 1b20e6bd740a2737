package io.picotunnel.server.monitor;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A tunnel check that gives up on a client that is connected but never answers leaves no ping behind in the client's
 * session: checks every few seconds would otherwise pile up pings that each wait out the ping timeout (30 s).
 */
class TunnelCheckPingTest {

    @Test
    void checksThatGiveUpOnASilentClientLeaveNoPingPendingInItsSession() throws Exception {
        EventLoopGroup group = Transport.newEventLoopGroup(1, "tunnel-check");
        // The client: a yamux peer on loopback that takes the connection and never answers.
        try (SilentPeer silent = SilentPeer.draining()) {
            YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
                    new ChannelInboundHandlerAdapter());
            Channel parent = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(session)
                    .connect(silent.socketAddress()).sync().channel();
            try {
                TunnelRegistry registry = new TunnelRegistry();
                registry.register("t1", null, session, "test", "silent.invalid");
                Probes probes = new Probes(registry, Duration.ofMillis(200), Clock.systemUTC());
                for (int i = 0; i < 5; i++) {
                    Check check = probes.tunnel("t1").get(5, TimeUnit.SECONDS);
                    assertThat(check.error()).isEqualTo("ping timeout after 200 ms");
                    // The session's own round-trip probe, sent as it starts, is the one ping that may still wait.
                    await("check " + (i + 1) + "'s ping forgotten").atMost(Duration.ofSeconds(2))
                            .until(() -> pending(parent, session) <= 1);
                }
                assertThat(silent.endsSeen()).as("connections the server ended").isZero();
            } finally {
                parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    private static int pending(Channel parent, YamuxSession session) throws Exception {
        return parent.eventLoop().submit(session::pendingPings).get(5, TimeUnit.SECONDS);
    }
}
