package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The public status page in Debian's Chromium, opened without signing in, against a server checking every second. */
class PublicStatusBrowserTest {

    private static final Path SCREENSHOTS = Paths.get("target", "screenshots");
    private static final String TOKEN = "browser-status-token-0123456789ab";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;
    private TunnelClient client;
    private ApiClient api;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (chromium != null) {
            chromium.close();
        }
        if (api != null) {
            api.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void statusPageWithoutSignInShowsTheOptedInTunnelsBarsAndNotTheOtherTunnel() throws Exception {
        int port = Ports.freePort();
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.LISTEN_ADDR, "127.0.0.1:" + port);
        settings.put(Setting.ADMIN_TOKEN, TOKEN);
        settings.put(Setting.CHECK_INTERVAL, "1s");
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings), new PrintStream(OutputStream.nullOutputStream()));
        Tunnel shown = server.store().createTunnel("public-box");
        server.store().createTunnel("secret-box");
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()), shown.token())
                .withShutdownGrace(Duration.ZERO));
        client.start();
        await().atMost(10, TimeUnit.SECONDS).until(() -> server.registry().isConnected(shown.id()));
        api = new ApiClient(server.apiPort(), TOKEN);

        Files.createDirectories(SCREENSHOTS);
        chromium = HeadlessChromium.launch();
        Browser browser = chromium.browser();
        Page page = browser.newContext().newPage();

        // Nothing is public yet.
        page.navigate("http://localhost:" + port + "/status");
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("No public status yet"))).isVisible();
        assertThat(page.getByLabel("Admin token")).hasCount(0);

        assertThat(api.patch("/api/tunnels/" + shown.id(), "{\"public_status\":true}").status()).isEqualTo(200);
        page.reload();
        Locator list = page.getByRole(AriaRole.LIST, new Page.GetByRoleOptions().setName("Public status"));
        assertThat(list.getByRole(AriaRole.HEADING, new Locator.GetByRoleOptions().setName("public-box"))).isVisible();
        // Green bars appear as the checks come in (the page polls every 10 s).
        assertThat(list.locator(".beat-up").first()).isVisible();
        assertThat(list.getByRole(AriaRole.IMG, new Locator.GetByRoleOptions()
                .setName(Pattern.compile("Checks of public-box: \\d+ of the last \\d+ checks up")))).isVisible();
        assertThat(list.locator(".beat-up").first()).hasAttribute("title", Pattern.compile(": up, \\d+ ms$"));
        assertThat(page.getByText("secret-box")).hasCount(0);
        assertThat(page.getByLabel("Admin token")).hasCount(0);
        assertThat(page.locator("body")).not().containsText(shown.id());
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("public-status.png")).setFullPage(true));
    }
}
