package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.regex.Pattern;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

/** The public status page in Debian's Chromium, opened without signing in, against a server checking every second. */
class PublicStatusBrowserTest {

    private static final Path SCREENSHOTS = Paths.get("target", "screenshots");

    @TempDir
    Path dataDir;
    private Testbed testbed;
    private HeadlessChromium chromium;

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void statusPageWithoutSignInShowsTheOptedInTunnelsBarsAndNotTheOtherTunnel() throws Exception {
        testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"));
        PicoTunnelServer server = testbed.server();
        Tunnel shown = server.store().createTunnel("public-box");
        server.store().createTunnel("secret-box");
        testbed.connect(shown.id(), shown.token());
        ApiClient api = testbed.api();

        Files.createDirectories(SCREENSHOTS);
        chromium = HeadlessChromium.launch();
        Browser browser = chromium.browser();
        Page page = browser.newContext().newPage();

        // Nothing is public yet.
        page.navigate("http://localhost:" + server.apiPort() + "/status");
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("No public status yet"))).isVisible();
        assertThat(page.getByLabel("Admin token")).hasCount(0);

        assertThat(api.patch("/api/tunnels/" + shown.id(), "{\"public_status\":true}").status()).isEqualTo(200);
        page.reload();
        Locator list = page.getByRole(AriaRole.LIST, new Page.GetByRoleOptions().setName("Public status"));
        assertThat(list.getByRole(AriaRole.HEADING, new Locator.GetByRoleOptions().setName("public-box"))).isVisible();
        // Green bars appear as the checks come in (the page polls every 10 s).
        assertThat(list.locator(".beat-up").first()).isVisible();
        assertThat(list.getByRole(AriaRole.IMG, new Locator.GetByRoleOptions()
                .setName(Pattern.compile("Checks of \\u2068public-box\\u2069: \\d+ of the last \\d+ checks up")))).isVisible();
        assertThat(list.locator(".beat-up").first()).hasAttribute("title", Pattern.compile(": up, \\d+ ms$"));
        assertThat(page.getByText("secret-box")).hasCount(0);
        assertThat(page.getByLabel("Admin token")).hasCount(0);
        assertThat(page.locator("body")).not().containsText(shown.id());
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("public-status.png")).setFullPage(true));
    }
}
