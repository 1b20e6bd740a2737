package io.picotunnel.client;

import ch.qos.logback.classic.Level;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

class ClientMainTest {

    /**
     * The server of the tests that end on a configuration error: not a loopback address, so that the proxy settings
     * apply to it (a loopback server never goes through a proxy), and a name only this JVM's resolver answers
     * ({@link io.picotunnel.client.tunnel.SlowDnsResolverProvider}), with no address: a client that went on to connect
     * anyway would send no DNS query and reach no host.
     */
    private static final String UNREACHABLE_SERVER = "tunnel.nxdomain.test:8443";

    /** How long a run that should end on a configuration error may take. */
    private static final Duration RUN_LIMIT = Duration.ofSeconds(30);

    private HttpServer server;
    private Process process;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void helpListsFlagsEnvironmentAndExitCodes() {
        Run run = run(Map.of(), "--help");

        assertThat(run.code()).isZero();
        assertThat(run.out()).contains("--server", "--token", "--insecure", "--allow", "--shutdown-grace",
                "--dial-timeout", "--connect-timeout", "PICOTUNNEL_SERVER", "PICOTUNNEL_TOKEN", "PICOTUNNEL_INSECURE", "Exit codes",
                "the server rejected the token (HTTP 401)");
        assertThat(run.out()).containsPattern("\\n\\s+3\\s+the server rejected the token")
                .containsPattern("\\n\\s+0\\s+stopped by SIGTERM or Ctrl-C").doesNotContain("143");
    }

    /** The description and footer, broken by hand, were wrapped again at 80 columns: "the server" alone on a line. */
    @Test
    void helpAtEightyColumnsReadsAsWrappedParagraphs() {
        Run run = run(Map.of(), "--help");

        assertThat(run.out().lines()).allMatch(line -> line.length() <= 80);
        assertThat(io.picotunnel.testkit.HelpLayout.linesEndingEarly(run.out(), 80)).isEmpty();
    }

    /** picocli broke lines after a colon inside an address: "wss://host:" / "port", "http://[user:" / "password@]". */
    @Test
    void helpNeverBreaksALineInsideAUrlOrAHostPort() {
        Run run = run(Map.of(), "--help");

        assertThat(io.picotunnel.testkit.HelpLayout.linesBreakingAnAddress(run.out())).isEmpty();
    }

    /** The help said "a second signal ends it", yet one within {@link StopSignals#SAME_REQUEST} of the first is ignored. */
    @Test
    void shutdownGraceHelpGivesTheWindowOfTheSameRequest() {
        Run run = run(Map.of(), "--help");

        assertThat(run.out().replaceAll("\\s+", " ")).contains("a second signal "
                + Durations.format(StopSignals.SAME_REQUEST) + " or more after the first ends it at once; one sooner is"
                + " the same request.");
    }

    /** As --shutdown-grace's: a second signal within the window of the first is the same request, not the end. */
    @Test
    void theExitCodesGiveTheWindowOfTheSameRequest() {
        Run run = run(Map.of(), "--help");

        assertThat(run.out().replaceAll("\\s+", " ")).contains("the grace period ended or a second signal "
                + Durations.format(StopSignals.SAME_REQUEST) + " or more after the first 1 unexpected error");
    }

    /** picocli wraps where the JDK's line breaking allows, after a dot too: "tunnel." / "example.com". */
    @Test
    void helpNeverBreaksALineInsideAHostName() {
        String help = run(Map.of(), "--help").out();

        assertThat(io.picotunnel.testkit.HelpLayout.linesBreakingAHostName(help)).isEmpty();
        assertThat(help).doesNotContain(String.valueOf(io.picotunnel.protocol.config.UnbrokenNames.HELD_DOT));
    }

    @Test
    void versionIsPrinted() {
        Run run = run(Map.of(), "--version");

        assertThat(run.code()).isZero();
        assertThat(run.out()).startsWith("picotunnel-client ");
    }

