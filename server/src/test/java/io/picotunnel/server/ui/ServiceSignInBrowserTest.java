package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.Response;
import com.microsoft.playwright.options.Cookie;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.access.ServiceSignIn;
import io.picotunnel.server.api.ApiClient;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Single sign-on in front of published apps ({@code auth: oidc}), in Debian's Chromium driven by Playwright,
 * through the real provider the UI tests use (mock-oauth2-server with its login page) and the server's own
 * callback. Two apps, {@code app1.test} and {@code app2.test}, resolve to loopback in the browser.
 */
class ServiceSignInBrowserTest {

    private static final String ALICE = "alice@example.com";

    @TempDir
    Path dataDir;
    private SingleSignOnServer sso;
    private MockOAuth2Server provider;
    private PicoTunnelServer server;
    private ApiClient api;
    private TunnelClient client;
    private HttpServer target;
    private HeadlessChromium chromium;
    private Browser browser;
    private String app1;
    private String app2;

    @BeforeEach
    void start() throws Exception {
        sso = SingleSignOnServer.start(dataDir, "admin@example.com");
        provider = sso.provider();
        server = sso.server();
        api = new ApiClient(server.apiPort(), server.adminToken());

        // the app behind the tunnel shows who the proxy says the visitor is
        target = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        target.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        target.createContext("/", exchange -> {
            String body = "<html><body><h1>App</h1><p id=user>" + exchange.getRequestHeaders().getFirst("X-PicoTunnel-User")
                    + "</p><p id=email>" + exchange.getRequestHeaders().getFirst("X-PicoTunnel-Email") + "</p><p id=cookie>"
                    + exchange.getRequestHeaders().getFirst("Cookie") + "</p></body></html>";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        target.start();

        ApiClient.Response tunnel = api.post("/api/tunnels", "{\"name\":\"apps\"}");
        String tunnelId = tunnel.json().get("id").asText();
        for (String domain : List.of("app1.test", "app2.test")) {
            ApiClient.Response created = api.post("/api/tunnels/" + tunnelId + "/services", "{\"type\":\"http\",\"domain\":\""
                    + domain + "\",\"target_addr\":\"127.0.0.1:" + target.getAddress().getPort() + "\","
                    + "\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"" + ALICE + "\"]}}");
            assertThat(created.status()).as(created.toString()).isEqualTo(201);
        }
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()),
                tunnel.json().get("token").asText()).withShutdownGrace(Duration.ZERO));
        client.start();
        await().atMost(10, TimeUnit.SECONDS).until(() -> server.registry().isConnected(tunnelId));
        app1 = "http://app1.test:" + server.httpPort();
        app2 = "http://app2.test:" + server.httpPort();

