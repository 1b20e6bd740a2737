package io.picotunnel.server.packaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The release archive as an operator uses it: {@code scripts/dist.sh} (what {@code make dist} runs) builds it once
 * from the packaged jars, the test unpacks it in a directory of its own and runs the executables through symlinks
 * from another working directory, without JAVA_HOME and with no Java on the PATH. The Docker images hold the same
 * tree under /opt/picotunnel. Runs after {@code package} (an *IT).
 */
class ReleaseArchiveIT {

    private static final Path SERVER_MODULE = Path.of("").toAbsolutePath();
    private static final Path ROOT = SERVER_MODULE.getParent();
    private static final String ADMIN_TOKEN = "release-archive-admin-token-0123456789";
    private static final Pattern API_PORT = Pattern.compile("management API on http://127\\.0\\.0\\.1:(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SETPRIV = "/usr/bin/setpriv";

    @TempDir
    static Path unpacked;
    private static Path home;
    private static Path links;

    @TempDir
    Path work;
    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void buildAndUnpackTheArchive() throws Exception {
        Path out = SERVER_MODULE.resolve("target/release-it");
        ProcessBuilder dist = new ProcessBuilder("bash", ROOT.resolve("scripts/dist.sh").toString(), out.toString())
                .redirectErrorStream(true).redirectOutput(SERVER_MODULE.resolve("target/release-it.log").toFile());
        dist.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process build = dist.start();
        assertThat(build.waitFor(300, TimeUnit.SECONDS)).as("dist.sh finished").isTrue();
        assertThat(build.exitValue()).as(Files.readString(SERVER_MODULE.resolve("target/release-it.log"))).isZero();

        String version = io.picotunnel.server.Version.get();
        Path archive = out.resolve("picotunnel-" + version + "-linux-x64.tar.gz");
        assertThat(archive).exists();
        run(List.of("tar", "-xzf", archive.toString(), "-C", unpacked.toString()), Map.of(), unpacked);
        home = unpacked.resolve("picotunnel-" + version);
        links = Files.createDirectories(unpacked.resolve("usr-local-bin"));
        for (String name : List.of("picotunnel-server", "picotunnel-client")) {
            Files.createSymbolicLink(links.resolve(name), home.resolve("bin/" + name));
        }
    }

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process process : processes) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void archiveHoldsLaunchersJarsARuntimeTheUnitsAndTheReadme() throws IOException {
        for (String name : List.of("picotunnel-server", "picotunnel-client")) {
            assertThat(home.resolve("bin/" + name)).isExecutable();
            assertThat(home.resolve("lib/" + name + ".jar")).isRegularFile();
            assertThat(home.resolve("systemd/" + name + ".service")).hasSameTextualContentAs(
                    ROOT.resolve("packaging/systemd/" + name + ".service"));
        }
        assertThat(home.resolve("runtime/bin/java")).isExecutable();
        assertThat(home.resolve("README.md")).hasSameTextualContentAs(ROOT.resolve("README.md"));
    }

