package io.picotunnel.server.monitor;

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
 * A check whose stream is refused because the server ended its client's connection, the tunnel deleted after the client
 * was chosen, says that the tunnel was deleted, not only that the client was lost.
 */
class CheckWhileTheTunnelIsDeletedTest {

    @Test
    void aCheckWhoseClientWasEndedForItsTunnelDeletedOnceChosenSaysTheTunnelWasDeleted() throws Exception {
        try (SilentClient client = new SilentClient("deleted-tunnel")) {
            Probes probes = new Probes(client.registry, Duration.ofSeconds(5), Clock.systemUTC());
            Service service = new Service("s1", SilentClient.TUNNEL_ID, ServiceType.HTTP, "app.test", "/",
                    TlsMode.TERMINATE, null, "127.0.0.1:9", true, Instant.now());

            // The session's loop is held while the check chooses the client; the tunnel is deleted, which sends the
            // client GoAway, before the stream's open, queued behind it, runs.
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch chosen = new CountDownLatch(1);
            client.parent.eventLoop().execute(() -> {
                holding.countDown();
                try {
                    chosen.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                client.registry.disconnect(SilentClient.TUNNEL_ID);
            });
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Check> check = probes.service(service, ServiceCheckSettings.DEFAULT);
            chosen.countDown();

            // Before: "the client of tunnel t1 chosen for the stream was lost before the stream opened, ...".
            assertThat(check.get(10, TimeUnit.SECONDS).error()).isEqualTo("could not open a stream to the client: "
                    + "the tunnel was deleted: the server ended the connection of the client of tunnel t1 chosen for the"
                    + " stream before the stream opened, and no other client could take it");
        }
    }
}
