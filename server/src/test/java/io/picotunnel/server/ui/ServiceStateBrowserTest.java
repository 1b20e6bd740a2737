package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.assertions.LocatorAssertions;
import com.microsoft.playwright.options.AriaRole;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

/**
 * In Chromium: a tcp service whose port another process holds is shown in red with the reason, with its public
 * address and a copy button, and turns normal once the port is free; the tunnel can be renamed.
 */
class ServiceStateBrowserTest {

    private static final String ADMIN_TOKEN = "service-state-browser-admin-token";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;
    private Browser browser;

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    private PicoTunnelServer start() {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN)),
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Test
    void aServiceWhosePortIsTakenShowsInRedWithTheReasonUntilThePortIsFree() throws Exception {
        int port = Ports.freePort();
        try (PicoTunnelServer first = start(); ApiClient api = new ApiClient(first.apiPort(), ADMIN_TOKEN)) {
            String tunnel = api.post("/api/tunnels", "{\"name\": \"ports\"}").json().get("id").asText();
            api.post("/api/tunnels/" + tunnel + "/services", "{\"type\": \"tcp\", \"listen_addr\": \"127.0.0.1:" + port
                    + "\", \"target_addr\": \"localhost:22\"}");
        }
        ServerSocket squatter = new ServerSocket();
        try {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            server = start();
            chromium = HeadlessChromium.launch();
            browser = chromium.browser();
            Page page = AdminSignIn.open(browser, "http://127.0.0.1:" + server.apiPort() + "/", ADMIN_TOKEN);
            page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("ports")).click();

            Locator row = page.locator("tr", new Page.LocatorOptions().setHasText("localhost:22"));
            assertThat(row).containsText("Not active");
            assertThat(row).containsText("cannot listen on 127.0.0.1:" + port);
            assertThat(row).hasClass(java.util.regex.Pattern.compile("row-failed"));
            assertThat(row.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions()
                    .setName("Copy address \u2068127.0.0.1:" + port + "\u2069"))).isVisible();
            Files.createDirectories(Paths.get("target", "screenshots"));
            page.screenshot(new Page.ScreenshotOptions().setPath(Paths.get("target", "screenshots", "service-port-taken.png"))
                    .setFullPage(true));

            squatter.close();
            assertThat(row).not().containsText("Not active", new LocatorAssertions.ContainsTextOptions().setTimeout(60_000));
            assertThat(row).not().hasClass(java.util.regex.Pattern.compile("row-failed"));

            page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Rename")).click();
            page.getByLabel("Tunnel name").fill("office");
            page.getByLabel("Tunnel name").press("Enter");
            assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("office"))).isVisible();
        } finally {
            squatter.close();
        }
    }

    /**
     * The Binary and systemd tabs as a user copies them: the binary command runs in bash (picotunnel-client on the
     * PATH is the real client) and connects the tunnel; the systemd unit passes {@code systemd-analyze verify}.
     */
    @Test
    void theUisBinaryAndSystemdCommandsWorkAsShown() throws Exception {
        server = start();
        chromium = HeadlessChromium.launch();
        browser = chromium.browser();
        Page page = AdminSignIn.open(browser, "http://127.0.0.1:" + server.apiPort() + "/", ADMIN_TOKEN);
        // The server keeps only the token's hash: the page shows it (revealed) once, right after the tunnel is made.
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Create tunnel")).click();
        page.getByLabel("Name", new Page.GetByLabelOptions().setExact(true)).fill("laptop");
        page.getByRole(AriaRole.DIALOG).getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Create tunnel"))
                .click();
        page.waitForURL(java.util.regex.Pattern.compile(".*/tunnels/[0-9a-f]{16}$"));
        assertThat(page.getByLabel("Tunnel token", new Page.GetByLabelOptions().setExact(true)))
                .hasValue(java.util.regex.Pattern.compile("[0-9a-f]{64}"));
        String tunnel = server.store().tunnels().getFirst().id();
        Locator code = page.locator("[role=tabpanel] pre");

        page.getByRole(AriaRole.TAB, new Page.GetByRoleOptions().setName("Binary")).click();
        assertThat(code).containsText("picotunnel-client --server");
        String binary = code.innerText();
        org.assertj.core.api.Assertions.assertThat(binary).doesNotContain("--token");

        Path bin = Files.createDirectories(dataDir.resolve("bin"));
        Path client = bin.resolve("picotunnel-client");
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Files.writeString(client, "#!/bin/sh\nexec '" + javaBin + "' -cp '" + System.getProperty("java.class.path")
                + "' io.picotunnel.client.ClientMain --shutdown-grace 0s \"$@\"\n");
        client.toFile().setExecutable(true);
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", binary).redirectErrorStream(true)
                .redirectOutput(dataDir.resolve("binary-tab.log").toFile());
        builder.environment().put("PATH", bin + ":/usr/bin:/bin");
        builder.environment().remove("PICOTUNNEL_TOKEN");
        Process running = builder.start();
        try {
            org.awaitility.Awaitility.await("the client from the Binary tab connects")
                    .atMost(java.time.Duration.ofSeconds(60))
                    .until(() -> server.registry().isConnected(tunnel));
        } finally {
            running.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            running.destroyForcibly().waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }

        page.getByRole(AriaRole.TAB, new Page.GetByRoleOptions().setName("systemd")).click();
        assertThat(code).containsText("[Service]");
        String systemd = code.innerText();
        java.util.regex.Matcher unit = java.util.regex.Pattern.compile(
                "cat > /etc/systemd/system/(picotunnel-laptop\\.service) <<'EOF'\\n(.*?)\\nEOF", java.util.regex.Pattern.DOTALL)
                .matcher(systemd);
        org.assertj.core.api.Assertions.assertThat(unit.find()).as(systemd).isTrue();
        Path root = dataDir.resolve("root");
        Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
        Files.writeString(units.resolve(unit.group(1)), unit.group(2) + "\n");
        Path exe = Files.createDirectories(root.resolve("opt/picotunnel/bin")).resolve("picotunnel-client");
        Files.writeString(exe, "#!/bin/sh\n");
        exe.toFile().setExecutable(true);
        Path system = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
        try (var files = Files.list(Paths.get("/usr/lib/systemd/system"))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, system.resolve(file.getFileName()));
            }
        }
        Process verify = new ProcessBuilder("systemd-analyze", "verify", "--root=" + root,
                units.resolve(unit.group(1)).toString()).redirectErrorStream(true).start();
        String output = new String(verify.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        org.assertj.core.api.Assertions.assertThat(verify.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        org.assertj.core.api.Assertions.assertThat(verify.exitValue()).as(output).isZero();
        org.assertj.core.api.Assertions.assertThat(output).as("no warning about the unit").doesNotContain("picotunnel");
    }
}
