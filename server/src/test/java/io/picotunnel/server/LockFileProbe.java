package io.picotunnel.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Another process on a data directory's lock file, as another server would be: a child JVM that tries the lock and
 * says whether it was {@code held} or {@code free}, or takes it (writing its pid, as a server does, or its pid and
 * "restore", as a restore does) and holds it until its standard input is closed.
 */
public final class LockFileProbe {

    private static final long TIMEOUT_SECONDS = 30;

    /** Run in the child JVM: {@code try <file>}, {@code hold <file>} or {@code hold-restore <file>}. */
    public static void main(String[] args) throws IOException {
        Path file = Path.of(args[1]);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null || args[0].equals("try")) {
                System.out.println(lock == null ? "held" : "free");
                return;
            }
            long pid = ProcessHandle.current().pid();
            channel.truncate(0);
            String holder = pid + (args[0].equals("hold-restore") ? " restore" : "") + "\n";
            channel.write(ByteBuffer.wrap(holder.getBytes(StandardCharsets.US_ASCII)), 0);
            System.out.println("locked " + pid);
            System.out.flush();
            while (System.in.read() != -1) {
                // held until the test closes our standard input (or ends)
            }
        }
    }

    /** Whether another process finds the lock on {@code file} held or free: "held" or "free". */
    static String tryInAnotherProcess(Path file) {
        Process process = start("try", file);
        try {
            String answer = firstLine(process);
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("the probe did not end");
            }
            return answer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } finally {
            process.destroyForcibly();
        }
    }

    /** Another process holding the lock on {@code file} until closed, as a server does. */
    static Holder holdInAnotherProcess(Path file) {
        return hold("hold", file);
    }

    /** Another process holding the lock on {@code file} until closed, as a restore does. */
    static Holder holdAsARestoreInAnotherProcess(Path file) {
        return hold("hold-restore", file);
    }

    private static Holder hold(String mode, Path file) {
        Process process = start(mode, file);
        String answer = firstLine(process);
        if (!("locked " + process.pid()).equals(answer)) {
            process.destroyForcibly();
            throw new AssertionError("the child did not take the lock: " + answer);
        }
        return new Holder(process);
    }

    record Holder(Process process) implements AutoCloseable {

        long pid() {
            return process.pid();
        }

        @Override
        public void close() throws IOException {
            process.getOutputStream().close();
            try {
                if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Process start(String mode, Path file) {
        try {
            String classPath = Path.of(LockFileProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .toString();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            return new ProcessBuilder(List.of(java, "-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp", classPath,
                    LockFileProbe.class.getName(), mode, file.toString())).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(Process process) {
        BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return output.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            return line.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            throw new AssertionError("no answer from the probe", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
