package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.AllowList;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@link TargetDialer} when the client stops while a stream's target is being looked up. */
class TargetDialerStopTest {

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("stop");
    private final List<Thread> lookups = new CopyOnWriteArrayList<>();
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    /** As the client's resolver runs lookups (a virtual thread each), with what escapes a lookup kept here. */
    private final Executor resolver = lookup -> lookups.add(Thread.ofVirtual()
            .uncaughtExceptionHandler((thread, e) -> uncaught.add(e)).start(lookup));

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    @Test
    void aLookupEndingAfterTheStreamsLoopStoppedEndsQuietly() throws Exception {
        int lookupsBefore = SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun();
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(30), resolver);
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            TargetDialerBehindYamux.open(server.getOutputStream(), 2, "app.slow.test:" + Ports.freePort(), 0);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun() > lookupsBefore);

            client.close();

            Duration lookupEnd = SlowDnsResolverProvider.DELAY.plusSeconds(10);
            for (Thread lookup : lookups) {
                assertThat(lookup.join(lookupEnd)).as("the lookup ended within %s", lookupEnd).isTrue();
            }
        }
        // Before, the stream's stopped loop refused the lookup's result, and the RejectedExecutionException went
        // uncaught (a stack trace on stderr after the client's stop).
        assertThat(uncaught).isEmpty();
    }
}
