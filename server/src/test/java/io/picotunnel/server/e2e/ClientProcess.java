package io.picotunnel.server.e2e;

import io.picotunnel.client.ClientMain;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The real client ({@link ClientMain}) in a JVM of its own, as users run it, its output in a file. The token
 * goes in the environment, as {@code PICOTUNNEL_TOKEN}.
 */
final class ClientProcess implements AutoCloseable {

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
            ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-cp", System.getProperty("java.class.path"),
                    ClientMain.class.getName(), "--server", "ws://127.0.0.1:" + tunnelPort, "--shutdown-grace", "0s")
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

    @Override
    public void close() throws IOException {
        if (process.isAlive()) {
            try {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Files.deleteIfExists(output);
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
