package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.options.AriaRole;
import com.microsoft.playwright.options.ColorScheme;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.TcpTarget;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The whole UI in Debian's Chromium, driven by Playwright, against a real server and a real OpenID Connect
 * provider (mock-oauth2-server with its interactive login page). Screenshots of each page go to
 * {@code target/screenshots/} for review.
 */
class BrowserEndToEndTest {

    private static final Path SCREENSHOTS = Paths.get("target", "screenshots");
    private static final String USER = "admin@example.com";

    @TempDir
    Path dataDir;
    private SingleSignOnServer sso;
    private MockOAuth2Server provider;
    private PicoTunnelServer server;
    private HeadlessChromium chromium;
    private Browser browser;
    private String baseUrl;
    private TcpTarget echo;
    private TunnelClient client;

    @BeforeEach
    void start() throws Exception {
        sso = SingleSignOnServer.start(dataDir, USER);
        provider = sso.provider();
        server = sso.server();
        baseUrl = sso.baseUrl();

        Files.createDirectories(SCREENSHOTS);
        chromium = HeadlessChromium.launch();
        browser = chromium.browser();
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (chromium != null) {
            chromium.close();
        }
        if (sso != null) {
            sso.close();
        }
    }

    private static void screenshot(Page page, String name) {
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve(name + ".png")).setFullPage(true));
    }

    /** Sends a line to the TCP service's public port and reads the echo that comes back through the tunnel. */
    private static String echoThroughTheTunnel(int port, String text) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            byte[] sent = text.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(sent);
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            byte[] received = in.readNBytes(sent.length);
            return new String(received, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Locator field(Locator dialog, String label) {
        return dialog.getByLabel(label, new Locator.GetByLabelOptions().setExact(true));
    }

    private static Locator button(Page page, String name) {
        return page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName(name).setExact(true));
    }

    @Test
    void signInManageTunnelAndServicesThenSignOut() {
        BrowserContext context = browser.newContext(new Browser.NewContextOptions().setViewportSize(1280, 860));
        context.setDefaultTimeout(20_000);
        Page page = context.newPage();

        // sign in through the provider's login page
        page.navigate(baseUrl + "/");
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Sign in to PicoTunnel"))).isVisible();
        screenshot(page, "01-sign-in");
        page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("Continue with single sign-on")).click();
        page.waitForURL(url -> url.startsWith(provider.baseUrl().toString()));
        screenshot(page, "02-provider-login");
        sso.signInAtProvider(page, "admin", SingleSignOnServer.verifiedEmail(USER));

        // the empty dashboard explains the first step
        page.waitForURL(baseUrl + "/");
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Create your first tunnel"))).isVisible();
        assertThat(page.getByText(USER)).isVisible();
        screenshot(page, "03-dashboard-empty");

        // create a tunnel: the UI goes to its page
        button(page, "Create tunnel").click();
        page.getByLabel("Name", new Page.GetByLabelOptions().setExact(true)).fill("home-server");
        screenshot(page, "04-create-tunnel");
        page.getByRole(AriaRole.DIALOG).getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Create tunnel")).click();
        page.waitForURL(Pattern.compile(".*/tunnels/[0-9a-f]{16}$"));
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("home-server"))).isVisible();
        Tunnel tunnel = server.store().tunnels().getFirst();
        assertThat(page.getByText("No services yet.")).isVisible();
        // the token is on the page this once (the server keeps only its hash), and it is the tunnel's
        Locator tokenField = page.getByLabel("Tunnel token", new Page.GetByLabelOptions().setExact(true));
        assertThat(tokenField).hasValue(Pattern.compile("[0-9a-f]{64}"));
        String token = tokenField.inputValue();
        assertThat(server.store().findTunnelByToken(token)).map(Tunnel::id).contains(tunnel.id());
        assertThat(page.getByRole(AriaRole.NOTE)).containsText("shown only this once");

        // an invalid domain: the API's message appears next to the field
        button(page, "Add service").click();
        Locator dialog = page.getByRole(AriaRole.DIALOG);
        field(dialog, "Domain").fill("bad_host!");
        field(dialog, "Target").fill("localhost:3000");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Add service")).click();
        assertThat(field(dialog, "Domain")).hasAttribute("aria-invalid", "true");
        assertThat(dialog.locator(".field-error")).containsText("domain");
        screenshot(page, "05-service-validation-error");

        // fix it: the HTTP service is added
        field(dialog, "Domain").fill("app.example.com");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Add service")).click();
        assertThat(page.getByRole(AriaRole.DIALOG)).hasCount(0);
        Locator table = page.getByRole(AriaRole.TABLE, new Page.GetByRoleOptions().setName("Services of this tunnel"));
        assertThat(table.getByRole(AriaRole.ROW)).hasCount(2);
        assertThat(table).containsText("app.example.com");

        // a TCP service to an echo server on the client's side
        echo = TcpTarget.echo();
        int tcpPort = Ports.freePort();
        button(page, "Add service").click();
        dialog = page.getByRole(AriaRole.DIALOG);
        field(dialog, "TCP — by port").check();
        field(dialog, "Listen address").fill("127.0.0.1:" + tcpPort);
        field(dialog, "Target").fill(echo.address());
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Add service")).click();
        assertThat(table.getByRole(AriaRole.ROW)).hasCount(3);
        assertThat(table).containsText("127.0.0.1:" + tcpPort);
        assertThat(server.store().services(tunnel.id())).extracting(Service::type)
                .containsExactlyInAnyOrder(ServiceType.HTTP, ServiceType.TCP);

        // a real client connects with the tunnel's token: the page shows it without a reload
        assertThat(page.locator(".tunnel-title .badge")).hasText("Offline");
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()), token));
        client.start();
        assertThat(page.locator(".tunnel-title .badge")).hasText("Connected");
        assertThat(page.getByText(Pattern.compile("^Connected since .+"))).isVisible();
        // the clients table lists the one client, with its version
        assertThat(page.locator(".clients-table tbody tr")).hasCount(1);
        assertThat(page.locator(".clients-table tbody tr td[data-label=Version]")).not().isEmpty();
        assertThat(echoThroughTheTunnel(tcpPort, "hello through the tunnel")).isEqualTo("hello through the tunnel");
        screenshot(page, "06-tunnel-connected");

        // token hide and reveal, and the ready-made commands carry the token
        button(page, "Hide").click();
        assertThat(page.getByLabel("Tunnel token (hidden)", new Page.GetByLabelOptions().setExact(true))).isVisible();
        assertThat(page.getByRole(AriaRole.TABPANEL)).not().containsText(token);
        button(page, "Reveal").click();
        assertThat(page.getByLabel("Tunnel token", new Page.GetByLabelOptions().setExact(true))).hasValue(token);
        assertThat(page.getByRole(AriaRole.TABPANEL)).containsText(token);
        page.getByRole(AriaRole.TAB, new Page.GetByRoleOptions().setName("systemd")).click();
        assertThat(page.getByRole(AriaRole.TABPANEL)).containsText("PICOTUNNEL_TOKEN=" + token);
        screenshot(page, "07-client-commands");

        // edit the HTTP service
        button(page, "Edit \u2068app.example.com\u2069").click();
        dialog = page.getByRole(AriaRole.DIALOG);
        field(dialog, "Target").fill("localhost:3001");
        screenshot(page, "08-edit-service");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Save changes")).click();
        assertThat(table).containsText("localhost:3001");

        // single sign-on with no allow list is refused until every user of the provider is allowed explicitly
        button(page, "Edit \u2068app.example.com\u2069").click();
        dialog = page.getByRole(AriaRole.DIALOG);
        field(dialog, "Sign-in").selectOption("oidc");
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Save changes")).click();
        assertThat(field(dialog, "Sign-in")).hasAttribute("aria-invalid", "true");
        assertThat(dialog.locator(".field-error")).containsText("Allow every user of the identity provider");
        field(dialog, "Allow every user of the identity provider").check();
        assertThat(field(dialog, "Allowed emails")).hasCount(0);
        dialog.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Save changes")).click();
        assertThat(page.getByRole(AriaRole.DIALOG)).hasCount(0);
        assertThat(table).containsText("Single sign-on: every user");
        assertThat(server.store().services(tunnel.id())).filteredOn(s -> s.type() == ServiceType.HTTP)
                .extracting(s -> s.access().auth())
                .containsExactly(new ServiceAuth.Oidc(Set.of(), Set.of(), true));

        // disable the TCP service with its switch
        Locator tcpSwitch = page.getByRole(AriaRole.SWITCH, new Page.GetByRoleOptions().setName("Enabled: \u2068127.0.0.1:" + tcpPort + "\u2069"));
        assertThat(tcpSwitch).isChecked();
        tcpSwitch.click();
        assertThat(tcpSwitch).not().isChecked();
        assertThat(server.store().services(tunnel.id())).filteredOn(s -> s.type() == ServiceType.TCP)
                .extracting(Service::enabled).containsExactly(false);
        assertThatThrownBy(() -> new Socket("127.0.0.1", tcpPort).close()).as("the disabled service's port is closed")
                .isInstanceOf(java.net.ConnectException.class);

        // delete the HTTP service after confirmation
        button(page, "Delete \u2068app.example.com\u2069").click();
        screenshot(page, "09-delete-confirmation");
        page.getByRole(AriaRole.DIALOG).getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Delete service")).click();
        assertThat(table.getByRole(AriaRole.ROW)).hasCount(2);
        assertThat(table).not().containsText("app.example.com");

        // deep link survives a reload; the token does not: it cannot be shown again
        page.reload();
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("home-server"))).isVisible();
        assertThat(page.getByText(Pattern.compile("cannot be shown\\s+again"))).isVisible();
        assertThat(page.getByRole(AriaRole.TABPANEL)).not().containsText(token);

        // the dashboard lists the tunnel with its service count
        page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("All tunnels")).click();
        Locator card = page.getByRole(AriaRole.LISTITEM).filter(new Locator.FilterOptions().setHasText("home-server"));
        assertThat(card).containsText("1 service (1 TCP)");
        assertThat(card).containsText("Connected");
        assertThat(card).containsText("Connected since");
        screenshot(page, "10-dashboard");

        // phone width, dark system theme: same session, no sideways scrolling
        try (BrowserContext phone = browser.newContext(new Browser.NewContextOptions().setViewportSize(390, 844)
                .setColorScheme(ColorScheme.DARK).setStorageState(context.storageState()))) {
            Page small = phone.newPage();
            small.navigate(baseUrl + "/tunnels/" + tunnel.id());
            assertThat(small.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("home-server"))).isVisible();
            assertThat(small.getByText("127.0.0.1:" + tcpPort).first()).isVisible();
            Object overflow = small.evaluate("() => document.documentElement.scrollWidth - window.innerWidth");
            assertThat(((Number) overflow).intValue()).isLessThanOrEqualTo(0);
            Object background = small.evaluate("() => getComputedStyle(document.body).backgroundColor");
            assertThat(background).as("dark theme follows the system setting").isEqualTo("rgb(11, 14, 20)");
            screenshot(small, "11-phone-dark-tunnel");
            small.navigate(baseUrl + "/");
            assertThat(small.getByRole(AriaRole.LISTITEM).filter(new Locator.FilterOptions().setHasText("home-server"))).isVisible();
            screenshot(small, "12-phone-dark-dashboard");
        }

        // sign out: through the provider's logout (RP-initiated) back to the sign-in page; the old session is gone
        List<String> visited = new java.util.concurrent.CopyOnWriteArrayList<>();
        page.onRequest(request -> visited.add(request.url()));
        button(page, "Sign out").click();
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Sign in to PicoTunnel"))).isVisible();
        assertThat(visited).anyMatch(url -> url.startsWith(provider.endSessionEndpointUrl("default").toString()));
        assertThat(page.request().get(baseUrl + "/api/tunnels").status()).isEqualTo(401);
        screenshot(page, "13-signed-out");
        context.close();
    }
}
