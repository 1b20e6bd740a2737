package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.protocol.config.LogSettings;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.testkit.ImmutableFile;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.server.store.DamagedDatabases;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.tls.BrokenKeys;
import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line, run in-process with captured output. */
class ServerMainTest {

    @TempDir
    Path dir;

    record Run(int exitCode, String out, String err) {
    }

    private Run run(Map<String, String> env, Consumer<PicoTunnelServer> whileRunning, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ServerMain.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), whileRunning);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Run run(String... args) {
        return run(Map.of(), server -> { }, args);
    }

    /** Ephemeral loopback addresses for every listener (so nothing binds a fixed port), then {@code overrides}. */
    private List<String> loopback(String... overrides) {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("--data", dir.resolve("data").toString());
        for (String flag : List.of("--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr")) {
            flags.put(flag, "127.0.0.1:0");
        }
        for (int i = 0; i < overrides.length; i += 2) {
            flags.put(overrides[i], overrides[i + 1]);
        }
        List<String> args = new ArrayList<>();
        flags.forEach((flag, value) -> {
            args.add(flag);
            args.add(value);
        });
        return args;
    }

    private static void assertOneSentence(String err) {
        assertThat(err.strip()).doesNotContain("\n").doesNotContain("Exception").doesNotContain("\tat ").endsWith(".");
    }

    /**
     * {@code --data ""} (a variable in a script that was not set) quietly became the default ./data, or
     * PICOTUNNEL_DATA_DIR: a server with no data where its operator put them.
     */
    @Test
    void anEmptyDataFlagIsAStartUpErrorNamingTheSetting() {
        List<String> started = new ArrayList<>();

        Run run = run(Map.of("PICOTUNNEL_DATA_DIR", dir.resolve("from-the-environment").toString()),
                server -> started.add("started"), loopback("--data", "").toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err().strip()).isEqualTo("Invalid --data (PICOTUNNEL_DATA_DIR): --data is empty; name the data"
                + " directory, or leave the flag out for PICOTUNNEL_DATA_DIR or the default ./data.");
        assertThat(started).isEmpty();
        assertThat(dir.resolve("from-the-environment")).doesNotExist();
    }

    @Test
    void helpListsEveryFlagWithItsVariable() {
        Run help = run("--help");

        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("--data", "--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr",
                "--domain", "PICOTUNNEL_DATA_DIR", "PICOTUNNEL_LISTEN_ADDR", "PICOTUNNEL_ADMIN_TOKEN", "--version");
    }

    /** The footer's backup sentence, broken by hand, left "--help);" alone on a line at 80 columns. */
    @Test
    void helpAtEightyColumnsReadsAsWrappedParagraphs() {
        Run help = run("--help");

        assertThat(help.out().lines()).allMatch(line -> line.length() <= 80);
        assertThat(io.picotunnel.testkit.HelpLayout.linesEndingEarly(help.out(), 80)).isEmpty();
        // picocli breaks a line after the first dot of "e.g.", leaving "e." and "g. 30s" on two lines.
        assertThat(help.out()).doesNotContainPattern("(?m)\\be\\.$");
    }

    /** picocli breaks a line after a dot or a colon inside a word, which would cut an address in two. */
    @Test
    void helpNeverBreaksALineInsideAUrlOrAHostPort() {
        Run help = run("--help");

        assertThat(io.picotunnel.testkit.HelpLayout.linesBreakingAnAddress(help.out())).isEmpty();
    }

    @Test
    void versionPrintsTheVersion() {
        Run version = run("--version");
        assertThat(version.exitCode()).isZero();
        assertThat(version.out().strip()).isEqualTo("picotunnel-server " + Version.get());
    }

    /** picocli wraps where the JDK's line breaking allows, after a dot too: "tunnel." / "example.com". */
    @Test
    void helpNeverBreaksALineInsideAHostName() {
        String help = run("--help").out();

        assertThat(io.picotunnel.testkit.HelpLayout.linesBreakingAHostName(help)).isEmpty();
        assertThat(help).doesNotContain(String.valueOf(io.picotunnel.protocol.config.UnbrokenNames.HELD_DOT));
    }

    @Test
    void helpAndVersionPrintWhateverTheLoggingVariablesSayAndARunRefusesAWrongOne() throws Exception {
        Map<String, String> wrong = Map.of(LogSettings.FORMAT_VARIABLE, "xml", LogSettings.LEVEL_VARIABLE, "loud");
        Run help = process(wrong, "--help");
        assertThat(help.exitCode()).as(help.out()).isZero();
        assertThat(help.out()).contains("Usage: picotunnel-server", "PICOTUNNEL_DATA_DIR");
        Run version = process(wrong, "--version");
        assertThat(version.exitCode()).as(version.out()).isZero();
        assertThat(version.out().strip()).isEqualTo("picotunnel-server " + Version.get());
        for (String subcommand : List.of(BackupCommand.NAME, RestoreCommand.NAME)) {
            Run subcommandHelp = process(wrong, subcommand, "--help");
            assertThat(subcommandHelp.exitCode()).as(subcommandHelp.out()).isZero();
            assertThat(subcommandHelp.out()).contains("Usage: picotunnel-server " + subcommand);
        }

        Run server = process(Map.of(LogSettings.FORMAT_VARIABLE, "xml"), "--data", dir.resolve("data").toString());
        assertThat(server.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(server.out().strip()).isEqualTo("PICOTUNNEL_LOG_FORMAT must be 'text' or 'json', not 'xml'.");
        Run restore = process(Map.of(LogSettings.LEVEL_VARIABLE, "loud"), RestoreCommand.NAME, "--data",
                dir.resolve("data").toString(), dir.resolve("backup.db").toString());
        assertThat(restore.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(restore.out().strip()).isEqualTo("PICOTUNNEL_LOG_LEVEL must be one of trace, debug, info, warn,"
                + " error or off, not 'loud'.");
        assertThat(dir.resolve("data")).as("nothing started").doesNotExist();
    }

    /**
     * ServerMain as a process, as the launcher runs it, with {@code env} on top; its output is both streams. Its
     * sqlite-jdbc extracts the native library under {@link #sqliteTemp}, its org.sqlite.tmpdir.
     */
    private Run process(Map<String, String> env, String... args) throws Exception {
        return process(SqliteTempFiles.OPERATORS, env, args);
    }

    /** {@link #process(Map, String...)}, given {@link #sqliteTemp} by the property {@code temp}. */
    private Run process(String temp, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                SqliteTempFiles.prepare(sqliteTemp(), temp), "-cp", System.getProperty("java.class.path"),
                ServerMain.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Run(process.exitValue(), output, output);
    }

    @Test
    void aStreamWindowKeptToHalfTheSessionBufferLimitIsReportedOnceAtStart() {
        try (LogCapture logged = new LogCapture("io.picotunnel", null)) {
            Run run = run(Map.of("PICOTUNNEL_SESSION_BUFFER_LIMIT", "4MiB"), server -> { },
                    loopback().toArray(String[]::new));
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(logged.events()).filteredOn(e -> e.getFormattedMessage().startsWith("Stream windows grow"))
                    .singleElement().satisfies(e -> {
                        assertThat(e.getLevel()).isEqualTo(Level.INFO);
                        assertThat(e.getLoggerName()).isEqualTo(PicoTunnelServer.class.getName());
                        assertThat(e.getFormattedMessage()).contains("at most 2097152 bytes",
                                "--session-buffer-limit (4194304 bytes)", "--max-stream-window (16777216 bytes)");
                    });
        }
    }

    @Test
    void aUrlSettingWhoseHostIsBeyondAsciiStartsWithItsXnFormInTheLog() {
        try (LogCapture logged = new LogCapture("io.picotunnel", null)) {
            Run run = run(Map.of("PICOTUNNEL_WEBHOOK_URL", "http://hooks.b\u00fccher.invalid/T0KEN"), server -> { },
                    loopback().toArray(String[]::new));
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(logged.messages(Level.INFO)).contains("--webhook-url (PICOTUNNEL_WEBHOOK_URL), entry 1: its host"
                    + " is used in its ASCII form, hooks.xn--bcher-kva.invalid");
        }
    }

    /** docker run --env-file keeps the quotes of PICOTUNNEL_ADMIN_TOKEN="...": signing in with what is inside got 401. */
    @Test
    void anAdminTokenInQuotesFromTheEnvironmentIsUsedWithoutThemWithAWarningThatDoesNotShowIt() {
        String token = "0123456789abcdef0123";
        try (LogCapture logged = new LogCapture("io.picotunnel", null)) {
            List<String> adminTokens = new ArrayList<>();
            Run run = run(Map.of("PICOTUNNEL_ADMIN_TOKEN", "\"" + token + "\""),
                    server -> adminTokens.add(server.adminToken()), loopback().toArray(String[]::new));
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(adminTokens).containsExactly(token);
            assertThat(logged.messages(Level.WARN)).anySatisfy(m -> assertThat(m)
                    .startsWith("the token is in quotes (PICOTUNNEL_ADMIN_TOKEN), as docker run --env-file keeps them"));
            assertThat(logged.events()).allSatisfy(e -> assertThat(e.getFormattedMessage()).doesNotContain(token));
        }
    }

    @Test
    void portInUseIsOneClearSentenceAndExitCode1() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<String> args = loopback("--listen-addr", "127.0.0.1:" + taken.getLocalPort());

            Run run = run(args.toArray(String[]::new));

            assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err()).startsWith("Port " + taken.getLocalPort() + " is already in use (--listen-addr");
            assertThat(run.err()).contains("PICOTUNNEL_LISTEN_ADDR");
            assertOneSentence(run.err());
            assertThat(run.out()).doesNotContain("admin token");
            assertThat(dir.resolve("data").resolve("admin-token")).doesNotExist();
        }
    }

    /**
     * The tunnel, HTTP and HTTPS listeners (Netty's: with epoll a bind in use fails with errno 98, no BindException)
     * on a port in use give the same sentence as the API's listener.
     */
    @ParameterizedTest
    @ValueSource(strings = {"--tunnel-addr", "--http-addr", "--https-addr"})
    void portInUseOfAnyListenerIsTheSameClearSentence(String flag) throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<String> args = loopback(flag, "127.0.0.1:" + taken.getLocalPort());

            Run run = run(args.toArray(String[]::new));

            assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err()).startsWith("Port " + taken.getLocalPort() + " is already in use (" + flag + " ");
            assertOneSentence(run.err());
        }
    }

    /**
     * A listener's host name that does not resolve (a typo such as {@code locahost:8080}) said "null" (tunnel, HTTP,
     * HTTPS) or, for the API, Javalin's "Port already in use", which sent the operator looking for another program.
     */
    @ParameterizedTest
    @ValueSource(strings = {"--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr"})
    void aListenerHostNameThatDoesNotResolveIsOneSentenceSayingSo(String flag) {
        List<String> args = loopback(flag, "nowhere.invalid:0");

        Run run = run(args.toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(run.err().strip()).startsWith("Cannot listen on nowhere.invalid:0 (" + flag + "): the host name"
                + " nowhere.invalid does not resolve to an address; give an address of this machine (127.0.0.1, or"
                + " leave the host out, :0, for every interface)").doesNotContain("null").doesNotContain("in use");
        assertOneSentence(run.err());
    }

    /**
     * A TLS key (PICOTUNNEL_TLS_KEY) that is damaged, encrypted or a certificate is one sentence naming it, not
     * BouncyCastle's unchecked exceptions with a stack trace.
     */
    @Test
    void aTlsKeyFileThatHoldsNoUsableKeyIsOneSentenceNamingIt() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        TestCertificates.write(issued, dir.resolve("operator"), "tunnel");
        Path certificate = dir.resolve("operator/tunnel.crt");
        int i = 0;
        for (Map.Entry<String, String> broken : BrokenKeys.of(issued).entrySet()) {
            Path key = dir.resolve("operator/broken" + i++ + ".key");
            Files.writeString(key, broken.getValue());
            List<String> args = loopback("--domain", "tunnel.test", "--tls-cert", certificate.toString(),
                    "--tls-key", key.toString());

            Run run = run(args.toArray(String[]::new));

            assertThat(run.exitCode()).as(broken.getKey() + ": " + run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err()).as(broken.getKey()).startsWith("Cannot use the TLS certificate for tunnel.test: " + key)
                    .contains("PICOTUNNEL_TLS_KEY");
            assertOneSentence(run.err());
        }
    }

    @Test
    void badAddressIsOneClearSentenceAndExitCode2() {
        Run run = run("--data", dir.toString(), "--listen-addr", "localhost");

        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).startsWith("Invalid --listen-addr (PICOTUNNEL_LISTEN_ADDR): 'localhost' is not of the form host:port");
        assertOneSentence(run.err());
    }

    @Test
    void oidcWithoutAnAllowListRefusesToStartUnlessAllowAllIsSet() {
        Map<String, String> oidc = Map.of("PICOTUNNEL_OIDC_ISSUER", "http://127.0.0.1:9/issuer",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel",
                "PICOTUNNEL_OIDC_REDIRECT_URL", "http://localhost:8080/auth/callback");
        Run refused = run(oidc, server -> { }, loopback().toArray(String[]::new));

        assertThat(refused.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(refused.err()).contains("without an allow list").contains("PICOTUNNEL_OIDC_ALLOWED_EMAILS")
                .contains("PICOTUNNEL_OIDC_ALLOW_ALL=true").doesNotContain("null");
        assertOneSentence(refused.err());

        Map<String, String> allowAll = new java.util.HashMap<>(oidc);
        allowAll.put("PICOTUNNEL_OIDC_ALLOW_ALL", "true");
        Run started = run(allowAll, server -> assertThat(server.apiPort()).isPositive(), loopback().toArray(String[]::new));
        assertThat(started.exitCode()).as(started.err()).isZero();
    }

    @Test
    void anExampleAcmeEmailIsOneClearSentenceAndExitCode2() {
        Run run = run(Map.of("PICOTUNNEL_ACME_ENABLED", "true", "PICOTUNNEL_ACME_EMAIL", "admin@example.com"),
                server -> { }, loopback().toArray(String[]::new));

        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).startsWith("Invalid --acme-email (PICOTUNNEL_ACME_EMAIL): 'admin@example.com' is an"
                + " example address and Let's Encrypt refuses accounts with a contact at example.com, so no certificate"
                + " would be issued; set your own e-mail address, or leave it unset for an account without a contact.");
        assertOneSentence(run.err());
    }

    @Test
    void badVariableIsReportedLikeABadFlag() {
        Run run = run(Map.of("PICOTUNNEL_HTTPS_ADDR", ":99999"), server -> { }, "--data", dir.toString());

        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).startsWith("Invalid --https-addr (PICOTUNNEL_HTTPS_ADDR): port 99999 is out of range");
    }

    @Test
    void aDatabaseThatIsNotOneIsExitCode3SoServiceManagersStopRestartingAndTheFileIsKept() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        byte[] garbage = "this is not an SQLite database, and restarting will not make it one".repeat(100)
                .getBytes(StandardCharsets.UTF_8);
        Files.write(database, garbage);

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.err()).contains(database.toString());
        assertOneSentence(run.err());
        assertThat(Files.readAllBytes(database)).as("left as it was").isEqualTo(garbage);
    }

    /**
     * The process's exit code for a start that failed after the stop on a signal was set up: its shutdown hook halted
     * with that code, before the JVM's deletes on exit, and left sqlite-jdbc's extracted library (1 MB) in the
     * temporary directory, java.io.tmpdir by default or an operator's org.sqlite.tmpdir, which is left as it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {SqliteTempFiles.DEFAULT, SqliteTempFiles.OPERATORS})
    void aStartThatFailsEndsTheProcessWithItsCodeAndLeavesNoSqliteLibraryInTheTemporaryDirectory(String temp)
            throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        Files.writeString(database, "this is not an SQLite database".repeat(100));

        Run run = process(temp, Map.of(), loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.out()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.out()).contains(database.toString());
        SqliteTempFiles.assertNoneLeft(sqliteTemp(), temp);
    }

    private Path sqliteTemp() {
        return dir.resolve("sqlite-temp");
    }

    /** A database with a tunnel and pages of events after it, closed (its WAL folded in). */
    private Path databaseWithManyEvents(Path data) {
        try (Store store = Store.open(data)) {
            store.createTunnel("survivor");
            DamagedDatabases.addManyEvents(store);
        }
        return data.resolve(Store.DATABASE_FILE);
    }

    private void assertRefusedAsDamaged(Path data, Path database) throws IOException {
        byte[] damaged = Files.readAllBytes(database);

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.err()).contains(database.toString()).contains("is damaged").contains("restore a backup")
                .as("SQLite's finding, not the header it puts before it").doesNotContain("*** in database");
        assertOneSentence(run.err());
        assertThat(Files.readAllBytes(database)).as("left as it was").isEqualTo(damaged);
    }

    /**
     * A page in the middle overwritten (a bad disk, a torn write) where the start does not read (the events): refused
     * at start, not run until a read of that page fails, maybe days later, while writes go on into a damaged file.
     */
    @Test
    void aDatabaseWithADamagedPageIsExitCode3AtStartAndTheFileIsKept() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = databaseWithManyEvents(data);
        DamagedDatabases.damageTheMiddlePage(database);
        assertRefusedAsDamaged(data, database);
    }

    /** Cut short (the disk filled up, a copy stopped half-way): refused with the same advice. */
    @Test
    void aTruncatedDatabaseIsExitCode3WithAdviceAndTheFileIsKept() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = databaseWithManyEvents(data);
        try (FileChannel file = FileChannel.open(database, StandardOpenOption.WRITE)) {
            file.truncate(file.size() / 2);
        }
        assertRefusedAsDamaged(data, database);
    }

    /**
     * Rows changed by hand with sqlite3 against their table's rules (a CHECK ignored, a NOT NULL column emptied through
     * the schema) are what SQLite's quick check reports besides damage: the start is refused (such a service would end
     * the start's replay with an exception) but not as a damaged file, and the sentence names each row to fix.
     */
    @Test
    void rowsEditedByHandAgainstTheirRulesAreNamedAtStartNotCalledDamage() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        try (Store store = Store.open(data)) {
            String tunnel = store.createTunnel("edited").id();
            for (String port : List.of(":4001", ":4002")) {
                store.createService(new io.picotunnel.server.store.Service(null, tunnel,
                        io.picotunnel.server.store.ServiceType.TCP, null, "/", io.picotunnel.server.store.TlsMode.TERMINATE,
                        port, "localhost:22", true, null));
            }
        }
        sqlite(database, "PRAGMA ignore_check_constraints = 1",
                "UPDATE services SET type = 'udp' WHERE listen_addr = ':4002'");
        String tunnels = sqliteQuery(database, "SELECT sql FROM sqlite_schema WHERE name = 'tunnels'");
        String nameNullable = tunnels.replace("name         TEXT NOT NULL", "name         TEXT");
        assertThat(nameNullable).as("the schema the test edits").isNotEqualTo(tunnels);
        sqlite(database, "PRAGMA writable_schema = 1",
                "UPDATE sqlite_schema SET sql = '" + nameNullable + "' WHERE name = 'tunnels'");
        sqlite(database, "UPDATE tunnels SET name = NULL");
        sqlite(database, "PRAGMA writable_schema = 1", "UPDATE sqlite_schema SET sql = '" + tunnels + "' WHERE name = 'tunnels'");
        byte[] edited = Files.readAllBytes(database);

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.err()).startsWith("The database " + database + " is not damaged but has rows that break the"
                + " rules of their table").doesNotContain("is damaged")
                .contains("services rowid 2 failing CHECK (type IN ('http', 'tcp'))")
                .contains("tunnels rowid 1 without a name (NULL in a NOT NULL column)")
                .contains("correct or delete those rows with sqlite3");
        assertOneSentence(run.err());
        assertThat(Files.readAllBytes(database)).as("left as it was").isEqualTo(edited);
    }

    /**
     * A directory where the database, or a file SQLite keeps beside it, goes: one sentence naming it, not SQLite's
     * "unable to open database file", and the directory is left as it was (its mode was set to 0600 before).
     */
    @Test
    void aDirectoryWhereTheDatabaseOrItsWalGoesIsOneSentenceAndLeftAsItWas() throws Exception {
        Path fresh = Files.createDirectories(dir.resolve("fresh"));
        Path database = Files.createDirectories(fresh.resolve(Store.DATABASE_FILE));
        Path existing = Files.createDirectories(dir.resolve("existing"));
        Store.open(existing).close();
        Path wal = Files.createDirectories(existing.resolve(Store.DATABASE_FILE + "-wal"));

        for (Path directory : List.of(database, wal)) {
            Path data = directory.getParent();
            var mode = Files.getPosixFilePermissions(directory);

            Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

            assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err().strip()).isEqualTo("The database " + data.resolve(Store.DATABASE_FILE) + " cannot be"
                    + " used: " + directory + " is a directory, not a file SQLite can write; move it away (the server"
                    + " creates " + (directory.equals(database) ? "a new database" : "the file") + " there), or choose"
                    + " another data directory.");
            assertOneSentence(run.err());
            assertThat(Files.getPosixFilePermissions(directory)).as("mode left as it was").isEqualTo(mode);
        }
    }

    /**
     * A database file the server cannot write (here made immutable, as root ignores file modes; a read-only mount or
     * another user's file answers the same): one sentence naming the file and what must be writable, exit code 1 as
     * for a data directory that is not writable, instead of "Database error: [SQLITE_READONLY] ...".
     */
    @Test
    void aDatabaseFileThatCannotBeWrittenIsOneSentenceNamingIt() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Store.open(data).close();
        Path database = data.resolve(Store.DATABASE_FILE);
        try (ImmutableFile immutable = ImmutableFile.make(database)) {
            Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

            assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(run.err()).startsWith("The database " + immutable.path() + " cannot be opened for writing"
                    + " (Attempt to write a readonly database): the server's user must be able to write it, the files"
                    + " beside it"
                    + " (picotunnel.db-wal and -shm, which SQLite creates) and the data directory");
            assertOneSentence(run.err());
        }
    }

    /** Runs {@code statements} on one connection to {@code database}, as an operator with sqlite3 would. */
    private static void sqlite(Path database, String... statements) throws java.sql.SQLException {
        try (java.sql.Connection connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + database);
             java.sql.Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    private static String sqliteQuery(Path database, String sql) throws java.sql.SQLException {
        try (java.sql.Connection connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + database);
             java.sql.Statement statement = connection.createStatement();
             java.sql.ResultSet row = statement.executeQuery(sql)) {
            return row.getString(1);
        }
    }

    @Test
    void aSecondServerOnTheSameDataDirectoryIsRefusedUntilTheFirstStops() {
        Path data = dir.resolve("data");
        Run[] second = new Run[1];

        Run first = run(Map.of(), server -> second[0] = run(loopback("--data", data.toString()).toArray(String[]::new)),
                loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(second[0].exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(second[0].err()).startsWith("The data directory " + data + " is in use by another PicoTunnel server"
                + " (process " + ProcessHandle.current().pid() + ")").contains("--data");
        assertOneSentence(second[0].err());
        Run afterwards = run(Map.of(), server -> { }, loopback("--data", data.toString()).toArray(String[]::new));
        assertThat(afterwards.exitCode()).as("the lock goes with the server that held it: %s", afterwards.err()).isZero();
    }

    /**
     * A second server given a symbolic link to the first one's data directory is refused as in use, and the first
     * keeps its lock: the second used to open the lock file again under the other name and close it on the JVM's
     * overlapping-lock error, and closing any descriptor of the file let go of this process's lock on it.
     */
    @Test
    void aSecondServerOnALinkToTheDataDirectoryIsRefusedAndTheFirstKeepsItsLock() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), data);
        Run[] second = new Run[1];
        String[] anotherProcess = new String[1];
        long[] descriptors = new long[1];

        Run first = run(Map.of(), server -> {
            second[0] = run(loopback("--data", link.toString()).toArray(String[]::new));
            descriptors[0] = openDescriptorsOf(data.resolve(DataDirectoryLock.FILE_NAME));
            anotherProcess[0] = LockFileProbe.tryInAnotherProcess(data.resolve(DataDirectoryLock.FILE_NAME));
        }, loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(second[0].exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(second[0].err()).startsWith("The data directory " + link + " is in use by another PicoTunnel server"
                + " (process " + ProcessHandle.current().pid() + ")").contains("--data");
        assertOneSentence(second[0].err());
        assertThat(anotherProcess[0]).as("another process finds the first server's lock still held").isEqualTo("held");
        assertThat(descriptors[0]).as("the second did not open the lock file (the first's descriptor only)").isEqualTo(1);
    }

    /**
     * Something else in this JVM holding the lock file (not a server) makes the JVM, not the operating system, refuse
     * the lock: the server is refused as the directory is in use, and the channel it opened is never closed, as that
     * would let go of the other's lock for the whole process.
     */
    @Test
    void aLockFileLockedElsewhereInThisJvmIsRefusedWithoutLettingGoOfThatLock() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path file = data.resolve(DataDirectoryLock.FILE_NAME);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.lock(); // let go of when the channel closes
            Run refused = run(loopback("--data", data.toString()).toArray(String[]::new));

            assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
            assertThat(refused.err()).startsWith("The data directory " + data + " is in use by another PicoTunnel"
                    + " server (process " + ProcessHandle.current().pid() + ")");
            assertOneSentence(refused.err());
            assertThat(LockFileProbe.tryInAnotherProcess(file)).as("another process finds the lock still held")
                    .isEqualTo("held");
        }
    }

    /**
     * A symbolic link as the lock file is refused naming it, not followed: the server would create the file where a
     * dangling link points, or truncate whatever file it names to write its PID there.
     */
    @Test
    void aLockFileThatIsADanglingLinkIsRefusedNamingItAndNothingIsCreatedWhereItPoints() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path target = Files.createDirectories(dir.resolve("elsewhere")).resolve("created-through-the-link");
        Path link = Files.createSymbolicLink(data.resolve(DataDirectoryLock.FILE_NAME), target);

        Run refused = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(refused.err()).startsWith("The lock file " + link + " is a symbolic link (to " + target
                + "), which PicoTunnel does not follow: it locks the data directory with a regular file of its own"
                + " there, so remove the link and try again.");
        assertOneSentence(refused.err());
        assertThat(target).doesNotExist();
        assertThat(link).isSymbolicLink();

        Files.delete(link);
        Run afterwards = run(loopback("--data", data.toString()).toArray(String[]::new));
        assertThat(afterwards.exitCode()).as(afterwards.err()).isZero();
        assertThat(data.resolve(DataDirectoryLock.FILE_NAME)).isRegularFile();
    }

    @Test
    void aLockFileThatIsALinkToAFileIsRefusedAndThatFileIsLeftAsItWas() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path precious = Files.writeString(dir.resolve("precious.txt"), "not to be truncated");
        Path link = Files.createSymbolicLink(data.resolve(DataDirectoryLock.FILE_NAME), precious);

        Run refused = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(refused.err()).startsWith("The lock file " + link + " is a symbolic link (to " + precious + ")");
        assertOneSentence(refused.err());
        assertThat(precious).hasContent("not to be truncated");
    }

    @Test
    void aLockFileThatIsADirectoryIsRefusedNamingIt() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path lock = Files.createDirectories(data.resolve(DataDirectoryLock.FILE_NAME));

        Run refused = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(refused.err()).startsWith("The lock file " + lock + " is a directory: PicoTunnel locks the data"
                + " directory with a regular file of its own there, so move it away and try again.");
        assertOneSentence(refused.err());
    }

    /** How many descriptors this process has open on {@code file} (Linux). */
    private static long openDescriptorsOf(Path file) {
        try (Stream<Path> descriptors = Files.list(Path.of("/proc/self/fd"))) {
            Path target = file.toRealPath();
            return descriptors.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(target);
                } catch (IOException closedMeanwhile) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aDataDirectoryLockedByAnotherProcessIsRefusedNamingThatProcess() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Run refused;
        long holder;
        try (LockFileProbe.Holder other = LockFileProbe.holdInAnotherProcess(data.resolve(DataDirectoryLock.FILE_NAME))) {
            holder = other.pid();
            refused = run(loopback("--data", data.toString()).toArray(String[]::new));
        }

        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(refused.err()).startsWith("The data directory " + data + " is in use by another PicoTunnel server"
                + " (process " + holder + ")").contains("--data");
        assertOneSentence(refused.err());
        Run afterwards = run(loopback("--data", data.toString()).toArray(String[]::new));
        assertThat(afterwards.exitCode()).as("free once the other process ended: %s", afterwards.err()).isZero();
    }

    @Test
    void anotherProgramsSqliteDatabaseIsExitCode3AndLeftAsItWas() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        // A wrong file restored: without this check the server added its tables to it and started with no tunnels,
        // and every client, answered 401, stopped for good.
        sqlite(database, "CREATE TABLE dashboards (id INTEGER PRIMARY KEY, title TEXT)",
                "INSERT INTO dashboards (title) VALUES ('not ours')");

        assertRefusedAsNotOursAndLeftAsItWas(data, database);
    }

    /**
     * Another program's database whose own table is called schema_version (Flyway's history table of old): the name
     * alone is no sign of PicoTunnel's, which has the columns version, name and applied_at.
     */
    @Test
    void anotherProgramsDatabaseWithATableCalledSchemaVersionIsExitCode3AndLeftAsItWas() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        sqlite(database, "CREATE TABLE schema_version (installed_rank INT NOT NULL, version VARCHAR(50),"
                        + " description VARCHAR(200) NOT NULL, success BOOLEAN NOT NULL)",
                "INSERT INTO schema_version VALUES (1, '1', 'init', 1)",
                "CREATE TABLE orders (id INTEGER PRIMARY KEY)");

        assertRefusedAsNotOursAndLeftAsItWas(data, database);
    }

    private void assertRefusedAsNotOursAndLeftAsItWas(Path data, Path database) throws IOException {
        byte[] before = Files.readAllBytes(database);

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.err()).contains(database.toString(), "not a PicoTunnel database");
        assertOneSentence(run.err());
        assertThat(Files.readAllBytes(database)).as("left as it was").isEqualTo(before);
        assertThat(data.resolve(Store.DATABASE_FILE + "-wal")).doesNotExist();
    }

    /**
     * A first start stopped (killed, the power cut) after the table of schema versions was made and before the first
     * migration was committed leaves that table alone, empty: the next start goes on from there.
     */
    @Test
    void aFirstStartInterruptedBeforeTheFirstMigrationStartsTheNextTime() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path database = data.resolve(Store.DATABASE_FILE);
        sqlite(database, "CREATE TABLE schema_version ("
                + "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isZero();
        try (Store store = Store.open(data)) {
            assertThat(store.tunnels()).isEmpty();
        }
    }

    @Test
    void aDatabaseFromANewerPicoTunnelIsExitCode3() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (Store store = Store.open(data)) {
            store.database().inTransaction(connection -> {
                try (java.sql.Statement statement = connection.createStatement()) {
                    statement.executeUpdate("INSERT INTO schema_version VALUES (9999, 'future', '2099-01-01T00:00:00.000Z')");
                }
                return null;
            });
        }

        Run run = run(loopback("--data", data.toString()).toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ServerMain.EXIT_DATA_UNUSABLE);
        assertThat(run.err()).contains("schema version 9999").contains("run a newer PicoTunnel");
    }

    @Test
    void unusableDataDirectoryIsOneClearSentenceAndExitCode1() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        List<String> args = loopback("--data", file.toString());

        Run run = run(args.toArray(String[]::new));

        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(run.err()).startsWith("The data directory " + file + " is not a directory").contains("--data");
        assertOneSentence(run.err());

        List<String> below = loopback("--data", file.resolve("data").toString());
        Run nested = run(below.toArray(String[]::new));
        assertThat(nested.exitCode()).isEqualTo(ServerMain.EXIT_STARTUP_FAILED);
        assertThat(nested.err()).startsWith("Cannot create the data directory");
        assertOneSentence(nested.err());
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run run = run("--listen", ":8080");
        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).contains("--listen").contains("--help");
    }

    /**
     * picocli printed an argument that matched no flag whole ("Unmatched argument at index 0: 's3cret'"): an admin
     * token typed without its flag, or after a misspelt one, landed in the terminal and the journal.
     */
    @Test
    void argumentsThatMatchNoFlagAreNotEchoedSoATokenStaysOutOfTheLog() {
        String token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        for (String[] args : new String[][] {{token}, {"--admin-tokn", token}, {"--admin-tokn=" + token},
            {"--data", dir.toString(), token}}) {
            Run run = run(args);

            assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(ServerMain.EXIT_USAGE);
            assertThat(run.err()).as(String.join(" ", args)).doesNotContain(token).doesNotContain("a1b2c3")
                    .contains("--help");
        }
        assertThat(run(token).err().strip()).isEqualTo("1 argument not understood: argument 1 belongs to no flag (not"
                + " shown: it may be a secret; a value goes right after its flag, as in --admin-token TOKEN) (see --help)");
        assertThat(run("--admin-tokn", token).err()).startsWith("2 arguments not understood: unknown flag --admin-tokn"
                + " (argument 1; did you mean --admin-token?); argument 2 belongs to no flag");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void aMisspeltFlagIsOneLineSayingWhichFlagItMeant() {
        Run run = run("--tunel-addr=127.0.0.1:0");

        assertThat(run.exitCode()).isEqualTo(ServerMain.EXIT_USAGE);
        assertThat(run.err()).isEqualTo("1 argument not understood: unknown flag --tunel-addr (argument 1; did you mean"
                + " --tunnel-addr?) (see --help)" + System.lineSeparator());
    }

    @Test
    void argumentsThatMatchNoFlagOfBackupOrRestoreAreNotEchoedEither() {
        String token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        for (String subcommand : List.of("backup", "restore")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
            PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);

            int code = ServerMain.subcommand(new String[] {subcommand, "--data", dir.toString(), "copy.db", token},
                    Map.of(), outStream, errStream).orElseThrow();

            String said = err.toString(StandardCharsets.UTF_8);
            assertThat(code).as(said).isEqualTo(ServerMain.EXIT_USAGE);
            assertThat(said).as(subcommand).doesNotContain(token).doesNotContain("a1b2c3")
                    .startsWith("1 argument not understood: argument 5 belongs to no flag")
                    .contains("picotunnel-server " + subcommand + " --help");
        }
        assertThat(dir.resolve("copy.db")).doesNotExist();
    }

    @Test
    void flagWinsOverTheEnvironmentAndTheServerServes() {
        List<String> args = loopback();
        List<Integer> ports = new ArrayList<>();
        Run run = run(Map.of("PICOTUNNEL_LISTEN_ADDR", "not-an-address", "PICOTUNNEL_DOMAIN", "tunnel.example.com"), server -> {
            assertThat(server.config().domain()).isEqualTo("tunnel.example.com");
            try (ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
                assertThat(api.get("/api/tunnels").status()).isEqualTo(200);
            }
            ports.add(server.apiPort());
        }, args.toArray(String[]::new));

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(ports).hasSize(1);
        assertThat(run.out()).contains("Generated an admin token");
    }

    @Test
    void withJsonLogsTheGeneratedTokenBannerIsOneJsonObjectOnOneLine() throws IOException {
        String before = System.getProperty(LogSettings.FORMAT_PROPERTY);
        List<String> tokens = new ArrayList<>();
        Run run;
        try {
            run = run(Map.of(LogSettings.FORMAT_VARIABLE, "json"), server -> tokens.add(server.adminToken()),
                    loopback().toArray(String[]::new));
        } finally {
            if (before == null) {
                System.clearProperty(LogSettings.FORMAT_PROPERTY);
            } else {
                System.setProperty(LogSettings.FORMAT_PROPERTY, before);
            }
        }

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).as(run.out()).hasSize(1);
        JsonNode banner = new ObjectMapper().readTree(lines.get(0));
        assertThat(banner.path("level").asText()).isEqualTo("INFO");
        assertThat(banner.path("loggerName").asText()).isEqualTo(PicoTunnelServer.class.getName());
        assertThat(banner.path("timestamp").isIntegralNumber()).isTrue();
        assertThat(banner.path("formattedMessage").asText()).startsWith("Generated an admin token (stored in "
                + dir.resolve("data/admin-token")).contains(tokens.get(0));
    }
}
