package io.picotunnel.server;

import org.slf4j.Logger;

/**
 * The steps of a stop, each run even when one before it failed: a step skipped would leave ports bound or threads
 * running. A failure is logged once, at ERROR, with the step's name; the first is kept for {@link #throwFirstFailure},
 * the later ones added to it as suppressed.
 */
final class StopSteps {

    private final Logger log;
    private RuntimeException failure;

    StopSteps(Logger log) {
        this.log = log;
    }

    /** Runs {@code step}, named by {@code name} ("closing the HTTP listener") in its failure's log line. */
    void run(String name, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            log.error("Stopping: {} failed", name, e);
            if (failure == null) {
                failure = e;
            } else if (failure != e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** Throws the first failure of the steps run, if any. */
    void throwFirstFailure() {
        if (failure != null) {
            throw failure;
        }
    }
}
