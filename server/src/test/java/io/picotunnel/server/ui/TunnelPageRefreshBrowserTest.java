package io.picotunnel.server.ui;

import com.microsoft.playwright.APIResponse;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Route;
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
import java.util.ArrayList;
import java.util.List;
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

    /**
     * A poll that left before a delete and is answered after the page reloaded the list (a slow network, a busy
     * server) must not put the deleted service back: the page shows the newest answer it has, not the last to arrive.
     */
    @Test
    void aPollAnsweredAfterADeleteDoesNotBringTheDeletedServiceBack() {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"slow-link\"}").json().get("id").asText();
        api.post("/api/tunnels/" + tunnel + "/services",
                "{\"type\": \"http\", \"domain\": \"old.example.com\", \"target_addr\": \"localhost:3000\"}");
        Page page = AdminSignIn.open(chromium.browser(), baseUrl() + "/tunnels/" + tunnel, ADMIN_TOKEN);
        Locator table = page.getByRole(AriaRole.TABLE, new Page.GetByRoleOptions().setName("Services of this tunnel"));
        assertThat(table).containsText("old.example.com");

        // The next poll of the services is answered by the server at once but reaches the page only when released.
        boolean[] hold = {true};
        List<Runnable> held = new ArrayList<>();
        page.route("**/api/tunnels/" + tunnel + "/services", route -> {
            if (hold[0] && route.request().method().equals("GET")) {
                APIResponse answer = route.fetch();
                held.add(() -> route.fulfill(new Route.FulfillOptions().setResponse(answer)));
            } else {
                route.resume();
            }
        });
        page.waitForCondition(() -> !held.isEmpty(), new Page.WaitForConditionOptions().setTimeout(20_000));
        hold[0] = false;

        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Delete \u2068old.example.com\u2069")).click();
        page.getByRole(AriaRole.DIALOG).getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Delete service"))
                .click();
        assertThat(page.getByText("No services yet.")).isVisible();

        // Every later poll is held from now on, so the page shows what it made of the stale answer, released now.
        hold[0] = true;
        held.removeFirst().run();
        page.waitForCondition(() -> !held.isEmpty(), new Page.WaitForConditionOptions().setTimeout(20_000));
        assertThat(table).hasCount(0);
        assertThat(page.getByText("No services yet.")).isVisible();
        hold[0] = false;
        held.forEach(Runnable::run);
    }

    /**
     * A server slower than the 3 s poll (busy, or a dashboard of many tunnels) must not get a new load every 3 s
     * on top of those still unanswered: they would pile up without bound.
     */
    @Test
    void aPollStillUnansweredHoldsBackTheNextInsteadOfPilingUp() {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"busy-server\"}").json().get("id").asText();
        Page page = AdminSignIn.open(chromium.browser(), baseUrl() + "/tunnels/" + tunnel, ADMIN_TOKEN);
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("busy-server"))).isVisible();

        // From now on the server's answers to the tunnel's polls never reach the page (held until the end).
        List<Route> held = new ArrayList<>();
        page.route("**/api/tunnels/" + tunnel + "/services", held::add);
        int[] statsPolls = {0};
        page.onRequest(request -> {
            if (request.url().endsWith("/api/tunnels/" + tunnel + "/stats")) {
                statsPolls[0]++;
            }
        });
        page.waitForCondition(() -> !held.isEmpty(), new Page.WaitForConditionOptions().setTimeout(20_000));
        int statsBefore = statsPolls[0];
        // The monitoring panel, answered, polls on: three of its polls are at least two intervals of 3 s.
        page.waitForCondition(() -> statsPolls[0] >= statsBefore + 3, new Page.WaitForConditionOptions().setTimeout(30_000));

        assertThat(held).as("polls of the services sent while the first was unanswered").hasSize(1);
        held.forEach(Route::resume);
    }

    /**
     * The public addresses need the server's details (GET /api/server), asked once as the page opens: a failure
     * then (a proxy's 502 while the server restarts, a dropped connection) must not leave them off until a reload.
     */
    @Test
    void publicAddressesAppearWhenTheServersDetailsFailedOnceAsThePageOpened() {
        String tunnel = api.post("/api/tunnels", "{\"name\": \"blip\"}").json().get("id").asText();
        api.post("/api/tunnels/" + tunnel + "/services",
                "{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:3000\"}");
        com.microsoft.playwright.BrowserContext context = chromium.browser().newContext();
        int[] asked = {0};
        context.route("**/api/server", route -> {
            if (asked[0]++ == 0) {
                route.abort("connectionreset");
            } else {
                route.resume();
            }
        });
        Page page = context.newPage();
        page.navigate(baseUrl() + "/tunnels/" + tunnel);
        page.getByLabel("Admin token").fill(ADMIN_TOKEN);
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Sign in").setExact(true)).click();
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("blip"))).isVisible();

        assertThat(page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions()
                .setName("Copy address \u2068http://app.example.com:" + server.httpPort() + "/\u2069"))).isVisible();
        assertThat(asked[0]).isGreaterThanOrEqualTo(2);
    }
}
