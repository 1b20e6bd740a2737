package io.picotunnel.server.monitor;

import io.netty.channel.Channel;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A check whose stream is refused because the stopping server sent its GoAway to the client after the client was
 * chosen says that the server is stopping, not that the client was lost: the client is still connected.
 */
class CheckWhileTheServerStopsTest {

    @Test
    void aCheckWhoseClientGotTheStoppingServersGoAwayAfterItWasChosenSaysTheServerIsStopping() throws Exception {
        try (SilentClient client = new SilentClient("stopping-server")) {
            Probes probes = new Probes(client.registry, Duration.ofSeconds(5), Clock.systemUTC());
            Service service = new Service("s1", SilentClient.TUNNEL_ID, ServiceType.HTTP, "app.test", "/",
                    TlsMode.TERMINATE, null, "127.0.0.1:9", true, Instant.now());

            // The session's loop is held while the check chooses the client; the server's GoAway, as its drain sends
            // it, goes out before the stream's open, queued behind it, runs.
            Channel parent = client.parent;
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch chosen = new CountDownLatch(1);
            parent.eventLoop().execute(() -> {
                holding.countDown();
                try {
                    chosen.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                client.registry.serverStopping();
                client.session.goAway(GoAwayCode.NORMAL);
            });
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Check> check = probes.service(service, ServiceCheckSettings.DEFAULT);
            chosen.countDown();

            assertThat(check.get(10, TimeUnit.SECONDS).error()).isEqualTo("could not open a stream to the client: "
                    + "the server is stopping: it sent GoAway to the client of tunnel t1 chosen for the stream before"
                    + " the stream opened, and takes no new streams");
        }
    }
}
