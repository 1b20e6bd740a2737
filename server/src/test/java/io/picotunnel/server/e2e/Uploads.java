package io.picotunnel.server.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * What the tests of a long upload to a target that stops reading share: the target's reading of the request's head,
 * and the visitor's wait until its writer is held back.
 */
final class Uploads {

    private Uploads() {
    }

    /** Reads a request's header lines up to the empty one (or EOF); returns its Content-Length, 0 when it has none. */
    static long readContentLength(InputStream in) throws IOException {
        long length = 0;
        String line;
        while ((line = FaultTarget.readLine(in)) != null && !line.isEmpty()) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return length;
    }

    /** Waits until {@code written}, what a writer has written so far, stays the same for half a second. */
    static void awaitWritesStopped(AtomicLong written) {
        AtomicLong seen = new AtomicLong(-1);
        await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(20))
                .until(() -> written.get() == seen.getAndSet(written.get()));
    }
}
