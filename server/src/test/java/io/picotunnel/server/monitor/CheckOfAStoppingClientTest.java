package io.picotunnel.server.monitor;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
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
 * A check whose stream is refused by the session because the client's GoAway came after the client was chosen
 * says that the client is stopping and no other client could take the stream, not the yamux session's own
 * "going away (GoAway received)", which tells a reader nothing of what happened to the stream.
 */
class CheckOfAStoppingClientTest {

    /** GoAway(normal): version 0, type 3, no flags, stream 0, code 0. */
    private static final byte[] GO_AWAY = {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    @Test
    void aClientWhoseGoAwayCameAfterItWasChosenIsNamedStoppingInTheCheck() throws Exception {
        try (SilentClient client = new SilentClient("stopping-client")) {
            Probes probes = new Probes(client.registry, Duration.ofSeconds(5), Clock.systemUTC());
            Service service = new Service("s1", SilentClient.TUNNEL_ID, ServiceType.HTTP, "app.test", "/",
                    TlsMode.TERMINATE, null, "127.0.0.1:9", true, Instant.now());

            // The session's loop is held while the check chooses the client; the GoAway is read before the
            // stream's open, queued behind it, runs.
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
                parent.pipeline().fireChannelRead(Unpooled.wrappedBuffer(GO_AWAY));
                parent.pipeline().fireChannelReadComplete();
            });
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Check> check = probes.service(service, ServiceCheckSettings.DEFAULT);
            chosen.countDown();

            assertThat(check.get(10, TimeUnit.SECONDS).error()).isEqualTo("could not open a stream to the client: "
                    + "the client of tunnel t1 is stopping and no other client could take the stream");
        }
    }
}
