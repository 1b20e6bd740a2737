package io.picotunnel.client.tunnel;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Keeps an event loop busy until released, so that what happens meanwhile queues behind it. The hold gives up after
 * 10 s so that a failed test cannot stop the loop for ever; {@link #release} then fails, as the test did not hold what
 * it meant to.
 */
final class LoopHold {

    private final CountDownLatch released = new CountDownLatch(1);
    private volatile boolean gaveUp;

    /** Holds {@code loop} from its next task on. */
    static LoopHold on(Executor loop) {
        LoopHold hold = new LoopHold();
        loop.execute(hold::hold);
        return hold;
    }

    /** The task that holds: run it on the loop to hold. */
    void hold() {
        try {
            gaveUp = !released.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lets the loop go; fails when the hold had given up before. */
    void release() {
        letGo();
        if (gaveUp) {
            throw new AssertionError("the event loop was held for 10 s and let go before the test released it");
        }
    }

    /** Lets the loop go, whatever happened (for a finally block). */
    void letGo() {
        released.countDown();
    }
}
