package io.picotunnel.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A running hashicorp/yamux peer ({@code interop/go/peer}, built by {@link GoPeerBuild}) driven by line
 * commands on its stdin; its stdout lines are the events a test waits for. See the program's package comment
 * for the modes and commands. {@link #close()} ends the process (forcibly after 5 s).
 */
public final class GoPeer implements AutoCloseable {

    private static final Duration DEFAULT_WAIT = Duration.ofSeconds(30);
    private static final Pattern RESULT = Pattern.compile(
            "RESULT (\\S+) sent=(\\d+) sha_sent=(\\S+) recv=(\\d+) sha_recv=(\\S+) end=(\\S+)");

    private final Process process;
    private final OutputStream stdin;
    private final List<String> lines = new ArrayList<>();
    private final StringBuffer stderr = new StringBuffer();
    private int consumed;
    private boolean stdoutClosed;

    private GoPeer(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread out = new Thread(this::readStdout, "go-peer-stdout");
        out.setDaemon(true);
        out.start();
        Thread err = new Thread(this::readStderr, "go-peer-stderr");
        err.setDaemon(true);
        err.start();
    }

    /** Starts the peer with {@code args} (mode first), building it first if needed. */
    public static GoPeer start(String... args) {
        Path binary = GoPeerBuild.binary();
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(List.of(args));
        try {
            return new GoPeer(new ProcessBuilder(command).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the Go peer " + binary, e);
        }
    }

    /** What a stream opened with {@code OPEN} exchanged. */
    public record StreamResult(String id, long sent, String shaSent, long received, String shaReceived, String end) {

        /** True when everything sent came back unchanged and the stream ended cleanly. */
        public boolean echoedExactly() {
            return end.equals("eof") && received == sent && shaReceived.equals(shaSent);
        }
    }

    /** Sends one command line. */
    public void send(String command) {
        try {
            stdin.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("the Go peer is gone (" + describeExit() + ")", e);
        }
    }

    /**
     * Waits for the next line, not yet taken, that starts with {@code prefix}, and takes it. Lines before it
     * that do not match stay available. Fails with the peer's output when none comes within 30 s.
     */
    public String awaitLine(String prefix) {
        return awaitLine(prefix, DEFAULT_WAIT);
    }

    public synchronized String awaitLine(String prefix, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (int i = consumed; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line != null && line.startsWith(prefix)) {
                    lines.set(i, null);
                    while (consumed < lines.size() && lines.get(consumed) == null) {
                        consumed++;
                    }
                    return line;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || stdoutClosed) {
                throw new AssertionError("the Go peer printed no line starting with '" + prefix + "' within "
                        + timeout.toSeconds() + " s (" + describeExit() + ")\nstdout: " + lines + "\nstderr:\n" + stderr);
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for the Go peer", e);
            }
        }
    }

    /** The address in the {@code LISTENING host:port} line. */
    public String awaitListening() {
        return awaitLine("LISTENING ").substring("LISTENING ".length()).strip();
    }

    /** Sends {@code OPEN id nbytes target mode} and waits for its result. */
    public StreamResult open(String id, long bytes, String target, String mode) {
        send("OPEN " + id + " " + bytes + " " + (target == null ? "-" : target) + " " + mode);
        return awaitResult(id);
    }

    public StreamResult awaitResult(String id) {
        String line = awaitLine("RESULT " + id + " ", Duration.ofSeconds(60));
        Matcher m = RESULT.matcher(line);
        if (!m.matches()) {
            throw new AssertionError("unexpected result line from the Go peer: " + line);
        }
        return new StreamResult(m.group(1), Long.parseLong(m.group(2)), m.group(3), Long.parseLong(m.group(4)),
                m.group(5), m.group(6));
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to exit on its own and returns its exit code. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the Go peer did not exit within " + timeout.toSeconds() + " s\nstderr:\n" + stderr);
        }
        return process.exitValue();
    }

    /** SIGSTOP, as a hung process: the peer reads and writes nothing more, its socket stays open. */
    public void pause() throws IOException, InterruptedException {
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(process.pid())).redirectErrorStream(true).start();
        if (!stop.waitFor(30, TimeUnit.SECONDS) || stop.exitValue() != 0) {
            stop.destroyForcibly();
            throw new AssertionError("cannot stop the Go peer with kill -STOP");
        }
    }

    /** SIGKILL, as a crash or the OOM killer would: the peer closes nothing itself; waits until it is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the Go peer did not die within 30 s");
        }
    }

    public String stderr() {
        return stderr.toString();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                send("QUIT");
                stdin.close();
            } catch (IOException | UncheckedIOException ignored) {
                // already gone
            }
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private String describeExit() {
        return process.isAlive() ? "still running" : "exited with " + process.exitValue();
    }

    private void readStdout() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                synchronized (this) {
                    lines.add(line);
                    notifyAll();
                }
            }
        } catch (IOException ignored) {
            // the process ended
        } finally {
            synchronized (this) {
                stdoutClosed = true;
                notifyAll();
            }
        }
    }

    private void readStderr() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                stderr.append(line).append('\n');
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }
}
