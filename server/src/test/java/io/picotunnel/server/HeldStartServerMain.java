package io.picotunnel.server;

import io.picotunnel.server.store.ServiceListener;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server's process as {@link ServerMain} runs it, its start held at a known point: a listener of the services
 * reads the FIFO named by {@value #HOLD} as the start replays the stored ones to it (the data directory locked, the
 * store open), and so waits there until a writer comes. With {@value #SHORT_START_WAIT} set, a stop during the start
 * waits for it at least {@link #MIN_START_WAIT} instead of {@link SignalStop#MIN_START_WAIT}'s 30 s: a test of a start
 * that hangs ends in seconds.
 */
final class HeldStartServerMain {

    static final String HOLD = "picotunnel.test.hold";
    static final String SHORT_START_WAIT = "picotunnel.test.shortStartWait";
    /** Set, the listener throws instead of holding the start: a start that fails with an exception, not a code. */
    static final String THROW = "picotunnel.test.throw";
    static final Duration MIN_START_WAIT = Duration.ofSeconds(2);

    private HeldStartServerMain() {
    }

    public static void main(String[] args) {
        Path hold = Path.of(System.getProperty(HOLD));
        AtomicBoolean held = new AtomicBoolean();
        ServiceListener holding = (before, after) -> {
            if (Boolean.getBoolean(THROW)) {
                throw new IllegalStateException("a start that throws");
            }
            if (held.compareAndSet(false, true)) {
                waitFor(hold);
            }
        };
        ServerMain.exitWith(() -> ServerMain.runUntilStopped(args, System.getenv(), System.out, System.err,
                () -> Boolean.getBoolean(SHORT_START_WAIT) ? MIN_START_WAIT : SignalStop.MIN_START_WAIT, holding));
    }

    /** Reads the FIFO, which waits for a writer, for good if none comes: a start that hangs. */
    private static void waitFor(Path fifo) {
        try {
            Files.readAllBytes(fifo);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
