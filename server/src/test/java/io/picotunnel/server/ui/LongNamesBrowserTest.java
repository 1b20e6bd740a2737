package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import com.microsoft.playwright.options.BoundingBox;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * In Chromium on a phone's screen (390 px): the longest names the API takes, written without a space, stay on the
 * screen and readable.
 */
class LongNamesBrowserTest {

    private static final String ADMIN_TOKEN = "long-names-browser-admin-token";
    /** The API's longest tunnel name (100 characters), one word. */
    private static final String TUNNEL_NAME = "n".repeat(100);
    /** A host name of 205 characters: three labels of 63. */
    private static final String DOMAIN = String.join(".", "a".repeat(63), "b".repeat(63), "c".repeat(63)) + ".example.com";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;
    private String tunnel;

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN)),
                new PrintStream(OutputStream.nullOutputStream()));
        try (ApiClient api = new ApiClient(server.apiPort(), ADMIN_TOKEN)) {
            tunnel = api.post("/api/tunnels", "{\"name\": \"" + TUNNEL_NAME + "\"}").json().get("id").asText();
            assertThat(api.post("/api/tunnels/" + tunnel + "/services", "{\"type\": \"http\", \"domain\": \"" + DOMAIN
                    + "\", \"target_addr\": \"localhost:3000\"}").status()).isEqualTo(201);
        }
        chromium = HeadlessChromium.launch();
    }

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    private Page phone() {
        Page page = chromium.browser().newContext(new Browser.NewContextOptions().setViewportSize(390, 844)).newPage();
        page.navigate("http://127.0.0.1:" + server.apiPort() + "/tunnels/" + tunnel);
        page.getByLabel("Admin token").fill(ADMIN_TOKEN);
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Sign in").setExact(true)).click();
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName(TUNNEL_NAME))).isVisible();
        return page;
    }

    @Test
    void theDeleteDialogOfATunnelWithALongNameFitsThePhonesScreen() {
        Page page = phone();
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Delete tunnel")).click();
        Locator dialog = page.getByRole(AriaRole.DIALOG);
        assertThat(dialog).containsText(TUNNEL_NAME);

        BoundingBox box = dialog.boundingBox();
        assertThat(box.x).as("the dialog's left edge").isGreaterThanOrEqualTo(0);
        assertThat(box.x + box.width).as("the dialog's right edge").isLessThanOrEqualTo(390);
        Object spill = dialog.evaluate("dialog => dialog.scrollWidth - dialog.clientWidth");
        assertThat(((Number) spill).intValue()).as("the dialog's content wider than the dialog").isLessThanOrEqualTo(0);
    }

    @Test
    void aLongDomainInTheServicesListOnAPhoneWrapsAcrossTheCardNotDownALetterWideColumn() {
        Page page = phone();
        Locator cell = page.locator(".services-table td[data-label='Public address']");
        Locator domain = cell.locator(".mono").first();
        assertThat(domain).hasText(DOMAIN);

        double cardWidth = page.locator(".services-table tr").first().boundingBox().width;
        assertThat(domain.boundingBox().width).as("the domain's width in a card %s px wide", cardWidth)
                .isGreaterThan(cardWidth / 2);
        Object labelHeight = cell.evaluate("td => parseFloat(getComputedStyle(td, '::before').height)");
        Object lineHeight = cell.evaluate("td => parseFloat(getComputedStyle(td, '::before').lineHeight)");
        assertThat(((Number) labelHeight).doubleValue()).as("the label 'Public address' on one line")
                .isLessThanOrEqualTo(((Number) lineHeight).doubleValue() * 1.5);
    }
}
