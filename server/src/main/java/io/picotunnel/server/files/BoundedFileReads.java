package io.picotunnel.server.files;

import io.picotunnel.protocol.config.Durations;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reads of files others may put or replace (the operator's certificates and keys, ACME's files, the admin token),
 * bounded in size and in time. A file looked at as a regular file may be a FIFO by the time it is opened, replaced in between, and the open
 * of a FIFO waits for a writer, for good if none comes: Java opens files with no {@code O_NONBLOCK}, and no interrupt
 * ends that wait. So a file is opened and read on a thread of its own, waited for at most a timeout: past it the read
 * is left waiting and the caller gets an IOException naming the file. A read left waiting at the open of a FIFO still
 * in the file's place is let go then ({@link #letGo}), again while it has not ended, as its thread may not have reached
 * its open yet. Reads not ended are counted, and past a limit further reads are refused until some end: at most that
 * many threads read files, and one more lets go of them, whatever reads at once.
 */
public final class BoundedFileReads {

    /** What reading a certificate, a key or a token takes, many times over on a loaded machine. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Each holds a thread that waits, for good maybe; it takes a file replaced at the very moment it was read. */
    static final int MAX_LEFT_WAITING = 16;
    private static final BoundedFileReads DEFAULT = new BoundedFileReads(TIMEOUT, MAX_LEFT_WAITING);
    /** st_mode's file type bits, and those of a FIFO. */
    private static final int TYPE_BITS = 0170000;
    private static final int FIFO_TYPE = 0010000;
    /** Platform threads: a virtual one blocked in open() would hold its carrier for as long. */
    private static final ExecutorService READERS = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("picotunnel-file-read-", 1).factory());
    /**
     * The let-gos' one thread: on the readers' pool they were not counted, so more threads than the limit could wait
     * on files (a let-go's look at a file system that does not answer).
     */
    private static final ScheduledExecutorService LET_GO = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("picotunnel-file-let-go").factory());
    /** How often a read given up is let go while it has not ended, and how many times at most: some 5 s. */
    static final Duration LET_GO_INTERVAL = Duration.ofMillis(100);
    static final int LET_GO_TRIES = 50;

    /**
     * A read given up at the timeout, or refused as too many wait: the file's content is not known, and may read well
     * later (a file system that answers again, the waiting reads ended), so a reader that remembers failed files should
     * not remember this one.
     */
    public static final class NotReadInTimeException extends IOException {
        NotReadInTimeException(String message) {
            super(message);
        }
    }

    /** A file larger than the read's limit: not one its reader wrote or expects, which the reader may say in its words. */
    public static final class TooLargeException extends IOException {
        TooLargeException(String message) {
            super(message);
        }
    }

    private final Duration timeout;
    private final int maxLeftWaiting;
    /** Reads started and not ended: those within their timeout, and those left waiting past it. */
    private final AtomicInteger unended = new AtomicInteger();
    /** Run by a read's thread before its open: a test's, to have it come late. */
    private final Runnable beforeOpen;

    BoundedFileReads(Duration timeout, int maxLeftWaiting) {
        this(timeout, maxLeftWaiting, () -> {
        });
    }

    BoundedFileReads(Duration timeout, int maxLeftWaiting, Runnable beforeOpen) {
        this.timeout = timeout;
        this.maxLeftWaiting = maxLeftWaiting;
        this.beforeOpen = beforeOpen;
    }

    /**
     * The bytes of {@code file}, an IOException naming it when it holds more than {@code limit} (a
     * {@link TooLargeException}, read no further than one byte past it) or its open and read do not end within
     * {@link #TIMEOUT} (a {@link NotReadInTimeException}). Waited for whatever interrupts the caller (the ACME thread
     * is interrupted by the server's shutdown and still reads its files), the interrupt kept for after.
     */
    public static byte[] read(Path file, int limit) throws IOException {
        return DEFAULT.readBounded(file, limit);
    }

    byte[] readBounded(Path file, int limit) throws IOException {
        // the read's place is taken before it starts, so that reads started at once cannot all pass the limit
        if (unended.incrementAndGet() > maxLeftWaiting) {
            unended.decrementAndGet();
            throw new NotReadInTimeException(file + ": not read, as " + maxLeftWaiting + " reads of files that did not"
                    + " end within " + Durations.format(timeout) + " wait still (FIFOs put in the place of files, say);"
                    + " reads go on once they end");
        }
        CompletableFuture<byte[]> read = new CompletableFuture<>();
        try {
            READERS.execute(() -> {
                try {
                    beforeOpen.run();
                    byte[] bytes = readNoFurther(file, limit);
                    unended.decrementAndGet(); // before the caller goes on: its next read does not count this one
                    read.complete(bytes);
                } catch (Throwable e) {
                    unended.decrementAndGet();
                    read.completeExceptionally(e);
                }
            });
        } catch (RuntimeException | Error e) {
            unended.decrementAndGet(); // no thread to read it: the read never started
            throw e;
        }
        try {
            return waitUninterruptibly(read);
        } catch (TimeoutException e) {
            // not here: a file system that does not answer would hold the caller
            letGoWhilePending(file, read, 0, LET_GO_TRIES);
            throw new NotReadInTimeException(file + ": not read within " + Durations.format(timeout) + ": not a regular"
                    + " file (a FIFO put in its place as it was read, say), or on a file system slow to answer");
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException unchecked -> throw unchecked;
                case Error error -> throw error;
                default -> throw new IOException(file + ": " + e.getCause(), e.getCause());
            }
        }
    }

    /**
     * Lets go of {@code file}'s read after {@code delayMillis}, and again every {@link #LET_GO_INTERVAL} up to {@code
     * tries} times while {@code read} has not ended: a read's thread that had not reached its open at the first let-go
     * (a loaded machine) then waited for good.
     */
    private static void letGoWhilePending(Path file, CompletableFuture<?> read, long delayMillis, int tries) {
        LET_GO.schedule(() -> {
            if (!read.isDone()) {
                letGo(file);
                if (tries > 1) {
                    letGoWhilePending(file, read, LET_GO_INTERVAL.toMillis(), tries - 1);
                }
            }
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    /** Reads not ended now: left waiting past their timeout, or within it. */
    int leftWaiting() {
        return unended.get();
    }

    /**
     * Lets go of a read left waiting at the open of {@code file} for a writer, should {@code file} still be a FIFO: no
     * open for writing alone can be made not to wait in Java (no O_NONBLOCK), but an open for reading and writing does
     * not wait on Linux, and is the writer the read waits for; closed at once, the read then finds no bytes and ends.
     * Without it such a read waits for good, and enough of them refuse every read until the server restarts. The file
     * is looked at and opened without following a link, and never created or truncated, so that a file or a link put
     * in its place since is not opened for writing (but for one put there between the look and the open, which is
     * opened and closed, not written). Devices, which an open may act on, are left alone.
     */
    static void letGo(Path file) {
        try {
            Object mode = Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (!(mode instanceof Integer bits) || (bits & TYPE_BITS) != FIFO_TYPE) {
                return;
            }
            // opened is enough: the waiting read's open returns, and its read finds no writer left
            FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)
                    .close();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // gone, replaced, or no unix view of files here: nothing to let go of, or no way to
        }
    }

    private static byte[] readNoFurther(Path file, int limit) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(limit + 1);
        }
        if (bytes.length > limit) {
            throw new TooLargeException(file + ": larger than " + limit + " bytes");
        }
        return bytes;
    }

    private byte[] waitUninterruptibly(CompletableFuture<byte[]> read) throws ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return read.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
