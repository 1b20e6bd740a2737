package io.picotunnel.testkit;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A real file made immutable ({@code chattr +i}, which even root can neither change nor delete), for tests of what
 * the server does with a file it cannot delete; a test where chattr fails (no root, a file system without the flag) is
 * skipped. {@link #close} makes it changeable again and fails when it cannot: in try-with-resources, that failure is
 * added to the body's as suppressed, where an assertion in a finally hid the body's. A JVM that ends with one still
 * immutable (a fork stopped at its timeout) undoes it in a shutdown hook, else neither {@code @TempDir} nor any
 * clean-up of {@code /tmp} could delete it; a SIGKILL leaves it, {@code chattr -i} by hand.
 */
public final class ImmutableFile implements AutoCloseable {

    private static final Set<Path> STILL_IMMUTABLE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> STILL_IMMUTABLE.forEach(file -> chattr("-i", file)),
                "immutable-files-undone"));
    }

    private final Path file;

    private ImmutableFile(Path file) {
        this.file = file;
    }

    /** Makes {@code file} immutable, or skips the test where chattr fails here. */
    public static ImmutableFile make(Path file) {
        STILL_IMMUTABLE.add(file); // before the chattr: a JVM ended just after it undoes it too
        boolean made = chattr("+i", file);
        if (!made) {
            STILL_IMMUTABLE.remove(file);
        }
        Assumptions.assumeTrue(made, "chattr +i works here");
        return new ImmutableFile(file);
    }

    public Path path() {
        return file;
    }

    /** Makes the file changeable again; an AssertionError when chattr -i fails. */
    @Override
    public void close() {
        if (!chattr("-i", file)) {
            throw new AssertionError("chattr -i " + file + " failed: the file stays immutable");
        }
        STILL_IMMUTABLE.remove(file);
    }

    private static boolean chattr(String change, Path file) {
        try {
            // Its output discarded, not read: a read to the end would wait for a hung chattr without the bound below.
            Process chattr = new ProcessBuilder("chattr", change, file.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                return chattr.waitFor(30, TimeUnit.SECONDS) && chattr.exitValue() == 0;
            } finally {
                chattr.destroyForcibly();
            }
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