    @Test
    void missingServerExitsWithUsageCodeAndSaysWhatToDo() {
        Run run = run(Map.of("PICOTUNNEL_TOKEN", "t"));

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err().strip()).isEqualTo("picotunnel-client: Invalid --server (PICOTUNNEL_SERVER): no server"
                + " given; pass --server host:port or set PICOTUNNEL_SERVER.");
    }

    @Test
    void missingTokenExitsWithUsageCodeAndSaysWhatToDo() {
        Run run = run(Map.of(), "--server", UNREACHABLE_SERVER);

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err()).contains("Invalid --token (PICOTUNNEL_TOKEN): no token given; pass --token or set"
                + " PICOTUNNEL_TOKEN");
    }

    @Test
    void aTokenThatCannotBeSentExitsWithUsageCodeNamingFlagAndVariableNotTheToken() {
        Run fromEnvironment = run(Map.of("PICOTUNNEL_TOKEN", "s3cret w0rd"), "--server", UNREACHABLE_SERVER);
        Run fromFlag = run(Map.of(), "--server", UNREACHABLE_SERVER, "--token", "s3cret w0rd");

        for (Run run : new Run[] {fromEnvironment, fromFlag}) {
            assertThat(run.code()).as(run.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err().strip()).isEqualTo("picotunnel-client: Invalid --token (PICOTUNNEL_TOKEN): the token"
                    + " must be at most 1024 printable ASCII characters without spaces.");
        }
    }

    @Test
    void invalidServerExitsWithUsageCode() {
        Run run = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", "ftp://" + UNREACHABLE_SERVER);

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err()).contains("--server");
    }

    @Test
    void aHostNameTheServerWouldRefuseExitsWithUsageCodeInOneSentenceNamingTheFlagAndTheVariable() {
        for (String name : new String[] {"-bad-", "a..b", "a".repeat(64) + ".example",
            ("a".repeat(60) + ".").repeat(4) + "a".repeat(10)}) {
            Run allow = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--allow", name + ":80");
            Run server = run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_SERVER", "wss://" + name + ":443"));

            assertThat(allow.code()).as(allow.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(allow.err().strip()).as(name).startsWith("picotunnel-client: Invalid --allow (PICOTUNNEL_ALLOW): "
                    + ControlCharacters.quoted(name + ":80") + " has an invalid host name: ").doesNotContain("\n").doesNotContain("Exception");
            assertThat(server.code()).as(server.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(server.err().strip()).as(name).startsWith("picotunnel-client: Invalid --server (PICOTUNNEL_SERVER):"
                    + " server address " + ControlCharacters.quoted(name + ":443") + " has an invalid host name: ").doesNotContain("Exception");
        }
    }

    @Test
    void anAddressWithoutAHostExitsWithUsageCodeInOneSentenceNamingTheFlagAndTheVariable() {
        Run allow = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--allow", ":8080");
        Run server = run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_SERVER", ":8443"));

        assertThat(allow.code()).as(allow.err()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(allow.err().strip()).isEqualTo("picotunnel-client: Invalid --allow (PICOTUNNEL_ALLOW): ':8080' has no"
                + " host; write host:port, for example localhost:8080.");
        assertThat(server.code()).as(server.err()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(server.err().strip()).isEqualTo("picotunnel-client: Invalid --server (PICOTUNNEL_SERVER): server"
                + " address ':8443' has no host; write host:port, for example localhost:8443.");
    }

    @Test
    void aGraceTooLongToCountExitsWithUsageCodeNotAStackTrace() {
        Run run = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER,
                "--shutdown-grace", "9223372036854775807m");

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err()).contains("--shutdown-grace").doesNotContain("Exception");
    }

    @Test
    void aDialOrConnectTimeoutThatIsNoDurationOrNotMoreThanZeroExitsWithUsageCodeSayingWhy() {
        String[][] cases = {
            {"--dial-timeout", "soon", "Invalid --dial-timeout (PICOTUNNEL_DIAL_TIMEOUT): 'soon' is not a duration"},
            {"--dial-timeout", "0s", "Invalid --dial-timeout (PICOTUNNEL_DIAL_TIMEOUT): it must be greater than zero."},
            {"--connect-timeout=-1s", null, "Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): '-1s' is not a duration"},
            {"--connect-timeout", "0", "Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): it must be greater than zero."}};
        for (String[] bad : cases) {
            String[] args = bad[1] == null ? new String[] {"--server", UNREACHABLE_SERVER, bad[0]}
                    : new String[] {"--server", UNREACHABLE_SERVER, bad[0], bad[1]};
            Run run = run(Map.of("PICOTUNNEL_TOKEN", "t"), args);

            assertThat(run.code()).as(bad[2]).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err()).as(bad[2]).contains(bad[2]).doesNotContain("Exception");
        }
        Run fromEnvironment = run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_CONNECT_TIMEOUT", "soon"),
                "--server", UNREACHABLE_SERVER);
        assertThat(fromEnvironment.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(fromEnvironment.err())
                .contains("Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): 'soon' is not a duration");
    }

    @Test
    void aGraceOrThreadCountOutOfRangeExitsWithUsageCodeNamingTheFlagAndTheVariable() {
        Run grace = run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_SHUTDOWN_GRACE", "400d"), "--server", UNREACHABLE_SERVER);
        Run threads = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--target-threads", "300");

        assertThat(grace.code()).as(grace.err()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(grace.err().strip()).isEqualTo("picotunnel-client: Invalid --shutdown-grace"
                + " (PICOTUNNEL_SHUTDOWN_GRACE): it must be at most a year (31536000s).");
        assertThat(threads.code()).as(threads.err()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(threads.err().strip()).isEqualTo("picotunnel-client: Invalid --target-threads"
                + " (PICOTUNNEL_TARGET_THREADS): '300' is not a whole number from 0 to 256.");
    }

    @Test
    void aSizeTooLargeForALongExitsWithUsageCodeNotAStackTrace() {
        Run run = run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER,
                "--session-window-budget", "9999999999GiB");

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err()).contains("--session-window-budget").doesNotContain("Exception");
    }

    @Test
    void argumentsThatMatchNoFlagAreNotEchoedSoATokenStaysOutOfTheLog() {
        String token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
        // The token without --token, after a flag that takes no value, and after a misspelt --token=.
        for (String[] args : new String[][] {{"--server", "h:8443", token}, {"--server", "h:8443", "--insecure", token},
            {"--server=h:8443", "--tokn=" + token}, {"--server", "h:8443", "--tokn", token}}) {
            Run run = run(Map.of(), args);

            assertThat(run.code()).as(String.join(" ", args)).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err()).as(String.join(" ", args)).doesNotContain(token).doesNotContain("a1b2c3")
                    .contains("--help");
        }
        assertThat(run(Map.of(), "--server=h:8443", "--tokn=" + token).err()).contains("--tokn");
        assertThat(run(Map.of(), "--server", "h:8443", "--insecure", token).err())
                .contains("1 argument not understood: argument 4 belongs to no flag", "--token TOKEN");
    }

    @Test
    void aMisspeltFlagIsOneLineSayingWhichFlagItMeant() {
        Run run = run(Map.of(), "--sever", "h:8443", "--token", "t");

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err().lines().toList()).containsExactly("picotunnel-client: 2 arguments not understood: unknown"
                + " flag --sever (argument 1; did you mean --server?); argument 2 belongs to no flag (not shown: it may"
                + " be a secret; a value goes right after its flag, as in --token TOKEN) (see --help)");
    }

    @Test
    void aYesNoFlagGivenAnotherValueExitsWithUsageCodeNamingTheFlagAndTheValuesItTakesNotTheValue() {
        String expected = "picotunnel-client: Invalid --insecure (PICOTUNNEL_INSECURE): it must be true or false"
                + " (or yes/no, on/off, 1/0).";
        // A secret given to the flag by mistake, attached, and in the variable.
        for (Run run : new Run[] {
            run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--insecure=secretvalue123"),
            run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_INSECURE", "secretvalue123"), "--server", UNREACHABLE_SERVER)}) {
            assertThat(run.code()).as(run.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.out() + run.err()).doesNotContain("secretvalue123");
            assertThat(run.err().strip()).isEqualTo(expected);
        }
    }

    @Test
    void aProxyPasswordWithARawSlashExitsWithUsageCodeAskingToPercentEncodeAndNeverShowsIt() {
        for (Run run : new Run[] {
            run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--proxy", "http://user:s3cr/et@127.0.0.1:3128"),
            run(Map.of("PICOTUNNEL_TOKEN", "t", "HTTPS_PROXY", "http://user:s3cr?et@127.0.0.1:3128"),
                    "--server", UNREACHABLE_SERVER)}) {
            assertThat(run.code()).as(run.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err()).contains("percent-encode").doesNotContain("s3cr").doesNotContain("Exception");
        }
    }

    @Test
    void aProxyFlagOrPicotunnelProxyWithAnUnsupportedSchemeExitsWithUsageCode() {
        for (Run run : new Run[] {
            run(Map.of("PICOTUNNEL_TOKEN", "t"), "--server", UNREACHABLE_SERVER, "--proxy", "socks4://u:s3cret@127.0.0.1:1080"),
            run(Map.of("PICOTUNNEL_TOKEN", "t", "PICOTUNNEL_PROXY", "socks4a://127.0.0.1:1080"), "--server", UNREACHABLE_SERVER)}) {
            assertThat(run.code()).as(run.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err()).contains("is not supported").doesNotContain("s3cret").doesNotContain("Exception");
        }
    }

    @Test
    void aStandardProxyVariableTheClientCannotUseExitsWithUsageCodeSayingHowToGoOn() {
        for (String value : new String[] {"socks4://u:s3cret@127.0.0.1:1080", "http://u:s3cret@127.0.0.1:x",
            "socks5://:s3cret@127.0.0.1:1080"}) {
            Run run = run(Map.of("PICOTUNNEL_TOKEN", "t", "HTTPS_PROXY", value), "--server", UNREACHABLE_SERVER);

            assertThat(run.code()).as(run.err()).isEqualTo(ClientMain.EXIT_USAGE);
            assertThat(run.err()).as(value).contains("HTTPS_PROXY").contains("PICOTUNNEL_PROXY (or --proxy)")
                    .contains("to none to connect to wss://" + UNREACHABLE_SERVER + " directly").doesNotContain("s3cret")
                    .doesNotContain("Exception");
        }
    }

    @Test
    void unknownFlagExitsWithUsageCode() {
        Run run = run(Map.of(), "--no-such-flag");

        assertThat(run.code()).isEqualTo(ClientMain.EXIT_USAGE);
        assertThat(run.err()).contains("--no-such-flag");
    }

    @Test
    void rejectedTokenExitsWithDistinctCodeAndNeverLogsTheToken() throws Exception {
        List<String> requests = new CopyOnWriteArrayList<>();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()
                    + " auth=" + exchange.getRequestHeaders().getFirst("Authorization")
                    + " protocol=" + exchange.getRequestHeaders().getFirst("Sec-WebSocket-Protocol"));
            byte[] body = "{\"error\":\"unauthorized\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(401, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        String token = "0123456789abcdef-secret-token";
        Path output = Files.createTempFile("client-output", ".log");

        ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-cp", System.getProperty("java.class.path"),
                ClientMain.class.getName(), "--server", "ws://127.0.0.1:" + server.getAddress().getPort())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().put("PICOTUNNEL_TOKEN", token);
        process = builder.start();

        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("client exits").isTrue();
        String log = Files.readString(output);
        Files.delete(output);
        assertThat(process.exitValue()).as(log).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
        assertThat(log).contains("rejected the token (HTTP 401)").doesNotContain(token);
        assertThat(requests).contains("GET /tunnel auth=Bearer " + token + " protocol=tunnel");
    }

    @Test
    void aQuotedTokenIsWarnedAboutNamingDockerRunEnvFileNotCompose() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "{\"error\":\"unauthorized\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(401, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();

        try (LogCapture log = new LogCapture(ClientMain.class, Level.INFO)) {
            Run run = run(Map.of("PICOTUNNEL_TOKEN", "\"abc123\""),
                    "--server", "ws://127.0.0.1:" + server.getAddress().getPort());

            assertThat(run.code()).isEqualTo(ClientMain.EXIT_TOKEN_REJECTED);
            assertThat(log.messages(Level.WARN)).anySatisfy(m -> assertThat(m)
                    .contains("the token is in quotes (PICOTUNNEL_TOKEN)")
                    .contains("docker run --env-file keeps them")
                    .contains("Compose's env_file and systemd's EnvironmentFile take them off")
                    .doesNotContain("abc123"));
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = ClientMain.commandLine(env);
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        // On a thread of its own and bounded: a client that went on past the configuration error a test expects would
        // retry its connection for ever, and the test would hang instead of failing.
        FutureTask<Integer> execution = new FutureTask<>(() -> cmd.execute(args));
        Thread thread = new Thread(execution, "client-main-under-test");
        thread.setDaemon(true);
        thread.start();
        try {
            int code = execution.get(RUN_LIMIT.toSeconds(), TimeUnit.SECONDS);
            return new Run(code, out.toString(), err.toString());
        } catch (TimeoutException e) {
            thread.interrupt();
            throw new AssertionError("the client did not exit within " + RUN_LIMIT.toSeconds() + " s; it said: " + err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause());
        }
    }
}
