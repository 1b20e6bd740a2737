package io.picotunnel.server.ui;

import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
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
 * In Chromium: what a tunnel's page shows when the data it polls changes under it, through another admin, a script
 * or another tab.
 */
class TunnelPageRefreshBrowserTest {

    private static final String ADMIN_TOKEN = "tunnel-page-refresh-admin-token";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private ApiClient api;
    private HeadlessChromium chromium;

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN)),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
        chromium = HeadlessChromium.launch();
    }

    @AfterEach
    void stop() {
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

    private String baseUrl() {
        return "http://127.0.0.1:" + server.apiPort();
    }

    @Test
    void aTunnelDeletedElsewhereSaysSoInsteadOfStayingOnThePage() {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"short-lived\"}").json().get("id").asText();
        Page page = AdminSignIn.open(chromium.browser(), baseUrl() + "/tunnels/" + tunnel, ADMIN_TOKEN);
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("short-lived"))).isVisible();

        assertThat(api.delete("/api/tunnels/" + tunnel).status()).isEqualTo(204);

        // The page polls every 3 s: its next poll finds the tunnel gone.
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Tunnel not found"))).isVisible();
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("short-lived"))).hasCount(0);
        assertThat(page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Add service"))).hasCount(0);
    }
}
