package io.picotunnel.server.e2e;

import java.io.IOException;

/** Closes a test's resources, all of them though one's close fails. */
final class CloseAll {

    private CloseAll() {
    }

    /**
     * Closes each of {@code resources}, going on when a close throws any exception; then throws the first, the others
     * suppressed in it (a checked exception other than an IOException wrapped in one).
     */
    static void closeAll(Iterable<? extends AutoCloseable> resources) throws IOException {
        Exception first = null;
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first instanceof IOException e) {
            throw e;
        }
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first != null) {
            throw new IOException(first);
        }
    }
}
