package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
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
import java.util.List;
import java.util.Map;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

/**
 * In Chromium: a tcp service whose port another process holds is shown in red with the reason, with its public
 * address and a copy button, and turns normal once the port is free; the tunnel can be renamed.
 */
class ServiceStateBrowserTest {

    private static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    private static final String ADMIN_TOKEN = "service-state-browser-admin-token";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private Playwright playwright;
    private Browser browser;

    @AfterEach
    void stop() {
        if (browser != null) {
            browser.close();
        }
        if (playwright != null) {
            playwright.close();
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
            playwright = Playwright.create(new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
            browser = playwright.chromium().launch(new BrowserType.LaunchOptions().setExecutablePath(CHROMIUM).setHeadless(true)
                    .setArgs(List.of("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update")));
            Page page = browser.newContext().newPage();
            page.navigate("http://127.0.0.1:" + server.apiPort() + "/");
            page.getByLabel("Admin token").fill(ADMIN_TOKEN);
            page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Sign in")).click();
            page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("ports")).click();

            Locator row = page.locator("tr", new Page.LocatorOptions().setHasText("localhost:22"));
            assertThat(row).containsText("Not active");
            assertThat(row).containsText("cannot listen on 127.0.0.1:" + port);
            assertThat(row).hasClass(java.util.regex.Pattern.compile("row-failed"));
            assertThat(row.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions()
                    .setName("Copy address 127.0.0.1:" + port))).isVisible();
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
}
