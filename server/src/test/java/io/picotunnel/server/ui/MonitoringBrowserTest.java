package io.picotunnel.server.ui;

import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.regex.Pattern;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Monitoring in Debian's Chromium against a real server checking every second: heartbeat bars and traffic
 * appear; stopping the server shows the warning and the tunnel's state turns unknown.
 */
class MonitoringBrowserTest {

    private static final Path SCREENSHOTS = Paths.get("target", "screenshots");

    @TempDir
    Path dataDir;
    private Testbed testbed;
    private HeadlessChromium chromium;
    private EchoServer echo;

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (testbed != null) {
            testbed.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    @Test
    void heartbeatBarsAndTrafficAppearAndAStoppedServerShowsTheWarning() throws Exception {
        testbed = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"));
        PicoTunnelServer server = testbed.server();
        String baseUrl = "http://localhost:" + server.apiPort();
        Tunnel tunnel = server.store().createTunnel("watched-box");
        echo = new EchoServer();
        int servicePort = Ports.freePort();
        Service service = server.store().createService(new Service(null, tunnel.id(), ServiceType.TCP, null, "/", io.picotunnel.server.store.TlsMode.TERMINATE,
                "127.0.0.1:" + servicePort, echo.address(), true, null)).orElseThrow();
        testbed.connect(tunnel.id(), tunnel.token());
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            socket.getOutputStream().write(new byte[4321]);
            assertThat(socket.getInputStream().readNBytes(4321)).hasSize(4321);
        }

        Files.createDirectories(SCREENSHOTS);
        chromium = HeadlessChromium.launch();
        Page page = AdminSignIn.open(chromium.browser(), baseUrl + "/", Testbed.ADMIN_TOKEN);

        // Dashboard: the tunnel's card gets green bars as checks come in (polled every 3 s).
        Locator card = page.locator(".tunnel-card").filter(new Locator.FilterOptions().setHasText("watched-box"));
        assertThat(card.locator(".beat-up").first()).isVisible();
        assertThat(card.getByRole(AriaRole.IMG, new Locator.GetByRoleOptions()
                .setName(Pattern.compile("Checks of \\u2068watched-box\\u2069: \\d+ of the last \\d+ checks up")))).isVisible();
        assertThat(card.locator(".beat-up").first()).hasAttribute("title", Pattern.compile(": up, \\d+ ms$"));
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("monitoring-dashboard.png")).setFullPage(true));

        // Tunnel page: heartbeat, uptime and the bytes that went through the tcp service.
        card.getByRole(AriaRole.LINK, new Locator.GetByRoleOptions().setName("watched-box")).click();
        assertThat(page.getByRole(AriaRole.IMG, new Page.GetByRoleOptions().setName(Pattern.compile("^Tunnel checks: \\d+ of")))).isVisible();
        Locator traffic = page.locator(".traffic-table");
        assertThat(traffic).containsText("127.0.0.1:" + servicePort);
        assertThat(traffic).containsText("4.3 kB");
        // The first check may have run before the client connected: some percentage, not a dash.
        assertThat(page.locator(".uptime")).containsText(Pattern.compile("Uptime 24 h\\d+(\\.\\d+)? %"));
        assertThat(page.getByRole(AriaRole.LIST, new Page.GetByRoleOptions().setName("Events"))).containsText("connected from");
        assertThat(page.getByText("Connected", new Page.GetByTextOptions().setExact(true)).first()).isVisible();
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("monitoring-tunnel.png")).setFullPage(true));
        assertThat(service.id()).isNotNull();

        // The server goes away: the UI says so at its next poll and no longer shows the tunnel as connected.
        server.stop();
        assertThat(page.getByRole(AriaRole.ALERT)).containsText("The PicoTunnel server cannot be reached.");
        assertThat(page.getByText("Unknown", new Page.GetByTextOptions().setExact(true)).first()).isVisible();
        assertThat(page.getByText("Connected", new Page.GetByTextOptions().setExact(true))).hasCount(0);
        // What was seen stays on the page, marked as out of date, rather than vanishing or passing for current.
        assertThat(page.getByRole(AriaRole.IMG, new Page.GetByRoleOptions()
                .setName(Pattern.compile("^Tunnel checks: .*out of date")))).isVisible();
        assertThat(page.getByRole(AriaRole.LIST, new Page.GetByRoleOptions().setName("Events"))).containsText("connected from");
        assertThat(page.getByText("unknown: the server cannot be reached", new Page.GetByTextOptions().setExact(true))).isVisible();
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("monitoring-unreachable.png")).setFullPage(true));
    }
}
