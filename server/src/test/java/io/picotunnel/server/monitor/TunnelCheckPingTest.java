package io.picotunnel.server.monitor;

import io.netty.channel.Channel;
import io.picotunnel.protocol.yamux.YamuxSession;
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
        try (SilentClient client = new SilentClient("tunnel-check")) {
            Probes probes = new Probes(client.registry, Duration.ofMillis(200), Clock.systemUTC());
            for (int i = 0; i < 5; i++) {
                Check check = probes.tunnel(SilentClient.TUNNEL_ID).get(5, TimeUnit.SECONDS);
                assertThat(check.error()).isEqualTo("ping timeout after 200 ms");
                // The session's own round-trip probe, sent as it starts, is the one ping that may still wait.
                await("check " + (i + 1) + "'s ping forgotten").atMost(Duration.ofSeconds(2))
                        .until(() -> pending(client.parent, client.session) <= 1);
            }
            assertThat(client.peer.endsSeen()).as("connections the server ended").isZero();
        }
    }

    private static int pending(Channel parent, YamuxSession session) throws Exception {
        return parent.eventLoop().submit(session::pendingPings).get(5, TimeUnit.SECONDS);
    }
}