    @Test
    void theDocsTheReadmeLinksToAreInTheArchive() throws IOException {
        Matcher links = Pattern.compile("\\]\\((docs/[^)#]+)").matcher(Files.readString(home.resolve("README.md")));
        List<String> linked = new ArrayList<>();
        while (links.find()) {
            linked.add(links.group(1));
        }
        assertThat(linked).isNotEmpty();
        for (String link : linked) {
            assertThat(home.resolve(link)).as(link).hasSameTextualContentAs(ROOT.resolve(link));
        }
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            for (Path doc : docs.toList()) {
                assertThat(home.resolve("docs").resolve(doc.getFileName().toString())).hasSameTextualContentAs(doc);
            }
        }
        try (Stream<Path> examples = Files.walk(ROOT.resolve("examples"))) {
            for (Path example : examples.filter(Files::isRegularFile).toList()) {
                assertThat(home.resolve(ROOT.relativize(example).toString())).hasSameTextualContentAs(example);
            }
        }
    }

    @Test
    void everyRelativeLinkInAShippedMarkdownFileLeadsToAFileInTheArchive() throws IOException {
        Pattern link = Pattern.compile("\\]\\(([^)\\s]+)\\)");
        List<String> broken = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> files = Files.walk(home)) {
            for (Path markdown : files.filter(file -> file.toString().endsWith(".md")).sorted().toList()) {
                Matcher matcher = link.matcher(Files.readString(markdown));
                while (matcher.find()) {
                    String target = matcher.group(1).replaceFirst("#.*", "");
                    if (target.isEmpty() || target.matches("[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
                        continue; // an anchor in the same file, or https:, mailto:
                    }
                    checked++;
                    Path resolved = markdown.getParent().resolve(target).normalize();
                    if (!resolved.startsWith(home) || !Files.exists(resolved)) {
                        broken.add(home.relativize(markdown) + " -> " + matcher.group(1));
                    } else if (Files.isRegularFile(resolved)) {
                        assertThat(resolved).hasSameTextualContentAs(ROOT.resolve(home.relativize(resolved).toString()));
                    }
                }
            }
        }
        assertThat(checked).as("relative links found").isGreaterThan(10);
        assertThat(broken).as("links to nothing in the archive").isEmpty();
    }

    @Test
    void aCopiedLauncherSaysToLinkItOrToSetPicotunnelHome() throws Exception {
        Path copy = Files.createDirectories(work.resolve("usr/local/bin")).resolve("picotunnel-server");
        Files.copy(home.resolve("bin/picotunnel-server"), copy);
        Result alone = run(List.of(copy.toString(), "--version"), Map.of(), work);
        assertThat(alone.exitCode()).isEqualTo(1);
        assertThat(alone.output()).contains("picotunnel-server: cannot find lib/picotunnel-server.jar", "ln -s",
                "PICOTUNNEL_HOME");
        Result pointed = run(List.of(copy.toString(), "--version"), Map.of("PICOTUNNEL_HOME", home.toString()), work);
        assertThat(pointed.exitCode()).as(pointed.output()).isZero();
        assertThat(pointed.output()).contains("picotunnel-server " + io.picotunnel.server.Version.get());
    }

    @Test
    void bothStartWithASmallHeapAndTrimmedNativeMemoryTheClientOnTheSerialCollectorUnlessJavaOptsSaysOtherwise()
            throws Exception {
        String flags = "-XX:+PrintCommandLineFlags -version";
        Result client = run(List.of(links.resolve("picotunnel-client").toString()), Map.of("JAVA_OPTS", flags), work);
        assertThat(client.exitCode()).as(client.output()).isZero();
        assertThat(client.output()).contains("-XX:InitialHeapSize=33554432 ", "-XX:TrimNativeHeapInterval=1000 ",
                "-XX:+UseSerialGC");

        Result server = run(List.of(links.resolve("picotunnel-server").toString()), Map.of("JAVA_OPTS", flags), work);
        assertThat(server.exitCode()).as(server.output()).isZero();
        assertThat(server.output()).contains("-XX:InitialHeapSize=134217728 ", "-XX:TrimNativeHeapInterval=1000 ")
                .as("the server keeps the JVM's collector").doesNotContain("UseSerialGC");

        Result serverChosen = run(List.of(links.resolve("picotunnel-server").toString()),
                Map.of("JAVA_OPTS", "-Xms256m -XX:TrimNativeHeapInterval=0 " + flags), work);
        assertThat(serverChosen.exitCode()).as(serverChosen.output()).isZero();
        assertThat(serverChosen.output()).contains("-XX:InitialHeapSize=268435456 ", "-XX:TrimNativeHeapInterval=0 ");

        Result chosen = run(List.of(links.resolve("picotunnel-client").toString()),
                Map.of("JAVA_OPTS", "-Xms64m -XX:TrimNativeHeapInterval=0 -XX:+UseParallelGC " + flags), work);
        assertThat(chosen.exitCode()).as(chosen.output()).isZero();
        assertThat(chosen.output()).contains("-XX:InitialHeapSize=67108864 ", "-XX:TrimNativeHeapInterval=0 ",
                "-XX:+UseParallelGC").doesNotContain("UseSerialGC");
    }

    @Test
    void bothSampleOneBufferIn4096ForLeaksUnlessJavaOptsSaysOtherwise() throws Exception {
        String properties = "-XshowSettings:properties -version";
        for (String name : List.of("picotunnel-server", "picotunnel-client")) {
            Result launched = run(List.of(links.resolve(name).toString()), Map.of("JAVA_OPTS", properties), work);
            assertThat(launched.exitCode()).as(launched.output()).isZero();
            assertThat(launched.output()).as(name).contains("io.netty.leakDetection.samplingInterval = 4096");

            Result chosen = run(List.of(links.resolve(name).toString()),
                    Map.of("JAVA_OPTS", "-Dio.netty.leakDetection.samplingInterval=1 " + properties), work);
            assertThat(chosen.exitCode()).as(chosen.output()).isZero();
            assertThat(chosen.output()).as(name).contains("io.netty.leakDetection.samplingInterval = 1\n")
                    .doesNotContain("samplingInterval = 4096");
        }
    }

    @Test
    void serverRunsThroughASymlinkOnTheBundledRuntimeAndExitsWith0OnSigterm() throws Exception {
        Path log = work.resolve("server.log");
        Process server = startServer(work.resolve("data"), Map.of(), log);
        int apiPort = apiPort(log);
        try (ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
            assertThat(api.get("/health").status()).isEqualTo(200);
        }
        assertThat(server.toHandle().info().command()).as("the bundled runtime runs it, not a system Java")
                .hasValueSatisfying(command -> assertThat(command).startsWith(home.resolve("runtime").toString()));

        server.toHandle().destroy(); // SIGTERM
        assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as("a clean stop; output:%n%s", Files.readString(log)).isZero();
    }

    @Test
    void theUiIsServedFromThePackagedJarWithoutMountingItAsAZipFileSystem() throws Exception {
        Path log = work.resolve("server.log");
        Process server = startServer(work.resolve("data"), Map.of(), log);
        int apiPort = apiPort(log);
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            java.net.http.HttpResponse<String> index = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + apiPort + "/")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(index.statusCode()).isEqualTo(200);
            Matcher script = Pattern.compile("src=\"(/assets/[^\"]+\\.js)\"").matcher(index.body());
            assertThat(script.find()).as(index.body()).isTrue();
            java.net.http.HttpResponse<String> js = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + apiPort + script.group(1))).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(js.statusCode()).isEqualTo(200);
            assertThat(js.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/javascript");
            assertThat(js.body()).hasSizeGreaterThan(10_000);
        }
        // Javalin's classpath static files mounted the server's jar as a zip file system eight times: 45 MB of heap.
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process histogram = new ProcessBuilder(jcmd.toString(), Long.toString(server.pid()), "GC.class_histogram")
                .redirectErrorStream(true).start();
        String classes = new String(histogram.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(histogram.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(classes).as("the histogram was taken").contains("java.lang.String ");
        assertThat(classes).doesNotContain("jdk.nio.zipfs.ZipFileSystem ");
    }

    @Test
    void backupWhileTheServerRunsRestoresIntoANewDataDirectory() throws Exception {
        Path log = work.resolve("server.log");
        startServer(work.resolve("data"), Map.of(), log);
        int apiPort = apiPort(log);
        try (ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
            assertThat(api.post("/api/tunnels", "{\"name\": \"kept-by-backup\"}").status()).isEqualTo(201);
        }
        Path copy = work.resolve("backups/picotunnel-backup.db");
        Files.createDirectories(copy.getParent());
        Result backup = run(List.of(links.resolve("picotunnel-server").toString(), "backup", "--data",
                work.resolve("data").toString(), copy.toString()), Map.of(), work);
        assertThat(backup.exitCode()).as(backup.output()).isZero();
        assertThat(backup.output()).contains("Backup written to " + copy);
        assertThat(Files.getPosixFilePermissions(copy)).extracting(Object::toString)
                .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + copy);
             ResultSet rows = db.createStatement().executeQuery("select name from tunnels")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo("kept-by-backup");
        }

        // README: picotunnel-server restore, here into a new data directory
        Path restored = work.resolve("restored");
        Result restore = run(List.of(links.resolve("picotunnel-server").toString(), "restore", "--data",
                restored.toString(), copy.toString()), Map.of(), work);
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        assertThat(restore.output()).contains("Restored " + copy);
        Path restoredLog = work.resolve("restored.log");
        startServer(restored, Map.of(), restoredLog);
        try (ApiClient api = new ApiClient(apiPort(restoredLog), ADMIN_TOKEN)) {
            assertThat(api.get("/api/tunnels").json().findValuesAsText("name")).containsExactly("kept-by-backup");
        }

        Result missing = run(List.of(links.resolve("picotunnel-server").toString(), "backup", "--data",
                work.resolve("nothing-here").toString(), copy.toString()), Map.of(), work);
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.output()).startsWith("There is no database at").doesNotContain("Exception");
    }

    @Test
    void aSecondServerOnTheSameDataDirectoryExitsNamingTheFirstAndStartsOnceItHasGone() throws Exception {
        Path data = work.resolve("data");
        Path log = work.resolve("server.log");
        Process first = startServer(data, Map.of(), log);
        apiPort(log, first);

        Result second = run(List.of(links.resolve("picotunnel-server").toString(), "--data", data.toString(),
                "--listen-addr", "127.0.0.1:0", "--tunnel-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
                "--https-addr", "127.0.0.1:0"), Map.of("PICOTUNNEL_ADMIN_TOKEN", ADMIN_TOKEN), work);

        assertThat(second.exitCode()).as(second.output()).isEqualTo(1);
        assertThat(second.output().strip()).isEqualTo("The data directory " + data + " is in use by another PicoTunnel"
                + " server (process " + first.pid() + "): stop it first, or give this one another directory with"
                + " --data or PICOTUNNEL_DATA_DIR.");
        first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        Path again = work.resolve("again.log");
        apiPort(again, startServer(data, Map.of(), again));
    }

    @Test
    void jsonLogFormatWritesOneJsonObjectPerLine() throws Exception {
        Path log = work.resolve("server.log");
        startServer(work.resolve("data"), Map.of("PICOTUNNEL_LOG_FORMAT", "json"), log);
        int apiPort = apiPort(log);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(log).contains("HTTP proxy on 127.0.0.1:"));
        List<String> lines = Files.readAllLines(log).stream().filter(line -> !line.isBlank()).toList();
        assertThat(lines).isNotEmpty();
        List<JsonNode> entries = new ArrayList<>();
        for (String line : lines) {
            entries.add(JSON.readTree(line));
        }
        assertThat(entries).anySatisfy(entry -> {
            assertThat(entry.path("level").asText()).isEqualTo("INFO");
            assertThat(entry.path("formattedMessage").asText()).contains("management API on http://127.0.0.1:" + apiPort);
            assertThat(entry.path("loggerName").asText()).isEqualTo(PicoTunnelServer.class.getName());
        });
        assertThat(String.join("\n", lines)).doesNotContain(ADMIN_TOKEN);
    }

    @Test
    void logLevelWarnLeavesOutTheInfoLinesAndAWrongFormatIsRefused() throws Exception {
        Path log = work.resolve("server.log");
        int apiPort = Ports.freePort();
        startServer(work.resolve("data"), Map.of("PICOTUNNEL_LOG_LEVEL", "warn"), log,
                "--listen-addr", "127.0.0.1:" + apiPort);
        try (ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> api.get("/health").status() == 200);
        }
        assertThat(Files.readString(log)).doesNotContain(" INFO ");

        Result wrong = run(List.of(links.resolve("picotunnel-server").toString(), "--data", work.resolve("data2").toString()),
                Map.of("PICOTUNNEL_LOG_FORMAT", "xml"), work);
        assertThat(wrong.exitCode()).isEqualTo(2);
        assertThat(wrong.output().strip()).isEqualTo("PICOTUNNEL_LOG_FORMAT must be 'text' or 'json', not 'xml'.");
    }

    @Test
    void clientExplainsEachConnectionMistakeInOneSentence() throws Exception {
        int plainPort = Ports.freePort();
        Path plainLog = work.resolve("plain.log");
        startServer(work.resolve("plain"), Map.of(), plainLog, "--tunnel-addr", "127.0.0.1:" + plainPort);
        int plainApiPort = apiPort(plainLog);
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue("localhost"), work.resolve("certs"), "tunnel");
        int tlsPort = Ports.freePort();
        Path tlsLog = work.resolve("tls.log");
        startServer(work.resolve("secure"), Map.of("PICOTUNNEL_DOMAIN", "localhost",
                "PICOTUNNEL_TLS_CERT", work.resolve("certs/tunnel.crt").toString(),
                "PICOTUNNEL_TLS_KEY", work.resolve("certs/tunnel.key").toString()), tlsLog,
                "--tunnel-addr", "127.0.0.1:" + tlsPort);
        apiPort(tlsLog);

        assertClientSays("127.0.0.1:" + plainPort,
                "127.0.0.1:" + plainPort + " answers without TLS: if it is the server's tunnel port (its"
                        + " --tunnel-addr), use --server ws://127.0.0.1:" + plainPort + "; if it is its HTTP proxy or"
                        + " management port, use the tunnel port instead (8443 by default).");
        assertClientSays("ws://localhost:" + tlsPort, "localhost:" + tlsPort + " closed the connection without"
                + " answering the WebSocket upgrade, as a TLS (wss://) endpoint does with plain ws://: use --server localhost:"
                + tlsPort + " or wss://localhost:" + tlsPort + ".");
        assertClientSays("localhost:" + tlsPort, "The certificate of localhost:" + tlsPort
                + " is not trusted (no trusted CA signed it; it may be self-signed): give the server a certificate"
                + " from a trusted CA for localhost, or, for testing only, pass --insecure.");
        assertClientSays("ws://127.0.0.1:" + plainApiPort, "127.0.0.1:" + plainApiPort + " answered HTTP ");
        assertClientSays("ws://127.0.0.1:" + plainApiPort, "it is not a PicoTunnel tunnel endpoint; use the port of"
                + " the server's --tunnel-addr (8443 by default), not the management or proxy port.");
        assertClientSays("ws://tunnel.picotunnel.invalid:8443",
                "The server name tunnel.picotunnel.invalid does not resolve (DNS): check the name in --server.");

        Result path = run(List.of(links.resolve("picotunnel-client").toString(), "--server",
                "ws://127.0.0.1:" + plainPort + "/other"), Map.of("PICOTUNNEL_TOKEN", "x".repeat(32)), work);
        assertThat(path.exitCode()).isEqualTo(2);
        assertThat(path.output()).contains("must be host:port without a path other than /tunnel; the client always"
                + " connects to /tunnel")
                .doesNotContain("\tat ");
    }

    @Test
    void dockerImagesUseTheArchiveLayout() throws Exception {
        for (String name : List.of("server", "client")) {
            Dockerfile file = Dockerfile.parse(ROOT.resolve("docker/" + name + ".Dockerfile"));
            assertThat(file.finalStage()).extracting(Dockerfile.Instruction::arguments)
                    .contains("--from=build /opt/picotunnel /opt/picotunnel");
            String entrypoint = JSON.readValue(file.first("ENTRYPOINT").arguments(), String[].class)[0];
            Path inArchive = home.resolve(Path.of("/opt/picotunnel").relativize(Path.of(entrypoint)));
            Result version = run(List.of(inArchive.toString(), "--version"), Map.of(), work);
            assertThat(version.exitCode()).as(version.output()).isZero();
            assertThat(version.output()).contains("picotunnel-" + name + " " + io.picotunnel.server.Version.get());
        }
    }

    private void assertClientSays(String server, String sentence) throws Exception {
        Path log = work.resolve("client-" + Integer.toHexString(server.hashCode()) + ".log");
        ProcessBuilder builder = new ProcessBuilder(links.resolve("picotunnel-client").toString(), "--server", server)
                .directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        isolate(builder.environment());
        builder.environment().put("PICOTUNNEL_TOKEN", "t".repeat(40));
        // the JDK's resolver reads this file only, never DNS: tunnel.picotunnel.invalid is not looked up anywhere
        Path hosts = Files.writeString(work.resolve("hosts"), "127.0.0.1 localhost\n");
        builder.environment().put("JAVA_OPTS", "-Djdk.net.hosts.file=" + hosts);
        Process client = builder.start();
        processes.add(client);
        await("the client explains " + server).atMost(Duration.ofSeconds(60))
                .until(() -> Files.readString(log).contains(sentence));
        client.destroy(); // SIGTERM, as systemctl stop or docker stop, while it retries
        assertThat(client.waitFor(60, TimeUnit.SECONDS)).as("stopped by SIGTERM").isTrue();
        String output = Files.readString(log);
        assertThat(client.exitValue()).as("a clean stop; output:%n%s", output).isZero();
        assertThat(output).as("no stack trace or hex dump").doesNotContain("\tat ", "Exception", "485454502f");
    }

    @Test
    void serverStartsAsAnotherUserInADataDirectoryItMayWriteButNotChmodAsOnAKubernetesVolumeWithFsGroup()
            throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(SETPRIV)) && "root".equals(System.getProperty("user.name")),
                "needs root and setpriv to run the server as another user");
        // What kubelet makes of a volume for fsGroup 10001: owned by root, group 10001 with write and setgid.
        Path volume = Files.createDirectories(work.resolve("volume"));
        for (Path dir : List.of(unpacked, work)) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setAttribute(volume, "unix:gid", 10001);
        Files.setAttribute(volume, "unix:mode", 02775);
        Path log = work.resolve("server.log");

        Process server = startServer(List.of(SETPRIV, "--reuid=10001", "--regid=10001", "--clear-groups"), volume,
                Map.of(), log);

        int apiPort = apiPort(log, server);
        try (ApiClient api = new ApiClient(apiPort, ADMIN_TOKEN)) {
            assertThat(api.post("/api/tunnels", "{\"name\": \"on-a-volume\"}").status()).isEqualTo(201);
        }
        assertThat(Files.getAttribute(volume, "unix:mode")).as("left as kubelet made it").isEqualTo(042775);
        Path database = volume.resolve("picotunnel.db");
        assertThat(Files.getAttribute(database, "unix:uid")).isEqualTo(10001);
        assertThat(Files.getPosixFilePermissions(database)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        server.toHandle().destroy();
        assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as(Files.readString(log)).isZero();
    }

    /** The server from the archive, through its symlink; {@code flags} (pairs) replace the loopback defaults. */
    private Process startServer(Path data, Map<String, String> env, Path log, String... flags) throws IOException {
        return startServer(List.of(), data, env, log, flags);
    }

    /** As {@link #startServer(Path, Map, Path, String...)}, run through {@code prefix} (such as setpriv). */
    private Process startServer(List<String> prefix, Path data, Map<String, String> env, Path log, String... flags)
            throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("--data", data.toString());
        for (String flag : List.of("--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr")) {
            options.put(flag, "127.0.0.1:0");
        }
        for (int i = 0; i < flags.length; i += 2) {
            options.put(flags[i], flags[i + 1]);
        }
        List<String> command = new ArrayList<>(prefix);
        command.add(links.resolve("picotunnel-server").toString());
        options.forEach((flag, value) -> {
            command.add(flag);
            command.add(value);
        });
        ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        isolate(builder.environment());
        builder.environment().put("PICOTUNNEL_ADMIN_TOKEN", ADMIN_TOKEN);
        builder.environment().putAll(env);
        Process process = builder.start();
        processes.add(process);
        return process;
    }

    private static int apiPort(Path log) {
        return apiPort(log, null);
    }

    /** The API port the server logs; fails at once, with its output, when {@code server} exits before. */
    private static int apiPort(Path log, Process server) {
        int[] port = new int[1];
        await("the server's API port in its log").atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(server == null || server.isAlive()).as("the server runs; its output:%n%s", Files.readString(log))
                    .isTrue();
            Matcher matcher = API_PORT.matcher(Files.readString(log).replace("\\/", "/"));
            if (matcher.find()) {
                port[0] = Integer.parseInt(matcher.group(1));
                return true;
            }
            return false;
        });
        return port[0];
    }

    /** No JAVA_HOME and no Java on the PATH: the archive must bring its own runtime. */
    private static void isolate(Map<String, String> env) {
        env.keySet().removeIf(key -> key.startsWith("PICOTUNNEL_") || key.startsWith("JAVA") || key.equals("JDK_JAVA_OPTIONS"));
        env.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    }

    record Result(int exitCode, String output) {
    }

    private static Result run(List<String> command, Map<String, String> env, Path directory) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
        isolate(builder.environment());
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Result(process.exitValue(), output);
    }
}
