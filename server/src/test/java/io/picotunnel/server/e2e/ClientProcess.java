package io.picotunnel.server.e2e;

import io.picotunnel.client.ClientMain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Our tunnel client in a JVM of its own, as users run it, so that a test can kill it with SIGKILL. */
final class ClientProcess implements AutoCloseable {

    private final Process process;

    private ClientProcess(Process process) {
        this.process = process;
    }

    /**
     * Starts {@code picotunnel-client --server ws://127.0.0.1:tunnelPort} with the token in its environment; its
     * output goes to {@code log}.
     */
    static ClientProcess start(int tunnelPort, String token, Path log) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-cp", System.getProperty("java.class.path"),
                ClientMain.class.getName(), "--server", "ws://127.0.0.1:" + tunnelPort)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("PICOTUNNEL_TOKEN", token);
        return new ClientProcess(builder.start());
    }

    /** SIGKILL: the process gets no chance to close anything; its kernel closes its sockets. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("client process ended").isTrue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.onExit().orTimeout(30, TimeUnit.SECONDS).join();
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
