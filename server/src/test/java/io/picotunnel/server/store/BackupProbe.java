package io.picotunnel.server.store;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A backup in a child JVM that stops while the database is open, after the copy is written and before it is moved
 * into place: it says "open" and waits there until the test ends the process (SIGTERM, as Ctrl-C or a job's timeout
 * would).
 */
public final class BackupProbe {

    private BackupProbe() {
    }

    /** {@code <data dir> <target>}. */
    public static void main(String[] args) {
        Backup.run(Path.of(args[0]), Path.of(args[1]), () -> {
            System.out.println("open");
            System.out.flush();
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
