package io.picotunnel.server.e2e;

import io.picotunnel.client.ClientMain;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * The real client ({@link ClientMain}) in a JVM of its own, as users run it, its output in a file. The token
 * goes in the environment, as {@code PICOTUNNEL_TOKEN}.
 */
final class ClientProcess implements AutoCloseable {

    /**
     * How long a client process may take to connect: a JVM of its own starts, loads Netty and the client, dials and
     * says who it is, which a 30 s wait did not see done on this 2-core machine at a load of 25.
     */
    static final Duration CONNECT_WAIT = Duration.ofSeconds(60);

    private final Process process;
    private final Path output;

    private ClientProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    static ClientProcess start(int tunnelPort, String token) {
        try {
            return start(tunnelPort, token, Files.createTempFile("client-process", ".log"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As {@link #start(int, String)}, its output in {@code output} (deleted by {@link #close()}). */
    static ClientProcess start(int tunnelPort, String token, Path output) {
        try {
            List<String> command = new ArrayList<>(List.of(javaCommand(), "-cp", System.getProperty("java.class.path")));
            command.addAll(leakDetectionOptions());
            command.addAll(List.of(ClientMain.class.getName(), "--server", "ws://127.0.0.1:" + tunnelPort,
                    "--shutdown-grace", "0s"));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            builder.environment().put("PICOTUNNEL_TOKEN", token);
            return new ClientProcess(builder.start(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGKILL, and wait until the process is gone (its sockets closed by the kernel). */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the client process did not die within 30 s");
        }
    }

    /**
     * Waits until {@code connected} says the process is connected, {@link #CONNECT_WAIT} at most; fails at once, with
     * its output, when the process ends first.
     */
    void awaitConnected(Callable<Boolean> connected) {
        await("the client process connected").atMost(CONNECT_WAIT).failFast(this::assertAlive).until(connected);
    }

    /** Fails, with its output, when the process ended. */
    void assertAlive() {
        if (!isAlive()) {
            throw new AssertionError("the client process ended (exit code " + exitCode() + "): " + log());
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code, or -1 while it runs. */
    int exitCode() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    String log() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(cannot read the client's output: " + e.getMessage() + ")";
        }
    }

    /**
     * Stops the process and fails when it reported a leaked buffer (Netty's leak detector logs "LEAK:" once a
     * buffer that was never released is collected): the end-to-end tests reach code paths of the client that no
     * in-process test does.
     */
    @Override
    public void close() throws IOException {
        if (process.isAlive()) {
            try {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String log = log();
        Files.deleteIfExists(output);
        if (log.contains("LEAK:")) {
            throw new AssertionError("the client process reported a leaked buffer:\n" + log);
        }
    }

    /**
     * The test JVM's leak detection settings (-Dio.netty.leakDetection.level=paranoid for an audit), for the client's,
     * with a small heap then: a leak is reported only once the buffer that leaked has been collected.
     */
    private static List<String> leakDetectionOptions() {
        List<String> options = new ArrayList<>();
        System.getProperties().stringPropertyNames().stream().filter(name -> name.startsWith("io.netty.leakDetection"))
                .sorted().forEach(name -> options.add("-D" + name + "=" + System.getProperty(name)));
        if (!options.isEmpty()) {
            options.add("-Xmx48m");
        }
        return options;
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
