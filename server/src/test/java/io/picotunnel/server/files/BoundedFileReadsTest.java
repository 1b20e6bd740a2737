package io.picotunnel.server.files;

import io.picotunnel.server.files.BoundedFileReads.NotReadInTimeException;
import io.picotunnel.server.files.BoundedFileReads.TooLargeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Reads of files bounded in size and in time: a FIFO in a file's place costs a timeout, not the reading thread. */
class BoundedFileReadsTest {

    @TempDir
    Path dir;

    private final BoundedFileReads reads = new BoundedFileReads(Duration.ofMillis(300), 2);

    @Test
    void aFileIsReadWholeUpToItsLimitAndRefusedPastIt() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "12345");

        assertThat(reads.readBounded(file, 5)).asString().isEqualTo("12345");
        assertThatThrownBy(() -> reads.readBounded(file, 4)).isExactlyInstanceOf(TooLargeException.class)
                .hasMessage(file + ": larger than 4 bytes");
        assertThatThrownBy(() -> reads.readBounded(dir.resolve("missing"), 5))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }

    /**
     * Reads of FIFOs, which wait for a writer, are given up at the timeout and, the FIFO still in the file's place, let
     * go then: more of them than the limit of reads left waiting leave none waiting, and a file read after them reads.
     * Before, each was left waiting for good, and once the limit was reached every read was refused until a restart.
     */
    @Test
    void fifoReadsGivenUpAreLetGoSoReadsGoOnPastTheLimit() throws Exception {
        BoundedFileReads limited = new BoundedFileReads(Duration.ofMillis(300), BoundedFileReads.MAX_LEFT_WAITING);
        Path file = Files.writeString(dir.resolve("file"), "pem");
        List<Fifo> fifos = new ArrayList<>();
        try {
            for (int i = 0; i <= BoundedFileReads.MAX_LEFT_WAITING; i++) {
                Fifo fifo = Fifo.make(dir.resolve("fifo-" + i));
                fifos.add(fifo);
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                        () -> limited.readBounded(fifo.path(), 5)).isExactlyInstanceOf(NotReadInTimeException.class)
                        .hasMessage(fifo.path() + ": not read within 300 ms: not a regular file (a FIFO put in its"
                                + " place as it was read, say), or on a file system slow to answer"));
            }

            await("every read given up ends").atMost(Duration.ofSeconds(10)).until(() -> limited.leftWaiting() == 0);
            assertThat(limited.readBounded(file, 5)).asString().isEqualTo("pem");
        } finally {
            for (Fifo fifo : fifos) {
                fifo.close();
            }
        }
    }

    /**
     * A read whose thread reaches its open only after the first let-go, at the timeout (here 1 s later, as on a loaded
     * machine), is let go by a later one. Before, the one let-go at the timeout missed it, and it waited for good.
     */
    @Test
    void aReadThatOpensAfterTheFirstLetGoIsLetGoByALaterOne() throws Exception {
        CountDownLatch late = new CountDownLatch(1);
        BoundedFileReads lateOpens = new BoundedFileReads(Duration.ofMillis(300), 2, () -> {
            try {
                late.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (Fifo fifo = Fifo.make(dir.resolve("fifo"))) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                    () -> lateOpens.readBounded(fifo.path(), 5)).isExactlyInstanceOf(NotReadInTimeException.class));
            await("the first let-go is over").pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> true);
            late.countDown();

            await("the late read is let go").atMost(Duration.ofSeconds(20)).until(() -> lateOpens.leftWaiting() == 0);
        }
    }

    /**
     * A read given up is let go only through a FIFO still at the file's path: a file, a link, or nothing put there in
     * its place is not opened for writing, so none is created, followed or truncated.
     */
    @Test
    void whatIsPutInAFifosPlaceIsNotOpenedForWriting() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "pem");
        Path missing = dir.resolve("missing");
        Path linkToMissing = Files.createSymbolicLink(dir.resolve("link-to-missing"), dir.resolve("target"));
        Path linkToFile = Files.createSymbolicLink(dir.resolve("link-to-file"), file);

        for (Path path : List.of(file, missing, linkToMissing, linkToFile)) {
            BoundedFileReads.letGo(path);
        }

        assertThat(file).hasContent("pem");
        assertThat(missing).doesNotExist();
        assertThat(dir.resolve("target")).doesNotExist();
        assertThat(linkToFile).isSymbolicLink();
    }

    /** A link to a FIFO is not followed: a reader waiting at the FIFO gets what a writer writes later, not an end. */
    @Test
    void aLinkToAFifoIsNotFollowedToLetItsReaderGo() throws Exception {
        try (Fifo fifo = Fifo.make(dir.resolve("fifo"))) {
            Path link = Files.createSymbolicLink(dir.resolve("link"), fifo.path());
            ExecutorService readers = Executors.newSingleThreadExecutor();
            try {
                Thread reader = readers.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
                Future<String> read = readers.submit(() -> Files.readString(fifo.path()));
                awaitOpening(reader);

                BoundedFileReads.letGo(link);
                fifo.write("pem");

                assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo("pem");
            } finally {
                readers.shutdownNow();
            }
        }
    }

    /**
     * Reads that wait where they cannot be let go (a link to a FIFO, which is not followed; a file system that does not
     * answer) are given up at the timeout and left waiting; past the limit of those a read is refused at once, until
     * one of them ends (here a writer comes), when reads go on.
     */
    @Test
    void readsLeftWaitingAreBoundedAndGoOnOnceOneEnds() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "pem");
        Fifo first = Fifo.make(dir.resolve("first"));
        try (Fifo second = Fifo.make(dir.resolve("second"))) {
            for (Fifo fifo : new Fifo[] {first, second}) {
                Path link = linkTo(fifo);
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                        () -> reads.readBounded(link, 5)).isExactlyInstanceOf(NotReadInTimeException.class)
                        .hasMessage(link + ": not read within 300 ms: not a regular file (a FIFO put in its"
                                + " place as it was read, say), or on a file system slow to answer"));
            }
            assertThat(reads.leftWaiting()).isEqualTo(2);
            assertThatThrownBy(() -> reads.readBounded(file, 5)).isExactlyInstanceOf(NotReadInTimeException.class)
                    .hasMessage(file + ": not read, as 2 reads of files that did not end within 300 ms wait still"
                            + " (FIFOs put in the place of files, say); reads go on once they end");

            first.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> reads.leftWaiting() == 1);
            assertThat(reads.readBounded(file, 5)).asString().isEqualTo("pem");
        } finally {
            first.close();
        }
    }

    /**
     * Reads started at once (the scan's, ACME's, an API thread's) that all wait: no more than the limit are left
     * waiting, the others refused at once, where each looked at the count before any was left waiting and all passed.
     */
    @Test
    void readsStartedAtOnceLeaveNoMoreThanTheLimitWaiting() throws Exception {
        BoundedFileReads oneAtMost = new BoundedFileReads(Duration.ofMillis(300), 1);
        List<Fifo> fifos = List.of(Fifo.make(dir.resolve("first")), Fifo.make(dir.resolve("second")));
        ExecutorService readers = Executors.newFixedThreadPool(fifos.size());
        try {
            CyclicBarrier atOnce = new CyclicBarrier(fifos.size());
            List<Future<String>> failures = new ArrayList<>();
            for (Fifo fifo : fifos) {
                failures.add(readers.submit(() -> {
                    atOnce.await(10, TimeUnit.SECONDS);
                    Path link = linkTo(fifo);
                    IOException failure = assertThrows(IOException.class, () -> oneAtMost.readBounded(link, 5));
                    return failure.getMessage();
                }));
            }
            List<String> messages = new ArrayList<>();
            for (Future<String> failure : failures) {
                messages.add(failure.get(30, TimeUnit.SECONDS));
            }

            assertThat(oneAtMost.leftWaiting()).isEqualTo(1);
            assertThat(messages).filteredOn(message -> message.contains(": not read within 300 ms")).hasSize(1);
            assertThat(messages).filteredOn(message -> message.contains(": not read, as 1 reads")).hasSize(1);
        } finally {
            readers.shutdownNow();
            for (Fifo fifo : fifos) {
                fifo.close();
            }
        }
    }

    /**
     * The ACME thread, interrupted by the server's shutdown, still reads its files, and keeps the interrupt. The file is
     * a FIFO written only once the caller waits for its read, so that the read cannot end before the wait begins (a
     * wait on a read ended already returns whatever the interrupt), and the read waits at its open.
     */
    @Test
    void aReadOnAnInterruptedThreadEndsAndKeepsTheInterrupt() throws Exception {
        BoundedFileReads patient = new BoundedFileReads(Duration.ofSeconds(30), 2);
        Thread caller = Thread.currentThread();
        ExecutorService writers = Executors.newSingleThreadExecutor();
        try (Fifo fifo = Fifo.make(dir.resolve("fifo"))) {
            Set<Thread> openingAlready = readersOpening();
            Future<?> written = writers.submit(() -> {
                // written before the read has opened the FIFO, "pem" would be lost as the writer closes it
                await("the caller waits for the read, and the read for a writer").atMost(Duration.ofSeconds(20))
                        .until(() -> caller.getState() == Thread.State.TIMED_WAITING
                                && !openingAlready.containsAll(readersOpening()));
                fifo.write("pem");
                return null;
            });
            caller.interrupt();
            try {
                assertThat(patient.readBounded(fifo.path(), 5)).asString().isEqualTo("pem");
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
            written.get(30, TimeUnit.SECONDS);
        } finally {
            writers.shutdownNow();
        }
    }

    /** A link to {@code fifo}: a read through it waits at the FIFO, and is not let go when given up. */
    private Path linkTo(Fifo fifo) throws IOException {
        return Files.createSymbolicLink(dir.resolve(fifo.path().getFileName() + ".link"), fifo.path());
    }

    /** Waits until {@code reader} is at its open of a file (in the native open, as far as Java tells). */
    private static void awaitOpening(Thread reader) {
        await("the reader opens the FIFO").atMost(Duration.ofSeconds(10)).until(() -> opening(reader.getStackTrace()));
    }

    /** The threads of {@link BoundedFileReads}' reads at their open of a file now. */
    private static Set<Thread> readersOpening() {
        return Thread.getAllStackTraces().entrySet().stream().filter(thread -> opening(thread.getValue())
                && Arrays.stream(thread.getValue()).anyMatch(frame -> frame.getMethodName().equals("readNoFurther")
                        && frame.getClassName().equals(BoundedFileReads.class.getName())))
                .map(Map.Entry::getKey).collect(Collectors.toSet());
    }

    private static boolean opening(StackTraceElement[] stack) {
        return Arrays.stream(stack).anyMatch(frame -> frame.getMethodName().startsWith("open")
                && frame.isNativeMethod());
    }
}
