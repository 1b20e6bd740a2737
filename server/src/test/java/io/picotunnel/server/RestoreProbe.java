package io.picotunnel.server;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code picotunnel-server restore} in a child JVM that stops once the database it replaces is set aside, the checked
 * copy waiting beside it: it says "set aside" and waits there until the test kills the process (SIGKILL, as the OOM
 * killer or a power cut would: no shutdown hook, no finally).
 */
public final class RestoreProbe {

    private RestoreProbe() {
    }

    /** The restore command's arguments. */
    public static void main(String[] args) {
        PrintStream out = System.out;
        RestoreCommand.run(args, Map.of(), out, System.err, () -> {
            out.println("set aside");
            out.flush();
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
