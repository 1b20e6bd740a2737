package io.picotunnel.client;

import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The client as a process, as users run it, against a hashicorp/yamux WebSocket server. */
class ClientProcessTest {

    private static final String TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    private Process process;
    private GoPeer server;
    private TcpTarget held;
    private TcpTarget echo;
    private Path output;

    @AfterEach
    void tearDown() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : new AutoCloseable[] {server, held, echo}) {
            if (c != null) {
                c.close();
            }
        }
        if (output != null) {
            Files.deleteIfExists(output);
        }
    }

    @Test
    void sigtermRefusesNewStreamsLetsOpenOnesFinishThenExits() throws Exception {
        held = TcpTarget.heldUntilReleased(2000);
        echo = TcpTarget.echo();
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        String address = server.awaitListening();
        output = Files.createTempFile("client-process", ".log");
        ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-cp", System.getProperty("java.class.path"),
                ClientMain.class.getName(), "--server", "ws://" + address, "--shutdown-grace", "60s")
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().put("PICOTUNNEL_TOKEN", TOKEN);
        process = builder.start();
        server.awaitLine("CONNECTED");
        server.send("OPEN open 3000 " + held.address() + " recvfirst");
        await().atMost(Duration.ofSeconds(30)).until(() -> held.accepted() == 1);

        process.destroy(); // SIGTERM
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(output).contains("stopping: no new streams"));
        GoPeer.StreamResult late = server.open("late", 100, echo.address(), "echo");
        held.release();

        assertThat(late.end()).matches("reset|error:.*");
        GoPeer.StreamResult open = server.awaitResult("open");
        assertThat(open.end()).isEqualTo("eof");
        assertThat(open.received()).isEqualTo(2000);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("a stop asked for is a clean end").isZero();
        assertThat(Files.readString(output)).contains("stopped").doesNotContain(TOKEN);
    }

    @Test
    void ctrlCIsACleanStopToo() throws Exception {
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        String address = server.awaitListening();
        output = Files.createTempFile("client-process", ".log");
        ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-cp", System.getProperty("java.class.path"),
                ClientMain.class.getName(), "--server", "ws://" + address)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().put("PICOTUNNEL_TOKEN", TOKEN);
        process = builder.start();
        server.awaitLine("CONNECTED");

        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();

        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(Files.readString(output)).isZero();
        assertThat(Files.readString(output)).contains("shutdown requested", "stopped");
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
