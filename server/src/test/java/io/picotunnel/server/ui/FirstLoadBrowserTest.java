package io.picotunnel.server.ui;

import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

/** In Chromium: the UI's first request, the session check, when it fails. */
class FirstLoadBrowserTest {

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    /**
     * The page loaded, then its session check failed (a dropped connection, a proxy's 502 while the server restarts):
     * the page says so and asks again, and shows the sign-in form once the server answers, without a reload.
     */
    @Test
    void aSessionCheckThatFailsAsThePageOpensIsAskedAgain() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN,
                "first-load-browser-admin-token")), new PrintStream(OutputStream.nullOutputStream()));
        chromium = HeadlessChromium.launch();
        BrowserContext context = chromium.browser().newContext();
        int[] asked = {0};
        context.route("**/auth/session", route -> {
            if (asked[0]++ == 0) {
                route.abort("connectionreset");
            } else {
                route.resume();
            }
        });
        Page page = context.newPage();
        page.navigate("http://127.0.0.1:" + server.apiPort() + "/");
        assertThat(page.getByRole(com.microsoft.playwright.options.AriaRole.ALERT)).containsText("Could not reach the server");

        assertThat(page.getByLabel("Admin token")).isVisible();
    }

    /**
     * A server (or a proxy in front) that takes the session check and never answers: the page says so after the
     * request's time limit (15 s) instead of "Loading…" for good, and shows the sign-in form once the server answers.
     */
    @Test
    void aSessionCheckNeverAnsweredEndsInAMessageInsteadOfLoadingForGood() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN,
                "first-load-browser-admin-token")), new PrintStream(OutputStream.nullOutputStream()));
        chromium = HeadlessChromium.launch();
        BrowserContext context = chromium.browser().newContext();
        int[] asked = {0};
        context.route("**/auth/session", route -> {
            if (asked[0]++ > 0) {
                route.resume();
            }
            // the first is held: neither answered nor failed
        });
        Page page = context.newPage();
        page.navigate("http://127.0.0.1:" + server.apiPort() + "/");
        assertThat(page.getByRole(com.microsoft.playwright.options.AriaRole.STATUS)).hasText("Loading…");

        assertThat(page.getByRole(com.microsoft.playwright.options.AriaRole.ALERT)).containsText(
                "The server did not answer within 15 seconds",
                new com.microsoft.playwright.assertions.LocatorAssertions.ContainsTextOptions().setTimeout(30_000));
        assertThat(page.getByLabel("Admin token")).isVisible();
    }

    /** Chromium takes the script and the styles gzipped (compressed once, at start), and the page works with them. */
    @Test
    void theUiLoadsWithItsScriptAndStylesGzipped() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN,
                "first-load-browser-admin-token")), new PrintStream(OutputStream.nullOutputStream()));
        chromium = HeadlessChromium.launch();
        Page page = chromium.browser().newContext().newPage();
        java.util.List<String> encodings = new java.util.concurrent.CopyOnWriteArrayList<>();
        page.onResponse(response -> {
            if (response.url().contains("/assets/")) {
                encodings.add(response.url().replaceAll(".*/assets/[^.]+", "") + " "
                        + response.headers().getOrDefault("content-encoding", "none") + " vary "
                        + response.headers().getOrDefault("vary", "none"));
            }
        });
        page.navigate("http://127.0.0.1:" + server.apiPort() + "/");

        assertThat(page.getByLabel("Admin token")).isVisible();
        org.assertj.core.api.Assertions.assertThat(encodings).containsExactlyInAnyOrder(
                ".js gzip vary Accept-Encoding", ".css gzip vary Accept-Encoding");
    }
}
