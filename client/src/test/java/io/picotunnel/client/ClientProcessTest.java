package io.picotunnel.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    /**
     * A second Ctrl-C while open streams finish resets them and exits at once, as cloudflared's and docker compose's
     * do. The JVM ignored every signal after the first while the stop ran: the user waited out the grace period
     * (here five minutes) or reached for SIGKILL.
     */
    @Test
    void aSecondCtrlCResetsTheOpenStreamsAndExitsWithoutWaitingOutTheGracePeriod() throws Exception {
        held = TcpTarget.heldUntilReleased(2000);
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        process = startClient(Map.of(), "--server", "ws://" + server.awaitListening(), "--shutdown-grace", "5m");
        server.awaitLine("CONNECTED");
        server.send("OPEN open 3000 " + held.address() + " recvfirst");
        await().atMost(Duration.ofSeconds(30)).until(() -> held.accepted() == 1);

        signal("INT");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(output).contains("stopping: no new streams"));
        long first = System.nanoTime(); // after the client's own clock for the first signal started
        await("a second signal later than the same request").atMost(Duration.ofSeconds(10))
                .until(() -> System.nanoTime() - first > StopSignals.SAME_REQUEST.toNanos());
        signal("INT");

        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as(Files.readString(output)).isTrue();
        assertThat(process.exitValue()).as(Files.readString(output)).isZero();
        assertThat(server.awaitResult("open").end()).matches("reset|error:.*");
        assertThat(Files.readString(output)).contains("second signal: resetting the open streams now",
                "stopping now, resetting 1 open stream(s)", "stopped").doesNotContain("grace period over");
    }

    private void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    @Test
    void jsonLogFormatWritesOneJsonObjectPerLine() throws Exception {
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        process = startClient(server.awaitListening(), Map.of("PICOTUNNEL_LOG_FORMAT", "json"));
        server.awaitLine("CONNECTED");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(output).contains("connecting to"));

        process.destroy(); // SIGTERM
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> lines = Files.readAllLines(output).stream().filter(line -> !line.isBlank()).toList();
        List<JsonNode> entries = new ArrayList<>();
        for (String line : lines) {
            entries.add(new ObjectMapper().readTree(line));
        }
        assertThat(entries).anySatisfy(entry -> {
            assertThat(entry.path("level").asText()).isEqualTo("INFO");
            assertThat(entry.path("loggerName").asText()).isEqualTo(ClientMain.class.getName());
            assertThat(entry.path("formattedMessage").asText()).contains("connecting to ws://");
        });
        assertThat(String.join("\n", lines)).doesNotContain(TOKEN);
    }

    @Test
    void logLevelWarnLeavesOutTheInfoLinesAndAWrongFormatIsRefused() throws Exception {
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        String address = server.awaitListening();
        process = startClient(address, Map.of("PICOTUNNEL_LOG_LEVEL", "warn"));
        server.awaitLine("CONNECTED");
        process.destroy(); // SIGTERM
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(output)).doesNotContain(" INFO ");

        Process wrong = startClient(address, Map.of("PICOTUNNEL_LOG_FORMAT", "xml"));
        process = wrong;
        assertThat(wrong.waitFor(30, TimeUnit.SECONDS)).as("exits").isTrue();
        assertThat(wrong.exitValue()).isEqualTo(2);
        assertThat(Files.readString(output).strip())
                .isEqualTo("picotunnel-client: PICOTUNNEL_LOG_FORMAT must be 'text' or 'json', not 'xml'.");
    }

    @Test
    void aStreamWindowKeptToHalfTheSessionBufferLimitIsReportedOnceAtStart() throws Exception {
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN);
        process = startClient(server.awaitListening(), Map.of("PICOTUNNEL_LOG_FORMAT", "json",
                "PICOTUNNEL_MAX_STREAM_WINDOW", "8MiB", "PICOTUNNEL_SESSION_BUFFER_LIMIT", "1MiB"));
        server.awaitLine("CONNECTED");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(output).contains("connecting to"));
        process.destroy(); // SIGTERM
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

        List<JsonNode> reported = new ArrayList<>();
        for (String line : Files.readAllLines(output)) {
            JsonNode entry = new ObjectMapper().readTree(line);
            if (entry.path("formattedMessage").asText().startsWith("Stream windows grow")) {
                reported.add(entry);
            }
        }
        assertThat(reported).singleElement().satisfies(entry -> {
            assertThat(entry.path("level").asText()).isEqualTo("INFO");
            assertThat(entry.path("loggerName").asText()).isEqualTo(ClientMain.class.getName());
            assertThat(entry.path("formattedMessage").asText()).contains("at most 524288 bytes",
                    "--session-buffer-limit (1048576 bytes)", "--max-stream-window (8388608 bytes)");
        });
    }

    @Test
    void helpAndVersionPrintWhateverTheLoggingVariablesSay() throws Exception {
        Map<String, String> wrong = Map.of("PICOTUNNEL_LOG_FORMAT", "xml", "PICOTUNNEL_LOG_LEVEL", "loud");
        Process help = startClient(wrong, "--help");
        assertThat(help.waitFor(30, TimeUnit.SECONDS)).as("exits").isTrue();
        assertThat(help.exitValue()).as(Files.readString(output)).isZero();
        assertThat(Files.readString(output)).contains("Usage: picotunnel-client", "PICOTUNNEL_LOG_FORMAT");

        Process version = startClient(wrong, "--version");
        assertThat(version.waitFor(30, TimeUnit.SECONDS)).as("exits").isTrue();
        assertThat(version.exitValue()).as(Files.readString(output)).isZero();
        assertThat(Files.readString(output)).startsWith("picotunnel-client ");

        Process run = startClient(Map.of("PICOTUNNEL_LOG_LEVEL", "loud"), "--server", "ws://127.0.0.1:9");
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).as("exits").isTrue();
        assertThat(run.exitValue()).isEqualTo(2);
        assertThat(Files.readString(output).strip()).isEqualTo("picotunnel-client: PICOTUNNEL_LOG_LEVEL must be one"
                + " of trace, debug, info, warn, error or off, not 'loud'.");
    }

    /** The client as a process with {@code env} on top of the token, its output (both streams) in {@link #output}. */
    private Process startClient(String address, Map<String, String> env) throws Exception {
        return startClient(env, "--server", "ws://" + address, "--shutdown-grace", "0s");
    }

    /** As {@link #startClient(String, Map)}, with {@code args} as its command line. */
    private Process startClient(Map<String, String> env, String... args) throws Exception {
        if (output == null) {
            output = Files.createTempFile("client-process", ".log");
        }
        // the launcher's flags, without which the JVM writes its own WARNING lines to the same output
        List<String> command = new ArrayList<>(List.of(javaCommand(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                ClientMain.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().remove("PICOTUNNEL_LOG_FORMAT");
        builder.environment().remove("PICOTUNNEL_LOG_LEVEL");
        builder.environment().put("PICOTUNNEL_TOKEN", TOKEN);
        builder.environment().putAll(env);
        return builder.start();
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
