package io.picotunnel.server;

import java.time.Duration;

/**
 * The server's process as {@link ServerMain} runs it, but for a stop during the start, which waits for it at least
 * {@link #MIN_START_WAIT} instead of {@link SignalStop#MIN_START_WAIT}'s 30 s: a test of a start that hangs ends in
 * seconds.
 */
final class ShortStartWaitServerMain {

    static final Duration MIN_START_WAIT = Duration.ofSeconds(2);

    private ShortStartWaitServerMain() {
    }

    public static void main(String[] args) {
        int code = ServerMain.runUntilStopped(args, System.getenv(), System.out, System.err, () -> MIN_START_WAIT);
        if (code != 0) {
            System.exit(code);
        }
    }
}