        chromium = HeadlessChromium.launchResolving("MAP *.test 127.0.0.1");
        browser = chromium.browser();
    }

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (client != null) {
            client.close();
        }
        if (target != null) {
            target.stop(0);
        }
        if (api != null) {
            api.close();
        }
        if (sso != null) {
            sso.close();
        }
    }

    /**
     * The browser's session cookies for app1 (the sign-in's short-lived browser cookie stays besides, until its
     * Max-Age: another tab's sign-in may need it).
     */
    private List<Cookie> sessionCookies(Page page) {
        return page.context().cookies(app1).stream().filter(c -> c.name.startsWith("picotunnel_access_")).toList();
    }

    private Page newPage() {
        BrowserContext context = browser.newContext();
        context.setDefaultTimeout(20_000);
        return context.newPage();
    }

    /** At the provider's login page: signs in as {@code email}. */
    private void signInAtProvider(Page page, String email, boolean verified) {
        String user = email.substring(0, email.indexOf('@'));
        sso.signInAtProvider(page, user, "{\"email\": \"" + email + "\", \"email_verified\": " + verified
                + ", \"preferred_username\": \"" + user + "\"}");
    }

    @Test
    void signInOpensThePublishedAppAndTheTargetLearnsWhoItIs() {
        Page page = newPage();
        page.navigate(app1 + "/reports?year=2026");
        signInAtProvider(page, ALICE, true);

        page.waitForURL(app1 + "/reports?year=2026");
        assertThat(page.locator("#email").textContent()).isEqualTo(ALICE);
        assertThat(page.locator("#user").textContent()).isEqualTo("alice@example.com");
        assertThat(page.locator("#cookie").textContent()).isEqualTo("null");
        List<Cookie> cookies = sessionCookies(page);
        assertThat(cookies).hasSize(1);
        assertThat(page.context().cookies(app1)).extracting(c -> c.name).allMatch(name -> name.startsWith("picotunnel_access_")
                || name.startsWith(ServiceSignIn.DOMAIN_BROWSER_COOKIE + "-"));
        assertThat(cookies.getFirst().name).startsWith("picotunnel_access_");
        assertThat(cookies.getFirst().httpOnly).isTrue();
        assertThat(cookies.getFirst().secure).as("set over plain http").isFalse();
    }

    @Test
    void anEmailOutsideTheListIsRefusedWithAPageThatSaysSo() {
        Page page = newPage();
        page.navigate(app1 + "/");
        Response[] last = new Response[1];
        page.onResponse(response -> last[0] = response);
        signInAtProvider(page, "mallory@example.com", true);

        page.waitForSelector("h1");
        assertThat(page.locator("h1").textContent()).isEqualTo("Access denied");
        assertThat(page.locator("p").textContent()).contains("mallory@example.com is not allowed to open app1.test");
        assertThat(last[0].status()).isEqualTo(403);
        assertThat(sessionCookies(page)).isEmpty();
    }

    @Test
    void anUnverifiedEmailIsRefused() {
        Page page = newPage();
        page.navigate(app1 + "/");
        signInAtProvider(page, ALICE, false);

        page.waitForSelector("h1");
        assertThat(page.locator("h1").textContent()).isEqualTo("Access denied");
        assertThat(page.locator("p").textContent()).contains("no verified email");
        assertThat(sessionCookies(page)).isEmpty();
    }

    @Test
    void signOutEndsTheSessionOfTheApp() {
        Page page = newPage();
        page.navigate(app1 + "/");
        signInAtProvider(page, ALICE, true);
        page.waitForURL(app1 + "/");
        String cookie = sessionCookies(page).getFirst().value;

        // a link to the sign-out asks first; the page's button signs out
        page.navigate(app1 + "/.picotunnel/auth/logout");
        assertThat(page.locator("p").first().textContent()).contains("Sign out of app1.test?");
        assertThat(sessionCookies(page)).hasSize(1);
        page.locator("button[type=submit]").click();
        page.waitForSelector("p:has-text('signed out of app1.test')");
        assertThat(sessionCookies(page)).isEmpty();

        page.navigate(app1 + "/");
        page.waitForURL(url -> url.startsWith(provider.baseUrl().toString()));
        // the old cookie, replayed by hand, opens nothing either
        assertThat(rawStatus("app1.test", "picotunnel_access_" + serviceId("app1.test"), cookie)).isEqualTo(302);
    }

    @Test
    void theCookieOfOneAppDoesNotOpenAnotherAppsDomain() {
        Page page = newPage();
        page.navigate(app1 + "/");
        signInAtProvider(page, ALICE, true);
        page.waitForURL(app1 + "/");
        Cookie cookie = sessionCookies(page).getFirst();

        page.navigate(app2 + "/");
        page.waitForURL(url -> url.startsWith(provider.baseUrl().toString()));

        // sent to app2 by hand, under app1's name or app2's, the session still opens only app1
        String app2CookieName = "picotunnel_access_" + serviceId("app2.test");
        assertThat(rawStatus("app2.test", cookie.name, cookie.value)).isEqualTo(302);
        assertThat(rawStatus("app2.test", app2CookieName, cookie.value)).isEqualTo(302);
        assertThat(rawStatus("app1.test", cookie.name, cookie.value)).isEqualTo(200);
    }

    private String serviceId(String domain) {
        return server.store().services().stream().filter(s -> domain.equals(s.domain())).findFirst().orElseThrow().id();
    }

    /** The status of a page load ({@code GET /}, asking for HTML) of {@code host} with one cookie, over a plain socket. */
    private int rawStatus(String host, String cookieName, String cookieValue) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
            socket.setSoTimeout(10_000);
            String request = "GET / HTTP/1.1\r\nHost: " + host + "\r\nCookie: " + cookieName + "=" + cookieValue
                    + "\r\nAccept: text/html\r\nConnection: close\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String head = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(head.substring(9, 12));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
