package io.picotunnel.server.ui;

import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Service;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

/** In Chromium: the service form takes what the API takes. */
class ServiceFormBrowserTest {

    private static final String ADMIN_TOKEN = "service-form-browser-admin-token";

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN)),
                new PrintStream(OutputStream.nullOutputStream()));
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

    /** A name of one label (a host on the LAN's own DNS, localhost) is a host name the API and the proxy take. */
    @Test
    void aDomainOfOneLabelIsAddedThroughTheForm() {
        String tunnel;
        try (ApiClient api = new ApiClient(server.apiPort(), ADMIN_TOKEN)) {
            tunnel = api.post("/api/tunnels", "{\"name\": \"lan\"}").json().get("id").asText();
        }
        Page page = AdminSignIn.open(chromium.browser(), "http://127.0.0.1:" + server.apiPort() + "/tunnels/" + tunnel,
                ADMIN_TOKEN);
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Add service")).click();
        Locator dialog = page.getByRole(AriaRole.DIALOG);
        dialog.getByLabel("Domain", new Locator.GetByLabelOptions().setExact(true)).fill("intranet");
        dialog.getByLabel("Target", new Locator.GetByLabelOptions().setExact(true)).fill("localhost:3000");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Add service")).click();

        assertThat(page.getByRole(AriaRole.DIALOG)).hasCount(0);
        assertThat(page.getByRole(AriaRole.TABLE, new Page.GetByRoleOptions().setName("Services of this tunnel")))
                .containsText("intranet");
        assertThat(server.store().services(tunnel)).extracting(Service::domain).containsExactly("intranet");
    }

    /**
     * A domain given as bücher.test is stored as xn--bcher-kva.test, listed in Unicode beside that form, linked in the
     * xn-- form, and edited in Unicode without changing what is stored.
     */
    @Test
    void aDomainBeyondAsciiIsListedAndEditedInUnicodeAndLinkedInItsXnForm() {
        String tunnel;
        try (ApiClient api = new ApiClient(server.apiPort(), ADMIN_TOKEN)) {
            tunnel = api.post("/api/tunnels", "{\"name\": \"books\"}").json().get("id").asText();
        }
        Page page = AdminSignIn.open(chromium.browser(), "http://127.0.0.1:" + server.apiPort() + "/tunnels/" + tunnel,
                ADMIN_TOKEN);
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Add service")).click();
        Locator dialog = page.getByRole(AriaRole.DIALOG);
        dialog.getByLabel("Domain", new Locator.GetByLabelOptions().setExact(true)).fill("bücher.test");
        dialog.getByLabel("Target", new Locator.GetByLabelOptions().setExact(true)).fill("localhost:3000");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Add service")).click();

        Locator table = page.getByRole(AriaRole.TABLE, new Page.GetByRoleOptions().setName("Services of this tunnel"));
        assertThat(table).containsText("bücher.test");
        assertThat(table).containsText("xn--bcher-kva.test");
        Locator link = table.getByRole(AriaRole.LINK);
        assertThat(link).containsText("://bücher.test");
        assertThat(link).hasAttribute("href", Pattern.compile("^https?://xn--bcher-kva\\.test[:/]"));
        assertThat(server.store().services(tunnel)).extracting(Service::domain).containsExactly("xn--bcher-kva.test");

        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Edit \u2068bücher.test\u2069")).click();
        assertThat(dialog.getByLabel("Domain", new Locator.GetByLabelOptions().setExact(true))).hasValue("bücher.test");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Save changes")).click();
        assertThat(page.getByRole(AriaRole.DIALOG)).hasCount(0);
        assertThat(server.store().services(tunnel)).extracting(Service::domain).containsExactly("xn--bcher-kva.test");
    }
}
