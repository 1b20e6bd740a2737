package io.picotunnel.server.e2e;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/** Sending the bodies of uploads whose target reads none of them, and waiting until they can send no more. */
final class StalledSending {

    private StalledSending() {
    }

    /** On a thread of its own: a stalled stream's body waits for credit that may never come. */
    static void inTheBackground(Runnable send) {
        Thread.ofVirtual().name("h2-upload").start(() -> {
            try {
                send.run();
            } catch (RuntimeException e) {
                // no credit for a minute, its stream reset, or the connection ended with the test
            }
        });
    }

    /** Waits until what the stalled streams sent stays the same for a second. */
    static void awaitStopped(List<AtomicLong> sent) {
        AtomicLong seen = new AtomicLong(-1);
        await().pollInterval(Duration.ofMillis(100)).during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(60))
                .until(() -> sum(sent) == seen.getAndSet(sum(sent)));
    }

    static long sum(List<AtomicLong> sent) {
        return sent.stream().mapToLong(AtomicLong::get).sum();
    }
}
