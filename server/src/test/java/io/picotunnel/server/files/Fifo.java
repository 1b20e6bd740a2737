package io.picotunnel.server.files;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.TimeUnit;

/**
 * A FIFO made by {@code mkfifo}, where a test puts one in the place of a file the server reads. {@link #close()} lets go
 * of a reader left blocked opening it, whatever left it there (a read given up, a test that failed).
 */
public final class Fifo implements AutoCloseable {

    private final Path path;

    private Fifo(Path path) {
        this.path = path;
    }

    /** A FIFO at {@code path}, where nothing is. */
    public static Fifo make(Path path) throws IOException {
        Process mkfifo = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        if (!ended(mkfifo)) {
            mkfifo.destroyForcibly();
            throw new IOException("mkfifo " + path + " did not end within 30 s");
        }
        if (mkfifo.exitValue() != 0) {
            throw new IOException("mkfifo " + path + " failed: "
                    + new String(mkfifo.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
        }
        return new Fifo(path);
    }

    /** A FIFO in the place of the file at {@code path}, which is deleted. */
    public static Fifo replacing(Path path) throws IOException {
        Files.delete(path);
        return make(path);
    }

    private static boolean ended(Process process) throws InterruptedIOException {
        try {
            return process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for mkfifo");
        }
    }

    public Path path() {
        return path;
    }

    /** Opens it for writing (read-write, so that it does not wait for a reader) and writes a line, if it is still there. */
    @Override
    public void close() throws IOException {
        try {
            if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                return;
            }
        } catch (NoSuchFileException e) {
            return;
        }
        write("\n");
    }

    /** Writes {@code text} into it, opened read-write: a reader waiting at its open then reads it. */
    public void write(String text) throws IOException {
        try (RandomAccessFile writer = new RandomAccessFile(path.toFile(), "rw")) {
            writer.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
