package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.TokenRequest;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.access.ServiceSignIn;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.auth.Cookies;
import io.picotunnel.server.auth.ManagementAuth;
import io.picotunnel.server.auth.PendingLogins;
import io.picotunnel.server.auth.SecretCheckingTokenEndpoint;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.OldSchema;
import io.picotunnel.server.testbed.OidcSettings;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.CookieManager;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Single sign-on in front of services (auth: oidc) end to end, with the real server, client and a mock OIDC
 * provider: what the sign-in's cookie and return path may and may not reach. (The browser's whole flow is in
 * {@code ServiceSignInBrowserTest}.)
 */
class ServiceSignInEndToEndTest {

    private static final String HOST = "app.test";
    private static final String CLIENT_ID = OidcSettings.CLIENT_ID;

    @TempDir
    Path dataDir;

    private MockOAuth2Server provider;
    private Testbed testbed;
    private String tunnelId;
    private int mgmtPort;
    private final List<RecordingTarget> targets = new CopyOnWriteArrayList<>();
    /** The value of the visitor's sign-in cookie on the services' domains (ServiceSignIn.DOMAIN_BROWSER_COOKIE). */
    private static final String BROWSER = Secrets.newToken();
    /** The cookie as a browser holds it, set over plain HTTP or over HTTPS. */
    private static final String BROWSER_COOKIE = domainBrowserCookie(BROWSER, false) + "=" + BROWSER
            + "; " + domainBrowserCookie(BROWSER, true) + "=" + BROWSER;
    private final Visitor visitor = Visitor.browser("127.0.0.1", BROWSER_COOKIE);
    /** A browser on the management origin and the provider (the proxy's side is {@link #visitor}), redirects not followed. */
    private final HttpClient http = browser();

    /** The name of the sign-in cookie on a service's domain that holds {@code value}, over https or plain http. */
    private static String domainBrowserCookie(String value, boolean https) {
        return (https ? Cookies.HOST_ONLY : "") + ServiceSignIn.DOMAIN_BROWSER_COOKIE + "-"
                + Secrets.sha256Hex(value).substring(0, 16);
    }

    private static HttpClient browser() {
        return browserBuilder().build();
    }

    /** A browser whose connections come from {@code address} (such as 127.0.0.2). */
    private static HttpClient browserOn(InetAddress address) {
        return browserBuilder().localAddress(address).build();
    }

    private static HttpClient.Builder browserBuilder() {
        return HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).cookieHandler(new CookieManager())
                .connectTimeout(Duration.ofSeconds(5));
    }

    private void start() throws Exception {
        start(Map.of());
    }

    private void start(Map<Setting, String> extraSettings) throws Exception {
        startServer(extraSettings);
        JsonNode tunnel = testbed.createTunnel("sso");
        tunnelId = tunnel.get("id").asText();
        testbed.connect(tunnelId, tunnel.get("token").asText());
    }

    /** The provider and the server, on whatever database {@link #dataDir} holds; no tunnel connected. */
    private void startServer() {
        startServer(Map.of());
    }

    /** With the {@link #provider} a test started, else a new one. */
    private void startServer(Map<Setting, String> extraSettings) {
        if (provider == null) {
            provider = new MockOAuth2Server();
            provider.start();
        }
        mgmtPort = Ports.freePort();
        Map<Setting, String> settings = OidcSettings.signingInThrough(provider, mgmtPort, "admin@example.com");
        settings.putAll(extraSettings);
        testbed = new Testbed(dataDir, settings);
    }

    @AfterEach
    void stop() {
        targets.forEach(RecordingTarget::close);
        if (testbed != null) {
            testbed.close();
        }
        if (provider != null) {
            provider.shutdown();
        }
    }

    private RecordingTarget target(String name) {
        RecordingTarget r = new RecordingTarget("target=" + name);
        targets.add(r);
        return r;
    }

    /** The access of a service that signs in through the provider and lets in {@code emails}. */
    private static String oidcAllowing(String... emails) {
        return ",\"auth\":{\"type\":\"oidc\",\"allowed_emails\":["
                + Arrays.stream(emails).map(e -> "\"" + e + "\"").collect(Collectors.joining(",")) + "]}";
    }

    /** Starts the server with one service, at "/", of {@code access}: the target answering it, named {@code name}. */
    private RecordingTarget startWithOneService(String name, String access) throws Exception {
        start();
        RecordingTarget target = target(name);
        service("/", target, access);
        return target;
    }

    private String service(String prefix, RecordingTarget target, String access) {
        ApiClient.Response created = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"path_prefix\":\"" + prefix + "\",\"target_addr\":\""
                        + target.address() + "\"" + access + "}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        return created.json().get("id").asText();
    }

    private void nextUser(String subject, String email, String preferredUsername) {
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", subject, "JWT", List.of(CLIENT_ID),
                Map.of("email", email, "email_verified", true, "preferred_username", preferredUsername), 3600));
    }

    private HttpResponse<String> get(String url) throws Exception {
        return get(http, url);
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                .header("Accept", Visitor.PAGE_ACCEPT).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String location(HttpResponse<?> r) {
        return r.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location: " + r.statusCode()));
    }

    /** Management login URL -> provider -> our callback URL (not followed). */
    private String throughProvider(String loginUrl) throws Exception {
        return throughProvider(http, loginUrl);
    }

    private String throughProvider(HttpClient browser, String loginUrl) throws Exception {
        HttpResponse<String> login = get(browser, loginUrl);
        assertThat(login.statusCode()).as(login.body()).isEqualTo(302);
        HttpResponse<String> atProvider = get(browser, location(login));
        assertThat(atProvider.statusCode()).isEqualTo(302);
        String callback = location(atProvider);
        assertThat(callback).startsWith("http://localhost:" + mgmtPort + "/auth/callback");
        return callback;
    }

    /** Our callback -> the service-domain handoff URL (path and query only). */
    private String handoff(String callbackUrl) throws Exception {
        return handoff(http, callbackUrl);
    }

    private static String handoff(HttpClient browser, String callbackUrl) throws Exception {
        HttpResponse<String> back = get(browser, callbackUrl);
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        URI handoff = URI.create(location(back));
        return handoff.getRawPath() + "?" + handoff.getRawQuery();
    }

    private String loginUrl(String serviceId, String returnTo) {
        return "http://localhost:" + mgmtPort + "/auth/service/login?service=" + serviceId + "&return_to="
                + URLEncoder.encode(returnTo, StandardCharsets.UTF_8) + "&browser=" + Secrets.sha256Hex(BROWSER);
    }

    private int httpPort() {
        return testbed.server().httpPort();
    }

    /** Whole flow for a visitor who starts at {@code path}: returns the proxy's answer to the handoff. */
    private Visitor.Response signIn(String path, String email, String username) throws Exception {
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), path);
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        nextUser(username, email, username);
        String handoff = handoff(throughProvider(first.header("Location")));
        return visitor.get(httpPort(), HOST + ":" + httpPort(), handoff);
    }

    private static String cookiePair(Visitor.Response r) {
        String setCookie = r.header("Set-Cookie");
        assertThat(setCookie).as("Set-Cookie of %s", r).isNotNull();
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    /** The service's page at / for the visitor that {@code signedIn} gave its session cookie. */
    private Visitor.Response rootPageWithCookieOf(Visitor.Response signedIn) throws IOException {
        return visitor.get(httpPort(), HOST, "/", "Cookie: " + cookiePair(signedIn));
    }

    @Test
    void theTargetIsToldTheVerifiedEmailNotTheNameUsersMayEditAtTheirProvider() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("mallory@example.com"));

        // preferred_username is the user's to edit at many providers: a target that trusts X-PicoTunnel-User
        // by name would take mallory for its admin.
        Visitor.Response done = signIn("/", "mallory@example.com", "admin");
        Visitor.Response page = rootPageWithCookieOf(done);
        assertThat(page.body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("X-PicoTunnel-User")).containsExactly("mallory@example.com");
        assertThat(secret.lastHeader("X-PicoTunnel-Email")).containsExactly("mallory@example.com");
    }

    @Test
    void anImageOrScriptWithoutASessionGets401AndNoSignInSoItLeavesNoCookieOnTheManagementOrigin() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));

        // A page whose session expired loads its images and scripts all at once: each sent to sign in would start
        // one, each with a cookie of its own on the management origin, until its Cookie header is too long for it.
        for (String[] subresource : List.of(new String[] {"Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image"},
                new String[] {"Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty"},
                new String[] {"Sec-Fetch-Mode: same-origin", "Sec-Fetch-Dest: script"},
                // a frame's load is a navigation, into the frame: a page of many would leave as many cookies
                new String[] {"Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: iframe"})) {
            Visitor.Response image = visitor.get(httpPort(), HOST + ":" + httpPort(), "/logo.png", subresource);
            assertThat(image.status()).as(image.toString()).isEqualTo(401);
            assertThat(image.header("Location")).isNull();
            assertThat(image.header("Set-Cookie")).isNull();
            assertThat(image.body()).contains("Sign in first");
        }
        assertThat(secret.requestCount()).isZero();

        for (String[] pageLoad : List.of(new String[] {"Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"},
                new String[0])) {
            Visitor.Response page = visitor.get(httpPort(), HOST + ":" + httpPort(), "/", pageLoad);
            assertThat(page.status()).as(page.toString()).isEqualTo(302);
            assertThat(page.header("Location")).startsWith("http://localhost:" + mgmtPort + ServiceSignIn.LOGIN_ROUTE);
        }
    }

    @Test
    void anImageOfAnotherPageOnTheSignInStartsGets401AndNoCookieOnTheManagementOrigin() throws Exception {
        start();
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));

        // Another service of the same site may show <img src> of these: each would leave a sign-in cookie here.
        for (String start : List.of(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/"),
                "http://localhost:" + mgmtPort + "/auth/login?return_to=/")) {
            for (String[] notAPage : List.of(new String[] {"no-cors", "image"}, new String[] {"navigate", "iframe"})) {
                HttpResponse<String> image = http.send(HttpRequest.newBuilder(URI.create(start))
                        .timeout(Duration.ofSeconds(20)).header("Sec-Fetch-Mode", notAPage[0])
                        .header("Sec-Fetch-Dest", notAPage[1]).GET().build(), HttpResponse.BodyHandlers.ofString());
                assertThat(image.statusCode()).as(start + " " + notAPage[1] + ": " + image.body()).isEqualTo(401);
                assertThat(image.headers().allValues("Set-Cookie")).as(start).isEmpty();
                assertThat(image.headers().firstValue("Location")).as(start).isEmpty();
            }

            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(start)).timeout(Duration.ofSeconds(20))
                    .header("Sec-Fetch-Mode", "navigate").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).as(start + ": " + page.body()).isEqualTo(302);
            assertThat(page.headers().allValues("Set-Cookie")).as(start).isNotEmpty();
        }
    }

    @Test
    void overPlainHttpWithoutSecFetchHeadersOnlyARequestForHtmlStartsASignInSoImagesLeaveNoCookies() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");
        String uiLogin = "http://localhost:" + mgmtPort + "/auth/login?return_to=/";

        // Over plain http browsers send no Sec-Fetch headers: a same-site page of many images, scripts and fetches
        // of a gated service sent each to sign in, a cookie each, until the origin answered 431 to everything.
        // Their Accept tells them from a page: Chrome's for an image, and a script's, a fetch's and curl's.
        CookieManager jar = new CookieManager();
        HttpClient pageOfImages = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).cookieHandler(jar)
                .connectTimeout(Duration.ofSeconds(5)).build();
        Visitor pageOfImagesOnTheService = new Visitor("127.0.0.1");
        for (String accept : List.of("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "*/*")) {
            for (int i = 0; i < 20; i++) {
                Visitor.Response image = pageOfImagesOnTheService.get(httpPort(), HOST + ":" + httpPort(),
                        "/logo-" + i + ".png", "Accept: " + accept);
                assertThat(image.status()).as(accept + ": " + image).isEqualTo(401);
                assertThat(image.header("Set-Cookie")).as(accept).isNull();
                assertThat(image.header("Location")).as(accept).isNull();
                assertThat(image.body()).contains("open " + HOST + " in a browser");
                for (String start : List.of(login, uiLogin)) {
                    HttpResponse<String> atStart = getAccepting(pageOfImages, start, accept);
                    assertThat(atStart.statusCode()).as(start + " " + accept).isEqualTo(401);
                    assertThat(atStart.headers().allValues("Set-Cookie")).as(start + " " + accept).isEmpty();
                }
            }
        }
        assertThat(jar.getCookieStore().getCookies()).isEmpty();
        assertThat(secret.requestCount()).isZero();

        // The page itself asks for HTML, and signs in.
        String html = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assertThat(getAccepting(http, uiLogin, html).statusCode()).isEqualTo(302);
        Visitor.Response page = visitor.get(httpPort(), HOST + ":" + httpPort(), "/", "Accept: " + html);
        assertThat(page.status()).as(page.toString()).isEqualTo(302);
        assertThat(page.header("Set-Cookie")).isNotNull();
        HttpResponse<String> atLogin = getAccepting(http, page.header("Location"), html);
        assertThat(atLogin.statusCode()).as(atLogin.body()).isEqualTo(302);
        assertThat(atLogin.headers().allValues("Set-Cookie")).isNotEmpty();
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> atProvider = get(location(atLogin));
        assertThat(atProvider.statusCode()).isEqualTo(302);
        Visitor.Response alice = visitor.get(httpPort(), HOST, handoff(location(atProvider)));
        assertThat(rootPageWithCookieOf(alice).body()).isEqualTo("target=secret");
    }

    @Test
    void aWebSocketHandshakeOverPlainHttpGets401AndNoSignInCookie() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));

        // Chrome's handshake over plain http: no Accept and no Sec-Fetch headers, so it looked like a page load and
        // got a redirect it cannot follow, and a sign-in cookie (12 minutes) for each reconnect of the page's script.
        String handshake = "GET /live HTTP/1.1\r\nHost: " + HOST + ":" + httpPort() + "\r\n%s"
                + "Pragma: no-cache\r\nCache-Control: no-cache\r\nOrigin: http://" + HOST + ":" + httpPort() + "\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        String withOrigin = "Connection: Upgrade\r\nUpgrade: websocket\r\n";
        String withoutOrigin = handshake.replace("Origin: http://" + HOST + ":" + httpPort() + "\r\n", "");
        for (String request : List.of(handshake.formatted(withOrigin), withoutOrigin.formatted(withOrigin),
                withoutOrigin.formatted("Upgrade: websocket\r\n"), withoutOrigin.formatted("Connection: Upgrade\r\n"))) {
            Visitor.Response answer = visitor.exchange(httpPort(), request);
            assertThat(answer.status()).as(request + answer).isEqualTo(401);
            assertThat(answer.header("Set-Cookie")).as(request).isNull();
            assertThat(answer.header("Location")).as(request).isNull();
            assertThat(answer.body()).contains("open " + HOST + " in a browser");
        }
        assertThat(secret.requestCount()).isZero();
    }

    @Test
    void aFetchForHtmlFromAnotherOriginOverPlainHttpStartsNoSignInSoItPushesOutNoneOfTheAddressesRealOnes()
            throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");
        String real = throughProvider(login);

        // Turbo, Unpoly and pjax fetch pages in the background asking for HTML, as a navigation does; a browser
        // sends Origin on such a GET (cors mode), never on a navigation, and each started a sign-in over plain http.
        String accept = "text/vnd.turbo-stream.html, text/html, application/xhtml+xml";
        String origin = "http://elsewhere.test";
        Visitor.Response atService = visitor.get(httpPort(), HOST + ":" + httpPort(), "/", "Accept: " + accept,
                "Origin: " + origin);
        assertThat(atService.status()).as(atService.toString()).isEqualTo(401);
        assertThat(atService.header("Set-Cookie")).isNull();
        assertThat(atService.header("Location")).isNull();
        startsNoSignIn(login, PendingLogins.MAX_PER_ADDRESS, "Accept", accept, "Origin", origin);

        nextUser("alice", "alice@example.com", "alice");
        Visitor.Response alice = visitor.get(httpPort(), HOST, handoff(real));
        assertThat(rootPageWithCookieOf(alice).body()).isEqualTo("target=secret");
    }

    @Test
    void aFetchForHtmlThatAScriptLibraryMarksAsItsOwnStartsNoSignInSoItPushesOutNoneOfTheAddressesRealOnes()
            throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");
        String real = throughProvider(login);

        // A fetch of the page's own origin asks for HTML and carries no Origin, as a navigation does: over plain http
        // (no Sec-Fetch headers) only the header its library adds tells it from one, and each started a sign-in.
        String accept = "text/html, application/xhtml+xml";
        List<String> marks = List.of("Turbo-Frame: messages", "X-Turbo-Request-Id: 4f1d2c3b-0a9e-4d6f-8b7a-1c2d3e4f5a6b",
                "X-Up-Version: 3.9.0", "X-PJAX: true", "HX-Request: true", "X-Requested-With: XMLHttpRequest");
        for (String mark : marks) {
            Visitor.Response atService = visitor.get(httpPort(), HOST + ":" + httpPort(), "/inbox", "Accept: " + accept,
                    mark);
            assertThat(atService.status()).as(mark + " " + atService).isEqualTo(401);
            assertThat(atService.header("Set-Cookie")).as(mark).isNull();
            assertThat(atService.header("Location")).as(mark).isNull();
            // The page is in a browser already: an answer that is not HTML makes Turbo load the address as a page
            // (pjax does on any error), and that page load signs in; an HTML one Turbo shows in its place. htmx is
            // told to load a page only for a boosted link (below): HX-Refresh would reload a page that is not gated
            // and fetches from a gated service as it loads, over and over
            assertThat(atService.header("Content-Type")).as(mark).isEqualTo("application/json");
            assertThat(atService.header("HX-Refresh")).as(mark).isNull();
            assertThat(atService.header("HX-Redirect")).as(mark).isNull();
            assertThat(atService.body()).as(mark).contains("\"error\":\"sign_in_required\"")
                    .contains("reload this page to sign in").doesNotContain("in a browser");
            String[] header = mark.split(": ", 2);
            startsNoSignIn(login, PendingLogins.MAX_PER_ADDRESS, "Accept", accept, header[0], header[1]);
        }
        assertThat(secret.requestCount()).isZero();

        // A link htmx took over (boosted) is a page the user asked for: htmx is told to load it as a page, which signs in.
        Visitor.Response boosted = visitor.get(httpPort(), HOST + ":" + httpPort(), "/inbox?page=2", "Accept: " + accept,
                "HX-Request: true", "HX-Boosted: true");
        assertThat(boosted.status()).as(boosted.toString()).isEqualTo(401);
        assertThat(boosted.header("HX-Redirect")).isEqualTo("http://" + HOST + ":" + httpPort() + "/inbox?page=2");
        assertThat(boosted.header("Set-Cookie")).isNull();
        // Absolute on the service's host: a target //elsewhere.example/x, as is, would send the browser to another site.
        Visitor.Response offSite = visitor.get(httpPort(), HOST + ":" + httpPort(), "//elsewhere.example/x",
                "Accept: " + accept, "HX-Request: true", "HX-Boosted: true");
        assertThat(offSite.header("HX-Redirect")).isEqualTo("http://" + HOST + ":" + httpPort() + "//elsewhere.example/x");
        // A form Turbo submits gets the HTML answer, which Turbo shows (it shows no other answer to a form).
        Visitor.Response form = visitor.post(httpPort(), HOST + ":" + httpPort(), "/inbox",
                "Accept: text/vnd.turbo-stream.html, text/html, application/xhtml+xml",
                "X-Turbo-Request-Id: 4f1d2c3b-0a9e-4d6f-8b7a-1c2d3e4f5a6b");
        assertThat(form.status()).as(form.toString()).isEqualTo(401);
        assertThat(form.header("Content-Type")).startsWith("text/html");
        assertThat(form.header("Set-Cookie")).isNull();

        // Android's WebView names its app in X-Requested-With on its navigations: those still sign in.
        Visitor.Response webView = visitor.get(httpPort(), HOST + ":" + httpPort(), "/", "Accept: " + accept,
                "X-Requested-With: com.example.inbox");
        assertThat(webView.status()).as(webView.toString()).isEqualTo(302);

        nextUser("alice", "alice@example.com", "alice");
        Visitor.Response alice = visitor.get(httpPort(), HOST, handoff(real));
        assertThat(rootPageWithCookieOf(alice).body()).isEqualTo("target=secret");
    }

    @Test
    void aRequestWithoutAcceptStartsNoSignInAsNoBrowsersPageLoadSendsNone() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");

        // Every browser names text/html in a page load's Accept; curl -H 'Accept:', Java's and Go's clients send none.
        // Each was sent to a provider's page it cannot use, leaving a sign-in cookie, and a pending sign-in at a start.
        Visitor.Response atService = new Visitor("127.0.0.1").get(httpPort(), HOST + ":" + httpPort(), "/");
        assertThat(atService.status()).as(atService.toString()).isEqualTo(401);
        assertThat(atService.header("Set-Cookie")).isNull();
        assertThat(atService.header("Location")).isNull();
        assertThat(atService.body()).contains("open " + HOST + " in a browser");
        startsNoSignIn(login, 1);
        assertThat(secret.requestCount()).isZero();
    }

    /**
     * Asks each sign-in start (the service's {@code login} and the management port's) {@code times} with
     * {@code headers} (names and values): each answer is 401 and sets no cookie, so no sign-in was started.
     */
    private void startsNoSignIn(String login, int times, String... headers) throws Exception {
        for (String start : List.of(login, "http://localhost:" + mgmtPort + "/auth/login?return_to=/")) {
            for (int i = 0; i < times; i++) {
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(start)).timeout(Duration.ofSeconds(20));
                if (headers.length > 0) {
                    request.headers(headers);
                }
                HttpResponse<String> fetched = http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
                String asked = String.join(" ", headers) + " at " + start;
                assertThat(fetched.statusCode()).as(asked + " " + fetched.body()).isEqualTo(401);
                assertThat(fetched.headers().allValues("Set-Cookie")).as(asked).isEmpty();
            }
        }
    }

    private static HttpResponse<String> getAccepting(HttpClient browser, String url, String accept) throws Exception {
        return browser.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).header("Accept", accept)
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aPrefetchOrPrerenderOfAGatedPageStartsNoSignInSoItPushesOutNoneOfTheAddressesRealOnes() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");
        String real = throughProvider(login);

        // Chrome prefetches and prerenders the links a page points to as navigations to a document; it drops any
        // answer but a 2xx, so a 401 costs the visitor nothing, while a sign-in each would push out the real one.
        for (String purpose : List.of("Sec-Purpose: prefetch", "Sec-Purpose: prefetch;prerender", "Purpose: prefetch")) {
            Visitor.Response page = visitor.get(httpPort(), HOST + ":" + httpPort(), "/",
                    "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", purpose);
            assertThat(page.status()).as(purpose + ": " + page).isEqualTo(401);
            assertThat(page.header("Set-Cookie")).as(purpose).isNull();
            assertThat(page.body()).contains("Sign in first");
            String[] header = purpose.split(": ");
            for (String start : List.of(login, "http://localhost:" + mgmtPort + "/auth/login?return_to=/")) {
                for (int i = 0; i < PendingLogins.MAX_PER_ADDRESS; i++) {
                    HttpResponse<String> prefetched = http.send(HttpRequest.newBuilder(URI.create(start))
                            .timeout(Duration.ofSeconds(20)).header("Sec-Fetch-Mode", "navigate")
                            .header("Sec-Fetch-Dest", "document").header(header[0], header[1]).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(prefetched.statusCode()).as(start + " " + purpose).isEqualTo(401);
                    assertThat(prefetched.headers().allValues("Set-Cookie")).as(start + " " + purpose).isEmpty();
                }
            }
        }

        nextUser("alice", "alice@example.com", "alice");
        Visitor.Response alice = visitor.get(httpPort(), HOST, handoff(real));
        assertThat(rootPageWithCookieOf(alice).body()).isEqualTo("target=secret");
    }

    @Test
    void anAllowedEmailBeyondAsciiLetsItsOwnerInWhicheverUnicodeFormTheListOrTheProviderUses() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        // Typed on a Mac: "e" and a combining acute accent; the provider sends the composed "é", in other case.
        ApiClient.Response created = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"target_addr\":\"" + secret.address() + "\","
                        + "\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"jose\u0301@example.com\"]}}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);

        Visitor.Response done = signIn("/", "Jos\u00e9@example.com", "jose");

        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(rootPageWithCookieOf(done).body()).isEqualTo("target=secret");
        // The target is told the address as the provider sent it, in UTF-8 (the recording reads bytes as ISO-8859-1).
        for (String header : List.of("X-PicoTunnel-Email", "X-PicoTunnel-User")) {
            assertThat(secret.lastHeader(header)).as(header).singleElement()
                    .extracting(value -> new String(value.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8))
                    .isEqualTo("Jos\u00e9@example.com");
        }
    }

    @Test
    void anEmailClaimWithALineBreakIsRefusedWithAPageNotTakenIntoAHeader() throws Exception {
        RecordingTarget open = startWithOneService("everyone", ",\"auth\":{\"type\":\"oidc\",\"allow_all\":true}");
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        // A provider that lets users write their email unchecked; the target would take the second line as a header
        nextUser("eve", "eve@example.com\r\nX-Admin: yes", "eve");

        HttpResponse<String> back = get(throughProvider(first.header("Location")));

        assertThat(back.statusCode()).as(back.body()).isEqualTo(403);
        assertThat(back.headers().firstValue("Location")).isEmpty();
        assertThat(back.body()).contains("control or invisible formatting character U+000D").doesNotContain("X-Admin");
        assertThat(open.uris()).isEmpty();
        // The next user, with a plain email, still signs in.
        Visitor.Response done = signIn("/", "alice@example.com", "alice");
        assertThat(rootPageWithCookieOf(done).body()).isEqualTo("target=everyone");
        assertThat(open.lastHeader("X-PicoTunnel-Email")).containsExactly("alice@example.com");
    }

    /** The header's bytes would be valid UTF-8, but the target would show (and compare) another address. */
    @Test
    void anEmailClaimWithABidiOverrideOrZeroWidthSpaceIsRefusedWithAPageNotSentToTheTarget() throws Exception {
        start();
        RecordingTarget open = target("everyone");
        String id = service("/", open, ",\"auth\":{\"type\":\"oidc\",\"allow_all\":true}");
        try (LogCapture log = new LogCapture("io.picotunnel.server.access.ServiceSignIn", Level.INFO)) {
            for (String email : List.of("eve\u202Emoc.elpmaxe@example.com", "ad\u200Bmin@example.com")) {
                Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
                assertThat(first.status()).as(first.toString()).isEqualTo(302);
                nextUser("eve", email, "eve");

                HttpResponse<String> back = get(throughProvider(first.header("Location")));

                assertThat(back.statusCode()).as(back.body()).isEqualTo(403);
                assertThat(back.headers().firstValue("Location")).isEmpty();
                assertThat(back.body()).contains("control or invisible formatting character U+"
                        + String.format("%04X", email.codePoints().filter(c -> c > 0x7f).findFirst().orElseThrow()));
            }
            assertThat(log.messages(Level.INFO)).noneMatch(m -> m.contains("signed in"))
                    .allSatisfy(m -> assertThat(m).doesNotContain("\u202E", "\u200B"))
                    .anySatisfy(m -> assertThat(m).contains("service " + id + " refused: the email of subject eve contains"
                            + " the control or invisible formatting character U+202E"));
        }
        assertThat(open.uris()).isEmpty();
    }

    @Test
    void aProviderDownAtTheCallbackGetsAPageSayingSoNotThatTheVisitorIsRefused() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(first.header("Location"));
        provider.shutdown();
        provider = null;

        HttpResponse<String> back = get(callback);

        assertThat(back.statusCode()).as(back.body()).isEqualTo(502);
        assertThat(back.body()).contains("Sign-in unavailable").contains("could not be reached");
        assertThat(secret.uris()).isEmpty();
    }

    /** A provider behind a reverse proxy while it restarts: down for now, not set up wrong. */
    @Test
    void aDiscoveryAnswered503GetsAPageSayingTheSignInIsUnavailableForNow() throws Exception {
        com.sun.net.httpserver.HttpServer web = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        web.start();
        try {
            start(Map.of(Setting.OIDC_ISSUER, "http://127.0.0.1:" + web.getAddress().getPort() + "/realms/main"));
            service("/", target("secret"), oidcAllowing("alice@example.com"));
            Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
            assertThat(first.status()).as(first.toString()).isEqualTo(302);

            HttpResponse<String> login = get(first.header("Location"));

            assertThat(login.statusCode()).as(login.body()).isEqualTo(502);
            assertThat(login.body()).contains("Sign-in unavailable").contains("answered 503")
                    .contains("Please try again in a moment.").doesNotContain("PICOTUNNEL_");
        } finally {
            web.stop(0);
        }
    }

    /**
     * The settings to check are the administrator's business, in the log; the visitor, who can do nothing about them,
     * is told to tell the administrator.
     */
    @Test
    void aClientTheProviderRefusesIsNamedInTheLogNotOnTheVisitorsPage() throws Exception {
        provider = new MockOAuth2Server(new SecretCheckingTokenEndpoint(CLIENT_ID, "the-secret-registered-at-the-provider"));
        provider.start();
        start();
        service("/", target("secret"), oidcAllowing("alice@example.com"));
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(first.header("Location"));
        try (LogCapture log = new LogCapture("io.picotunnel.server.access.ServiceSignIn", Level.INFO)) {
            HttpResponse<String> back = get(callback);

            assertThat(back.statusCode()).as(back.body()).isEqualTo(403);
            assertThat(back.body()).contains("Single sign-on is not set up correctly on this server; tell its"
                    + " administrator.").doesNotContain("PICOTUNNEL_").doesNotContain("invalid_client");
            assertThat(log.messages(Level.WARN)).singleElement().asString().contains("(invalid_client)")
                    .contains("PICOTUNNEL_OIDC_CLIENT_SECRET").endsWith("(Invalid client credentials)");
        }
    }

    @Test
    void anIssuerTheProviderNamesOtherwiseIsNamedInTheLogNotOnTheVisitorsPage() throws Exception {
        provider = new MockOAuth2Server();
        provider.start();
        String published = provider.issuerUrl("default").toString();
        start(Map.of(Setting.OIDC_ISSUER, published + "/"));
        service("/", target("secret"), oidcAllowing("alice@example.com"));
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        try (LogCapture log = new LogCapture("io.picotunnel.server.access.ServiceSignIn", Level.INFO)) {
            HttpResponse<String> login = get(first.header("Location"));

            assertThat(login.statusCode()).as(login.body()).isEqualTo(502);
            assertThat(login.body()).contains("Sign-in unavailable").contains("Single sign-on is not set up correctly"
                    + " on this server; tell its administrator.").doesNotContain("PICOTUNNEL_").doesNotContain(published);
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("must set PICOTUNNEL_OIDC_ISSUER to " + published + " exactly");
        }
    }

    @Test
    void theSignInCookieReachesNoTargetNotEvenAnOpenServicesOnTheSameHost() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        RecordingTarget open = target("open");
        service("/", secret, oidcAllowing("alice@example.com"));
        service("/public", open, "");

        Visitor.Response done = signIn("/", "alice@example.com", "alice");
        assertThat(done.status()).isEqualTo(303);
        String cookie = cookiePair(done);

        // The browser sends its Path=/ cookie with every request to the host, /public included; the open target
        // could replay it to open the gated service as alice. Nor does the sign-in's browser cookie (the visitor
        // sends it with each request) reach a target. Other cookies pass.
        Visitor.Response publicPage = visitor.get(httpPort(), HOST, "/public/x", "Cookie: theme=dark; " + cookie);
        assertThat(publicPage.body()).isEqualTo("target=open");
        assertThat(open.lastHeader("Cookie")).containsExactly("theme=dark");
        Visitor.Response gated = visitor.get(httpPort(), HOST, "/", "Cookie: " + cookie + "; theme=dark");
        assertThat(gated.body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("Cookie")).containsExactly("theme=dark");
        assertThat(secret.lastHeader("X-PicoTunnel-User")).containsExactly("alice@example.com");
    }

    @Test
    void anEmailVerifiedSentAsTheStringTrueSignsInAsTheUisSignInTakesIt() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/");
        // Amazon Cognito (and others) send the claim as a string
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", "alice", "JWT", List.of(CLIENT_ID),
                Map.of("email", "alice@example.com", "email_verified", "true"), 3600));

        Visitor.Response done = visitor.get(httpPort(), HOST + ":" + httpPort(),
                handoff(throughProvider(first.header("Location"))));

        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(rootPageWithCookieOf(done).body()).isEqualTo("target=secret");
    }

    @Test
    void aServiceWithAllowAllLetsInAUserOnNoList() throws Exception {
        RecordingTarget open = startWithOneService("everyone", ",\"auth\":{\"type\":\"oidc\",\"allow_all\":true}");

        Visitor.Response done = signIn("/", "stranger@example.net", "stranger");

        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(rootPageWithCookieOf(done).body()).isEqualTo("target=everyone");
        assertThat(open.lastHeader("X-PicoTunnel-Email")).containsExactly("stranger@example.net");
    }

    @Test
    void aServiceStoredBeforeAllowAllWithEmptyListsStillLetsEveryoneInAfterTheUpgrade() throws Exception {
        RecordingTarget old = target("old");
        String token = Secrets.newToken();
        tunnelId = "00000000000000aa";
        String serviceId = "00000000000000bb";
        // the last schema before V43, when empty lists meant every verified email of the provider
        OldSchema.write(dataDir, 43, c -> {
            OldSchema.tunnel(c, tunnelId, "sso", Secrets.sha256Hex(token));
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO services (id, tunnel_id, type, domain, target_addr, created_at, auth_type,"
                        + " auth_allowed_emails, auth_allowed_groups) VALUES ('" + serviceId + "', '" + tunnelId + "', 'http', '"
                        + HOST + "', '" + old.address() + "', '2026-01-01T00:00:00.000Z', 'oidc', '', '')");
            }
        });
        try (LogCapture log = new LogCapture(PicoTunnelServer.class, null)) {
            startServer();
            assertThat(log.messages(Level.WARN)).anyMatch(m -> m.contains("Service " + serviceId + " (" + HOST + "/)")
                    && m.contains("lets every user of the OIDC provider sign in"));
        }
        testbed.connect(tunnelId, token);

        Visitor.Response done = signIn("/", "stranger@example.net", "stranger");

        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(rootPageWithCookieOf(done).body()).isEqualTo("target=old");
        assertThat(testbed.api().get("/api/tunnels/" + tunnelId + "/services").json().get(0).get("auth").get("allow_all").asBoolean()).isTrue();
    }

    @Test
    void theReturnPathAfterSignInStaysOnTheServicesHost() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));

        nextUser("alice", "alice@example.com", "alice");
        String handoff = handoff(throughProvider(loginUrl(id,
                "http://" + HOST + ":" + httpPort() + "//evil.example/phish?x=1")));
        Visitor.Response done = visitor.get(httpPort(), HOST, handoff);

        // Before: Location //evil.example/phish, another host to the browser.
        assertThat(done.status()).isEqualTo(303);
        assertThat(done.header("Location")).isEqualTo("/evil.example/phish?x=1");
    }

    @Test
    void aSignInReturnsOnlyToThePortsOfTheProxyNotToAnotherPortOfTheServicesDomain() throws Exception {
        start();
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        int elsewhere = Ports.freePort(); // say a tcp service's port on the same server, or any other program's

        // Before: the sign-in started, and once through the provider the browser was sent to
        // http://app.test:<elsewhere>/.picotunnel/auth/callback?code=..., whoever listens there got the one-time code
        // and could trade it on the proxy's port for the visitor's session.
        HttpResponse<String> refused = get(loginUrl(id, "http://" + HOST + ":" + elsewhere + "/page"));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
        assertThat(refused.headers().firstValue("Location")).isEmpty();

        // The proxy's own port, and the scheme's default one (a proxy on port 80 behind a port mapping), still do.
        assertThat(get(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page")).statusCode()).isEqualTo(302);
        assertThat(get(loginUrl(id, "http://" + HOST + "/page")).statusCode()).isEqualTo(302);
    }

    @Test
    void behindAPortMappingASignInReturnsToThePublicPortAndTheListeningOne() throws Exception {
        int published = Ports.freePort(); // what a port mapping in front publishes; nothing of ours listens there
        start(Map.of(Setting.PUBLIC_HTTP_PORT, Integer.toString(published)));
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));

        // A visitor through the mapping asks for app.test:<published>; the sign-in goes back there, and the mapping
        // brings the callback to the listening port with that Host.
        nextUser("alice", "alice@example.com", "alice");
        String handoff = handoff(throughProvider(loginUrl(id, "http://" + HOST + ":" + published + "/page")));
        Visitor.Response done = visitor.get(httpPort(), HOST + ":" + published, handoff);
        assertThat(done.status()).isEqualTo(303);
        assertThat(done.header("Location")).isEqualTo("/page");
        assertThat(visitor.get(httpPort(), HOST + ":" + published, "/page", "Cookie: " + cookiePair(done)).body())
                .isEqualTo("target=secret");

        // A visitor who reaches the listening port directly (inside the network) still can; any other port cannot.
        assertThat(get(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page")).statusCode()).isEqualTo(302);
        int elsewhere = published == 65535 ? published - 1 : published + 1;
        assertThat(get(loginUrl(id, "http://" + HOST + ":" + elsewhere + "/page")).statusCode()).isEqualTo(400);
    }

    @Test
    void aSignInNeverReturnsToAPortOnWhichATcpServiceOfTheServerListensThoughItIsThePublicPort() throws Exception {
        // The public port stands for 80 (or 443), which return_to takes without a mapping: a tcp service bound on 80
        // while the proxy listens elsewhere is this very case.
        int tcpPort = Ports.freePort();
        start(Map.of(Setting.PUBLIC_HTTP_PORT, Integer.toString(tcpPort)));
        RecordingTarget tcpTarget = target("tcp");
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        String returnTo = "http://" + HOST + ":" + tcpPort + "/page";
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(loginUrl(id, returnTo)); // started before the tcp service came

        String tcpService = testbed.createTcpService(tunnelId, tcpPort, tcpTarget.address()).get("id").asText();

        // Before: the callback sent the browser with the one-time code to http://app.test:<tcpPort>/.picotunnel/auth/
        // callback, that is through the tcp service to its target, which could trade the code on the proxy's port
        // for alice's session.
        HttpResponse<String> back = get(callback);
        assertThat(back.statusCode()).as("the callback, once a tcp service listens on the port").isEqualTo(400);
        assertThat(back.headers().firstValue("Location")).isEmpty();
        HttpResponse<String> refused = get(loginUrl(id, returnTo));
        assertThat(refused.statusCode()).as("a sign-in that starts while it does").isEqualTo(400);
        assertThat(refused.headers().firstValue("Location")).isEmpty();
        assertThat(get(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page")).statusCode()).isEqualTo(302);
        assertThat(get(loginUrl(id, "http://" + HOST + "/page")).statusCode()).as("port 80, no tcp service there")
                .isEqualTo(302);
        assertThat(tcpTarget.uris()).isEmpty();

        // Once the tcp service no longer listens there, the public port is a place to go back to again.
        assertThat(testbed.api().patch("/api/services/" + tcpService, "{\"enabled\":false}").status()).isEqualTo(200);
        assertThat(get(loginUrl(id, returnTo)).statusCode()).isEqualTo(302);
    }

    @Test
    void aTcpServiceThatComesWhileTheProviderIsAskedForTheTokensStopsTheCodeFromGoingToItsPort() throws Exception {
        int tcpPort = Ports.freePort();
        start(Map.of(Setting.PUBLIC_HTTP_PORT, Integer.toString(tcpPort)));
        RecordingTarget tcpTarget = target("tcp");
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        String returnTo = "http://" + HOST + ":" + tcpPort + "/page";
        // The tcp service is created while the server trades the provider's code for alice's tokens, after the
        // callback's first look at return_to: the provider may take seconds to answer.
        List<String> createdDuringTheTrade = new CopyOnWriteArrayList<>();
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", "alice", "JWT", List.of(CLIENT_ID),
                Map.of("email", "alice@example.com", "email_verified", true, "preferred_username", "alice"), 3600) {
            @Override
            public Map<String, Object> addClaims(TokenRequest request) {
                if (createdDuringTheTrade.isEmpty()) {
                    createdDuringTheTrade.add(
                            testbed.createTcpService(tunnelId, tcpPort, tcpTarget.address()).get("id").asText());
                }
                return super.addClaims(request);
            }
        });
        String callback = throughProvider(loginUrl(id, returnTo));
        assertThat(createdDuringTheTrade).as("no tcp service before the callback").isEmpty();

        HttpResponse<String> back = get(callback);

        assertThat(createdDuringTheTrade).as("the tcp service, created at the provider's token endpoint").hasSize(1);
        assertThat(back.statusCode()).as("the callback, once a tcp service listens on the port").isEqualTo(400);
        assertThat(back.headers().firstValue("Location")).isEmpty();
        assertThat(tcpTarget.uris()).isEmpty();
    }

    @Test
    void aTcpServiceOnAnotherAddressOfTheProxysPortLeavesItsSignInsAloneWhereTheirArrivalIsKnown() throws Exception {
        // The proxy listens on 127.0.0.1 (HTTP on P, HTTPS on S), with a port mapping declared for HTTPS only.
        int publicHttps = Ports.freePort();
        start(Map.of(Setting.PUBLIC_HTTPS_PORT, Integer.toString(publicHttps)));
        RecordingTarget secret = target("secret");
        RecordingTarget tcpTarget = target("tcp");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        testbed.createTcpService(tunnelId, "127.0.0.2:" + httpPort(), tcpTarget.address());

        // Before: refused (400), as any tcp service on port P refused every return there, though a browser sent to
        // app.test:P arrives at the proxy's 127.0.0.1, where its visitors reach it, not at 127.0.0.2.
        nextUser("alice", "alice@example.com", "alice");
        String handoff = handoff(throughProvider(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page")));
        Visitor.Response done = visitor.get(httpPort(), HOST + ":" + httpPort(), handoff);
        assertThat(done.status()).isEqualTo(303);
        assertThat(visitor.get(httpPort(), HOST + ":" + httpPort(), "/page", "Cookie: " + cookiePair(done)).body())
                .isEqualTo("target=secret");

        // Where the return arrives is not known behind a declared port mapping (the names resolve to the mapping),
        // on the public port nor on the listening one: a tcp service on either, on any address, still refuses it.
        testbed.createTcpService(tunnelId, "127.0.0.2:" + testbed.server().httpsPort(), tcpTarget.address());
        testbed.createTcpService(tunnelId, "127.0.0.2:" + publicHttps, tcpTarget.address());
        for (int port : new int[] {testbed.server().httpsPort(), publicHttps}) {
            HttpResponse<String> refused = get(loginUrl(id, "https://" + HOST + ":" + port + "/page"));
            assertThat(refused.statusCode()).as("https to %d", port).isEqualTo(400);
        }
        // Nor is it for the other family: app.test may have an AAAA record too, to an address the server cannot see.
        testbed.createTcpService(tunnelId, "[::1]:" + httpPort(), tcpTarget.address());
        HttpResponse<String> otherFamily = get(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page"));
        assertThat(otherFamily.statusCode()).as("a tcp service on [::1]:P").isEqualTo(400);
        assertThat(tcpTarget.uris()).isEmpty();
    }

    @Test
    void whileTheServerDrainsForItsShutdownNoSignInStartsNorSendsItsCodeBack() throws Exception {
        // The public port stands for 80 again: a tcp service listens there, and a browser's keep-alive connection to
        // app.test:<tcpPort> through it, open when the drain starts, holds the drain open.
        int tcpPort = Ports.freePort();
        start(Map.of(Setting.PUBLIC_HTTP_PORT, Integer.toString(tcpPort)));
        RecordingTarget tcpTarget = target("tcp");
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        nextUser("alice", "alice@example.com", "alice");
        String startedBefore = throughProvider(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page"));
        testbed.createTcpService(tunnelId, tcpPort, tcpTarget.address());
        PicoTunnelServer server = testbed.server();
        try (Socket keptAlive = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
            keptAlive.setSoTimeout(10_000);
            keptAlive.getOutputStream().write(("GET /before HTTP/1.1\r\nHost: " + HOST + ":" + tcpPort + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(readUntil(keptAlive, "target=tcp")).startsWith("HTTP/1.1 200").endsWith("target=tcp");
            Thread stopping = Thread.ofVirtual().name("server-stop").start(() -> server.stop(Duration.ofSeconds(60)));
            await().atMost(10, TimeUnit.SECONDS).until(() -> !server.tcpServices().accepting());

            // Before: the tcp service's listener closed, its port counted as free, so this sign-in started (302),
            // and its callback sent the browser with the one-time code to app.test:<tcpPort>, where the browser's
            // open connection took it to the tcp service's target.
            HttpResponse<String> starting = get(loginUrl(id, "http://" + HOST + ":" + tcpPort + "/page"));
            assertThat(starting.statusCode()).as(starting.body()).isEqualTo(503);
            assertThat(starting.headers().firstValue("Location")).isEmpty();
            assertThat(starting.headers().firstValue("Retry-After")).as("when to try again").hasValue("60");
            HttpResponse<String> back = get(startedBefore);
            assertThat(back.statusCode()).as("the callback of a sign-in started before the drain").isEqualTo(503);
            assertThat(back.headers().firstValue("Location")).isEmpty();
            assertThat(back.headers().firstValue("Retry-After")).hasValue("60");
            assertThat(back.body()).contains("Server restarting");

            keptAlive.shutdownOutput();
            stopping.join(Duration.ofSeconds(30));
            assertThat(stopping.isAlive()).isFalse();
        }
        assertThat(tcpTarget.uris()).containsExactly("/before");
    }

    /** What {@code socket} gives until it has given {@code end} (or ends, or 64 KiB); the socket stays open. */
    private static String readUntil(Socket socket, String end) throws IOException {
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        while (read.size() < 64 * 1024 && !read.toString(StandardCharsets.UTF_8).endsWith(end)) {
            int b = socket.getInputStream().read();
            if (b < 0) {
                break;
            }
            read.write(b);
        }
        return read.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aSignInOnAnHttpsOnlyServiceReturnsOverHttpsAndNeverOverPlainHttp() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        start();
        String id = service("/", target("secret"), ",\"https_redirect\":true,"
                + "\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}");
        String authority = HOST + ":" + testbed.server().httpsPort();

        // Plain HTTP gets no sign-in, only the way to HTTPS; a visitor there starts one that returns there.
        assertThat(visitor.get(httpPort(), HOST, "/page").status()).isEqualTo(308);
        Visitor.Response first = visitor.getOverTls(ca.clientContext(), testbed.server().httpsPort(), authority, "/page");
        assertThat(first.status()).isEqualTo(302);
        assertThat(first.header("Location")).contains("&return_to=" + URLEncoder.encode("https://" + authority + "/page",
                StandardCharsets.UTF_8));
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> back = get(throughProvider(first.header("Location")));
        assertThat(location(back)).startsWith("https://" + authority + "/.picotunnel/auth/callback?code=");
        URI handoff = URI.create(location(back));
        Visitor.Response done = visitor.getOverTls(ca.clientContext(), testbed.server().httpsPort(), authority,
                handoff.getRawPath() + "?" + handoff.getRawQuery());
        assertThat(done.header("Set-Cookie")).contains("; Secure");
        assertThat(done.header("Location")).isEqualTo("/page");

        // Before: a sign-in link with an http return sent the one-time code back in clear, where anyone on the way
        // could trade it for the visitor's session.
        HttpResponse<String> downgraded = get(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page"));
        assertThat(downgraded.statusCode()).isEqualTo(400);
        assertThat(downgraded.body()).contains("not on https://" + HOST);
    }

    /**
     * An https-only service behind a trusted proxy that ends TLS: the proxy's https visitors sign in (before, they got
     * the 308 to https again, through the same proxy, and never reached the sign-in); its http ones get the 308.
     */
    @Test
    void anHttpsOnlyServiceSignsInTheHttpsVisitorsOfATrustedProxyThatEndsTls() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        String id = service("/", target("secret"), ",\"https_redirect\":true,"
                + "\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}");
        String https = "X-Forwarded-Proto: https";

        assertThat(visitor.get(httpPort(), HOST, "/page", "X-Forwarded-Proto: http").status()).isEqualTo(308);
        assertThat(Visitor.browser("127.0.0.2", null).get(httpPort(), HOST, "/page", https).status()).isEqualTo(308);
        Visitor.Response first = visitor.get(httpPort(), HOST, "/page", https);
        assertThat(returnTo(first)).isEqualTo("https://" + HOST + "/page");
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> back = get(throughProvider(first.header("Location")));
        assertThat(location(back)).startsWith("https://" + HOST + "/.picotunnel/auth/callback?code=");
        URI handoff = URI.create(location(back));
        Visitor.Response done = visitor.get(httpPort(), HOST, handoff.getRawPath() + "?" + handoff.getRawQuery(), https);
        assertThat(done.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=").contains("; Secure");
        assertThat(visitor.get(httpPort(), HOST, "/page", https, "Cookie: " + cookiePair(done)).body())
                .isEqualTo("target=secret");
    }

    @Test
    void aSignInStartedOverPlainHttpDoesNotReturnThereOnceItsServiceIsOnHttpsOnly() throws Exception {
        start();
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/page"));

        assertThat(testbed.api().patch("/api/services/" + id, "{\"https_redirect\":true}").status()).isEqualTo(200);

        HttpResponse<String> back = get(callback);
        assertThat(back.statusCode()).isEqualTo(400);
        assertThat(back.headers().firstValue("Location")).isEmpty();
    }

    @Test
    void identityHeaderLookalikesOfTheVisitorDoNotReachTheTarget() throws Exception {
        RecordingTarget open = startWithOneService("open", "");
        visitor.get(httpPort(), HOST, "/", "X_PicoTunnel_User: admin", "X-PicoTunnel_Email: admin@example.com",
                "X_Forwarded_For: 127.9.8.7");
        // CGI, WSGI, Rack and PHP targets read these as X-PicoTunnel-User and so on.
        assertThat(open.lastHeaders().toString().toLowerCase(Locale.ROOT))
                .doesNotContain("picotunnel_user", "picotunnel_email", "x_forwarded_for", "admin@example.com", "127.9.8.7");
    }

    @Test
    void identityHeadersSentAsTrailersOfAChunkedBodyDoNotReachTheTarget() throws Exception {
        String received = sentToTheTargetOf("Connection: X-Head-Named\r\n"
                        + "Trailer: X-PicoTunnel-User, X_PicoTunnel_Email\r\n",
                "X-PicoTunnel-User: admin\r\nx-picotunnel-USER: root\r\n"
                        + "X_PicoTunnel_Email: admin@example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Other: kept\r\n"
                        + "Connection: x-named\r\nX-Named: hop\r\nKeep-Alive: timeout=666\r\n"
                        + "Upgrade: websocket\r\nX-Head-Named: head-hop\r\n");
        // Before: the trailers went on as sent, and a target that merges trailers into the headers (Apache httpd
        // before 2.4.11, or with MergeTrailers on) took the visitor's word for who signed in; and their
        // hop-by-hop headers went on after that was mended, and then those the head's Connection named.
        assertThat(received).contains("X-Other: kept");
        assertThat(received.toLowerCase(Locale.ROOT)).as(received)
                .doesNotContain("picotunnel", "admin", "root", "6.6.6.6", "x-named", "666", "websocket",
                        "x-head-named", "head-hop");
    }

    /**
     * Fields RFC 9110 6.5.1 keeps out of trailers (framing, routing, authentication, the content's format) and those
     * the gate checks in the head do not reach the target in a chunked request's trailers: a target that merges
     * trailers into the headers would take them after the proxy's checks. Fields made for trailers go on.
     */
    @Test
    void fieldsTrailersMayNotCarryDoNotReachTheTarget() throws Exception {
        String received = sentToTheTargetOf("", "Content-Length: 99\r\nContent_Length: 98\r\n"
                + "Content-Type: text/evil\r\nContent-Encoding: gzip\r\nHost: evil.test\r\n"
                + "Authorization: Bearer stolen-token\r\nCookie: session=stolen-cookie\r\nSet-Cookie: planted=1\r\n"
                + "Origin: https://evil.test\r\nSec-Fetch-Site: same-origin\r\nIf-None-Match: \"etag-evil\"\r\n"
                + "Range: bytes=0-1\r\nMax-Forwards: 0\r\nContent-Digest: sha-256=:kept=:\r\nX-Other: kept\r\n");
        // Before: only hop-by-hop, forwarding and identity fields and Host were taken from the trailers; the
        // others went on to the target.
        String trailers = received.substring(received.indexOf("\r\n0\r\n"));
        assertThat(trailers).contains("X-Other: kept", "Content-Digest: sha-256=:kept=:");
        assertThat(trailers.toLowerCase(Locale.ROOT)).as(trailers)
                .doesNotContain("content-length", "content_length", "99", "98", "evil", "gzip", "stolen",
                        "planted", "same-origin", "bytes=", "max-forwards");
    }

    /**
     * What a target reached through an open service receives for a chunked POST with {@code headFields} in its head
     * and {@code trailerFields} in its trailers (each line ending in CRLF), once the visitor got its 200.
     */
    private String sentToTheTargetOf(String headFields, String trailerFields) throws Exception {
        start();
        try (RawTarget raw = new RawTarget()) {
            ApiClient.Response created = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                    "{\"type\":\"http\",\"domain\":\"" + HOST + "\",\"target_addr\":\"" + raw.address() + "\"}");
            assertThat(created.status()).as(created.toString()).isEqualTo(201);
            try (Socket socket = visitor.connect(httpPort())) {
                socket.getOutputStream().write(("POST /form HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n"
                        + headFields + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n" + trailerFields + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1))
                        .startsWith("HTTP/1.1 200");
            }
            return raw.request().get(10, TimeUnit.SECONDS);
        }
    }

    /** A target that keeps the bytes of the one request it is sent (headers, chunks and trailers) and answers 200. */
    private static final class RawTarget implements AutoCloseable {
        private final ServerSocket server;
        private final CompletableFuture<String> request = new CompletableFuture<>();

        RawTarget() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                try (Socket socket = server.accept()) {
                    socket.setSoTimeout(10_000);
                    ByteArrayOutputStream in = new ByteArrayOutputStream();
                    byte[] buffer = new byte[4096];
                    while (in.size() < 65_536 && !complete(in.toString(StandardCharsets.ISO_8859_1))) {
                        int n = socket.getInputStream().read(buffer);
                        if (n < 0) {
                            break;
                        }
                        in.write(buffer, 0, n);
                    }
                    request.complete(in.toString(StandardCharsets.ISO_8859_1));
                    socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    request.completeExceptionally(e);
                }
            });
        }

        /** A chunked request read to the end of its trailers. */
        private static boolean complete(String text) {
            int head = text.indexOf("\r\n\r\n");
            int last = head < 0 ? -1 : text.indexOf("\r\n0\r\n", head);
            return last >= 0 && text.length() > last + 5 && text.endsWith("\r\n") && (text.length() == last + 7
                    || text.endsWith("\r\n\r\n"));
        }

        String address() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        CompletableFuture<String> request() {
            return request;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void aSignInLinkWithABrokenPercentEncodingGetsAnAnswerNotAClosedConnection() throws Exception {
        start();
        service("/", target("secret"), oidcAllowing("alice@example.com"));

        // Before: URLDecoder threw on the event loop, and the proxy closed the connection without a word.
        for (String code : List.of("%zz", "abc%", "%e2%82")) {
            Visitor.Response r = visitor.get(httpPort(), HOST, "/.picotunnel/auth/callback?code=" + code);
            assertThat(r.status()).as(code).isEqualTo(400);
            assertThat(r.body()).contains("not valid any more");
        }
    }

    @Test
    void neitherTheCallbackNorTheCodeWorksTwiceAndANarrowedListTakesEffectForSignedInVisitors() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), "/page");
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(first.header("Location"));
        String handoff = handoff(callback);
        String cookie = cookiePair(visitor.get(httpPort(), HOST, handoff));

        // The provider's callback again: the sign-in it finished is gone (the UI's own sign-in then says so).
        HttpResponse<String> again = get(callback);
        assertThat(again.statusCode()).isEqualTo(303);
        assertThat(location(again)).isEqualTo("/");
        // The one-time code again: no second session.
        Visitor.Response twice = visitor.get(httpPort(), HOST, handoff);
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.header("Set-Cookie")).isNull();

        assertThat(visitor.get(httpPort(), HOST, "/page", "Cookie: " + cookie).status()).isEqualTo(200);
        assertThat(testbed.api().patch("/api/services/" + id,
                "{\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"bob@example.com\"]}}").status()).isEqualTo(200);
        Visitor.Response narrowed = visitor.get(httpPort(), HOST, "/page", "Cookie: " + cookie);
        assertThat(narrowed.status()).isEqualTo(302);
        assertThat(narrowed.header("Location")).contains("/auth/service/login?service=" + id);
        assertThat(secret.requestCount()).isEqualTo(1);
    }

    @Test
    void refusedSignInsAreLoggedOnceAMinutePerServiceSoAFloodAtOneHidesNoOtherServicesRefusal() throws Exception {
        start();
        String root = service("/", target("secret"), oidcAllowing("alice@example.com"));
        String other = service("/other", target("other"),
                oidcAllowing("alice@example.com"));
        try (LogCapture log = new LogCapture("io.picotunnel.server.access.ServiceSignIn", Level.INFO)) {
            for (String path : List.of("/", "/", "/", "/other")) {
                Visitor.Response first = visitor.get(httpPort(), HOST + ":" + httpPort(), path);
                assertThat(first.status()).as(first.toString()).isEqualTo(302);
                nextUser("mallory", "mallory@example.com", "mallory");

                HttpResponse<String> refused = get(throughProvider(first.header("Location")));

                assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
                assertThat(refused.body()).contains("is not allowed to open");
            }

            assertThat(log.messages(Level.INFO)).filteredOn(m -> m.contains("refused")).containsExactly(
                    "single sign-on to service " + root + " refused: mallory@example.com is not on its allow list",
                    "single sign-on to service " + other + " refused: mallory@example.com is not on its allow list");
        }
    }

    @Test
    void aSignInFinishesOnlyInTheBrowserThatStartedIt() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("mallory@example.com"));
        // The attacker signs in as themself up to the provider's redirect back, and has a victim open that link:
        // before, the victim's browser finished the sign-in and browsed the service as the attacker.
        nextUser("mallory", "mallory@example.com", "mallory");
        String attackersCallback = throughProvider(loginUrl(id, "http://" + HOST + ":" + httpPort() + "/"));

        HttpResponse<String> victim = get(browser(), attackersCallback);

        assertThat(victim.statusCode()).isEqualTo(403);
        assertThat(victim.body()).contains("started in another browser");
    }

    @Test
    void theLinkOnTheServicesDomainOpensNoSessionInABrowserThatDidNotStartTheSignIn() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("mallory@example.com"));
        // The attacker goes as far as the link with the one-time code, and has victims open it: before, each
        // victim's browser got a session as the attacker and browsed the service as them.
        Visitor withoutCookie = Visitor.browser("127.0.0.2", null);
        String another = Secrets.newToken();
        Visitor withAnotherCookie = Visitor.browser("127.0.0.3", domainBrowserCookie(another, false) + "=" + another);
        for (Visitor victim : List.of(withoutCookie, withAnotherCookie)) {
            nextUser("mallory", "mallory@example.com", "mallory");
            String attackersLink = handoff(throughProvider(visitor.get(httpPort(), HOST, "/page").header("Location")));

            Visitor.Response refused = victim.get(httpPort(), HOST, attackersLink);

            assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
            assertThat(refused.body()).contains("started in another browser");
            assertThat(refused.header("Set-Cookie")).isNull();
            // nor does the link work afterwards, in any browser
            assertThat(visitor.get(httpPort(), HOST, attackersLink).status()).isEqualTo(400);
        }
        assertThat(secret.requestCount()).isZero();

        // The browser that started it signs in (its cookie, kept, and its hash in the login link); its sign-in
        // cookie is left to its Max-Age (another tab's sign-in may need it).
        Visitor.Response started = visitor.get(httpPort(), HOST, "/page");
        assertThat(started.status()).isEqualTo(302);
        assertThat(started.header("Set-Cookie")).isEqualTo(domainBrowserCookie(BROWSER, false) + "=" + BROWSER
                + "; Path=/; Max-Age=720; HttpOnly; SameSite=Lax");
        assertThat(started.header("Location")).endsWith("&browser=" + Secrets.sha256Hex(BROWSER));
        Visitor.Response done = signIn("/page", "mallory@example.com", "mallory");
        assertThat(done.status()).isEqualTo(303);
        assertThat(done.header("Set-Cookie")).doesNotContain(ServiceSignIn.DOMAIN_BROWSER_COOKIE);
        assertThat(visitor.get(httpPort(), HOST, "/page", "Cookie: " + cookiePair(done)).body()).isEqualTo("target=secret");
    }

    @Test
    void aTabWhoseSignInCookieIsGoneFinishesInABrowserSignedInAsTheSameUserMeanwhile() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        String firstTab = visitor.get(httpPort(), HOST, "/one").header("Location");
        String secondTab = visitor.get(httpPort(), HOST, "/two").header("Location");
        nextUser("alice", "alice@example.com", "alice");
        String firstLink = handoff(throughProvider(firstTab));
        nextUser("alice", "alice@example.com", "alice");
        String secondLink = handoff(throughProvider(secondTab));

        Visitor.Response first = visitor.get(httpPort(), HOST, firstLink);
        assertThat(first.status()).as(first.toString()).isEqualTo(303);
        assertThat(first.header("Location")).isEqualTo("/one");
        // The browser now holds the session, and no sign-in cookie any more (its Max-Age past, say).
        Visitor.Response second = Visitor.browser("127.0.0.1", null).get(httpPort(), HOST, secondLink,
                "Cookie: " + cookiePair(first));
        assertThat(second.status()).as(second.toString()).isEqualTo(303);
        assertThat(second.header("Location")).isEqualTo("/two");
        assertThat(visitor.get(httpPort(), HOST, "/two", "Cookie: " + cookiePair(first)).body()).isEqualTo("target=secret");
    }

    /**
     * Two tabs of one browser sent to sign in at once (a browser restoring its tabs after the session expired): the
     * requests of both go before the browser has a sign-in cookie of the service's domain, so each answer sets one.
     * Before, both were named picotunnel_signin_browser, the second answer's took the first's place, and the first
     * tab's one-time code found a cookie of another value: 403, "started in another browser".
     */
    @Test
    void twoTabsSentToSignInAtOnceBothFinishWhicheverFinishesFirst() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        for (boolean firstFinishesFirst : List.of(true, false)) {
            CookieJar jar = new CookieJar();
            Visitor browser = Visitor.browser("127.0.0.1", null);
            Visitor.Response firstTab = browser.get(httpPort(), HOST, "/one");
            Visitor.Response secondTab = browser.get(httpPort(), HOST, "/two");
            jar.take(firstTab);
            jar.take(secondTab);
            nextUser("alice", "alice@example.com", "alice");
            String firstLink = handoff(throughProvider(firstTab.header("Location")));
            nextUser("alice", "alice@example.com", "alice");
            String secondLink = handoff(throughProvider(secondTab.header("Location")));

            for (String link : firstFinishesFirst ? List.of(firstLink, secondLink) : List.of(secondLink, firstLink)) {
                Visitor.Response done = browser.get(httpPort(), HOST, link, jar.header());
                assertThat(done.status()).as("%s, first finishing first: %s", done, firstFinishesFirst).isEqualTo(303);
                jar.take(done);
            }
            assertThat(browser.get(httpPort(), HOST, "/one", jar.header()).body()).isEqualTo("target=secret");
        }
    }

    /**
     * Two users signing in to one service in two tabs of one browser (the second tab sent to sign in once the first
     * had its cookie, so they share it): both finish, the last one's session the browser's. Before, the first to
     * finish cleared the shared cookie, and the other's code, of another user, found none: 403.
     */
    @Test
    void twoUsersSigningInInTwoTabsOfOneBrowserBothFinish() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com", "bob@example.com"));
        CookieJar jar = new CookieJar();
        Visitor browser = Visitor.browser("127.0.0.1", null);
        Visitor.Response firstTab = browser.get(httpPort(), HOST, "/alice");
        jar.take(firstTab);
        Visitor.Response secondTab = browser.get(httpPort(), HOST, "/bob", jar.header());
        jar.take(secondTab);
        nextUser("alice", "alice@example.com", "alice");
        String aliceLink = handoff(throughProvider(firstTab.header("Location")));
        nextUser("bob", "bob@example.com", "bob");
        String bobLink = handoff(throughProvider(secondTab.header("Location")));

        Visitor.Response alice = browser.get(httpPort(), HOST, aliceLink, jar.header());
        assertThat(alice.status()).as(alice.toString()).isEqualTo(303);
        jar.take(alice);
        Visitor.Response bob = browser.get(httpPort(), HOST, bobLink, jar.header());
        assertThat(bob.status()).as(bob.toString()).isEqualTo(303);
        jar.take(bob);

        assertThat(browser.get(httpPort(), HOST, "/bob", jar.header()).body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("X-PicoTunnel-Email")).containsExactly("bob@example.com");
    }

    /** A browser's cookies of the services' host: Set-Cookie headers applied in the order the answers are taken. */
    private static final class CookieJar {
        private final Map<String, String> cookies = new java.util.LinkedHashMap<>();

        void take(Visitor.Response answer) {
            String setCookies = answer.header("Set-Cookie");
            if (setCookies == null) {
                return;
            }
            for (String setCookie : setCookies.split("\n")) {
                String pair = setCookie.substring(0, setCookie.indexOf(';'));
                if (setCookie.contains("; Max-Age=0;")) {
                    cookies.remove(Cookies.name(pair));
                } else {
                    cookies.put(Cookies.name(pair), Cookies.valueOf(pair));
                }
            }
        }

        /** The Cookie header the browser sends. */
        String header() {
            StringBuilder header = new StringBuilder("Cookie: ");
            cookies.forEach((name, value) -> header.append(name).append('=').append(value).append("; "));
            return header.toString();
        }
    }

    /**
     * On the management origin each sign-in has a cookie of its own (named after its state), which its callback
     * clears, allowed or refused, and no other: the browser may apply two tabs' answers in any order (before, one
     * cookie served all, and a callback's clearing that reached the browser after a second tab's start took that
     * tab's cookie).
     */
    @Test
    void eachCallbackClearsTheManagementOriginsSignInCookieOfItsOwnSignInAllowedOrNot() throws Exception {
        start();
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        String page = "http://" + HOST + ":" + httpPort() + "/";
        nextUser("alice", "alice@example.com", "alice");
        String firstTab = throughProvider(loginUrl(id, page + "one"));
        nextUser("alice", "alice@example.com", "alice");
        String secondTab = throughProvider(loginUrl(id, page + "two"));

        HttpResponse<String> secondBack = get(secondTab);
        assertThat(secondBack.statusCode()).as(secondBack.body()).isEqualTo(303);
        assertThat(secondBack.headers().allValues("Set-Cookie")).containsExactly(cleared(secondTab));
        HttpResponse<String> firstBack = get(firstTab);
        assertThat(firstBack.statusCode()).as(firstBack.body()).isEqualTo(303);
        assertThat(firstBack.headers().allValues("Set-Cookie")).containsExactly(cleared(firstTab));

        nextUser("mallory", "mallory@example.com", "mallory");
        String refusedTab = throughProvider(loginUrl(id, page));
        HttpResponse<String> refused = get(refusedTab);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.headers().allValues("Set-Cookie")).containsExactly(cleared(refusedTab));
    }

    /**
     * A service without TLS (its pages http://) whose sign-in goes through a management server reached over https
     * (its redirect URL https, TLS ended by a proxy in front: played here by sending its requests to the management
     * port), walked with the real provider. The provider is given the https redirect_uri; the management origin's
     * sign-in cookie is the host-only, Secure one of https; the service's own cookies, on plain http, are neither
     * Secure nor __Host- (a browser would drop such a cookie set over http), and the code comes back to http.
     */
    @Test
    void aServiceOnPlainHttpSignsInThroughAManagementServerOnHttps() throws Exception {
        start(Map.of(Setting.OIDC_REDIRECT_URL, "https://localhost/auth/callback"));
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        HttpClient browser = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5)).build();

        Visitor.Response asked = visitor.get(httpPort(), HOST + ":" + httpPort(), "/page");
        assertThat(asked.status()).isEqualTo(302);
        assertThat(asked.header("Location")).startsWith("https://localhost/auth/service/login?service=" + id
                + "&return_to=" + URLEncoder.encode("http://" + HOST + ":" + httpPort() + "/page", StandardCharsets.UTF_8));
        assertThat(asked.header("Set-Cookie")).isEqualTo(domainBrowserCookie(BROWSER, false) + "=" + BROWSER
                + "; Path=/; Max-Age=720; HttpOnly; SameSite=Lax");

        HttpResponse<String> login = viaTlsProxy(browser, asked.header("Location"), null);
        assertThat(login.statusCode()).as(login.body()).isEqualTo(302);
        assertThat(location(login)).contains("redirect_uri=" + URLEncoder.encode("https://localhost/auth/callback",
                StandardCharsets.UTF_8));
        String signInCookie = login.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(signInCookie).startsWith(Cookies.HOST_ONLY + ServiceSignIn.BROWSER_COOKIE + "-")
                .endsWith("; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure");
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> atProvider = get(browser, location(login));
        assertThat(location(atProvider)).startsWith("https://localhost/auth/callback?");

        HttpResponse<String> back = viaTlsProxy(browser, location(atProvider), signInCookie.substring(0, signInCookie.indexOf(';')));
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        assertThat(location(back)).startsWith("http://" + HOST + ":" + httpPort() + ServiceSignIn.CALLBACK + "?code=");
        assertThat(back.headers().allValues("Set-Cookie")).containsExactly(signInCookie.substring(0, signInCookie.indexOf('=') + 1)
                + "; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");

        URI handoff = URI.create(location(back));
        Visitor.Response done = visitor.get(httpPort(), HOST + ":" + httpPort(), handoff.getRawPath() + "?" + handoff.getRawQuery());
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.header("Location")).isEqualTo("/page");
        assertThat(done.header("Set-Cookie")).startsWith(ServiceSignIn.COOKIE_PREFIX + id + "=")
                .endsWith("; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax");
        assertThat(visitor.get(httpPort(), HOST, "/page", "Cookie: " + cookiePair(done)).body()).isEqualTo("target=secret");
    }

    /**
     * {@code url} on https://localhost (the redirect URL's origin) as a proxy that ends TLS there passes it on: to the
     * management port over http, saying X-Forwarded-Proto: https; with {@code cookie} ("name=value") when not null.
     */
    private HttpResponse<String> viaTlsProxy(HttpClient browser, String url, String cookie) throws Exception {
        assertThat(url).startsWith("https://localhost/");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://localhost:" + mgmtPort
                + url.substring("https://localhost".length()))).timeout(Duration.ofSeconds(20)).header("X-Forwarded-Proto", "https")
                .header("Accept", Visitor.PAGE_ACCEPT);
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        return browser.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The Set-Cookie that clears the management origin's sign-in cookie of the sign-in whose callback this is. */
    private static String cleared(String callback) {
        String state = java.util.Arrays.stream(URI.create(callback).getRawQuery().split("&"))
                .filter(p -> p.startsWith("state=")).map(p -> p.substring(6)).findFirst().orElseThrow();
        return ServiceSignIn.BROWSER_COOKIE + "-" + state + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax";
    }

    @Test
    void anAddressAtItsCapOfWaitingSignInsPushesOutItsOwnOldestAndNobodyElses() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com", "bob@example.com"));
        String login = loginUrl(id, "http://" + HOST + ":" + httpPort() + "/");
        HttpClient bobsBrowser = browserOn(InetAddress.getByName("127.0.0.2"));
        String bobsCallback = throughProvider(bobsBrowser, login);

        // Ten waiting from 127.0.0.1 (tabs left open), then an eleventh: before, it was refused with 429.
        String oldest = throughProvider(login);
        for (int i = 1; i < 10; i++) {
            assertThat(get(login).statusCode()).as("sign-in %d", i).isEqualTo(302);
        }
        String latest = throughProvider(login);

        HttpResponse<String> pushedOut = get(oldest);
        assertThat(pushedOut.statusCode()).isEqualTo(303);
        assertThat(location(pushedOut)).isEqualTo("/");
        String signInError = pushedOut.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith(ManagementAuth.SIGN_IN_ERROR_COOKIE + "="))
                .map(c -> c.substring(ManagementAuth.SIGN_IN_ERROR_COOKIE.length() + 1, c.indexOf(';')))
                .findFirst().orElseThrow();
        assertThat(new String(java.util.Base64.getUrlDecoder().decode(signInError), StandardCharsets.UTF_8))
                .startsWith("This sign-in link is not valid any more");

        nextUser("alice", "alice@example.com", "alice");
        Visitor.Response alice = visitor.get(httpPort(), HOST, handoff(latest));
        assertThat(rootPageWithCookieOf(alice).body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("X-PicoTunnel-User")).containsExactly("alice@example.com");

        nextUser("bob", "bob@example.com", "bob");
        Visitor.Response bob = visitor.get(httpPort(), HOST, handoff(bobsBrowser, bobsCallback));
        assertThat(rootPageWithCookieOf(bob).body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("X-PicoTunnel-User")).containsExactly("bob@example.com");
    }

    @Test
    void aServiceOnASubPathFinishesItsSignInAndSignsOutThoughItsHostsRootIsAnotherServices() throws Exception {
        start();
        RecordingTarget open = target("open");
        RecordingTarget admin = target("admin");
        service("/", open, "");
        service("/admin", admin, oidcAllowing("alice@example.com"));

        // The callback's path is the proxy's: before, it went by prefix to "/", whose target got the one-time code.
        Visitor.Response done = signIn("/admin/page", "alice@example.com", "alice");
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(open.uris()).noneMatch(uri -> uri.contains("/.picotunnel/"));
        String cookie = cookiePair(done);
        assertThat(visitor.get(httpPort(), HOST, "/admin/page", "Cookie: " + cookie).body()).isEqualTo("target=admin");

        Visitor.Response out = visitor.post(httpPort(), HOST, "/.picotunnel/auth/logout", "Cookie: " + cookie);
        assertThat(out.status()).isEqualTo(200);
        assertThat(out.header("Set-Cookie")).startsWith(cookie.substring(0, cookie.indexOf('=') + 1) + ";");
        assertThat(visitor.get(httpPort(), HOST, "/admin/page", "Cookie: " + cookie).status()).isEqualTo(302);
        assertThat(open.uris()).noneMatch(uri -> uri.contains("/.picotunnel/"));
    }

    @Test
    void signingOutTakesTheButtonOfTheServicesOwnPageNotALinkOrAnotherSitesForm() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        String cookie = cookiePair(signIn("/", "alice@example.com", "alice"));
        String authority = HOST + ":" + httpPort();

        // Before: this GET signed the visitor out, so any page could, with <img src=".../.picotunnel/auth/logout">
        // or a redirect. Now it only asks, on a page no other site may frame.
        Visitor.Response asked = visitor.get(httpPort(), authority, "/.picotunnel/auth/logout", "Cookie: " + cookie);
        assertThat(asked.status()).isEqualTo(200);
        assertThat(asked.header("Set-Cookie")).isNull();
        assertThat(asked.body()).contains("Sign out of " + HOST + "?")
                .contains("<form method=\"post\" action=\"/.picotunnel/auth/logout\"><button type=\"submit\">Sign out</button>");
        assertThat(asked.header("X-Frame-Options")).isEqualTo("DENY");
        assertThat(visitor.get(httpPort(), authority, "/", "Cookie: " + cookie).body()).isEqualTo("target=secret");

        // Another site's form, or a sibling domain's (same site, so the SameSite=Lax cookie comes along): refused.
        for (String[] from : List.of(new String[] {"Origin: http://evil.example", "Sec-Fetch-Site: cross-site"},
                new String[] {"Origin: http://evil." + authority, "Sec-Fetch-Site: same-site"},
                new String[] {"Origin: http://" + HOST + ":" + (httpPort() + 1)}, new String[] {"Origin: null"},
                new String[] {"Sec-Fetch-Site: same-site"})) {
            String[] headers = Stream.concat(Stream.of("Cookie: " + cookie), Arrays.stream(from)).toArray(String[]::new);
            Visitor.Response refused = visitor.post(httpPort(), authority, "/.picotunnel/auth/logout", headers);
            assertThat(refused.status()).as(String.join(", ", from)).isEqualTo(403);
            assertThat(refused.header("Set-Cookie")).isNull();
        }
        assertThat(visitor.get(httpPort(), authority, "/", "Cookie: " + cookie).body()).isEqualTo("target=secret");
        assertThat(visitor.request(httpPort(), "DELETE", authority, "/.picotunnel/auth/logout", "Cookie: " + cookie)
                .status()).isEqualTo(405);

        // The button on the page: a POST from the service's own origin.
        Visitor.Response out = visitor.post(httpPort(), authority, "/.picotunnel/auth/logout", "Cookie: " + cookie,
                "Origin: http://" + authority, "Sec-Fetch-Site: same-origin");
        assertThat(out.status()).isEqualTo(200);
        assertThat(out.body()).contains("You are signed out of " + HOST);
        assertThat(out.header("Set-Cookie")).startsWith(cookie.substring(0, cookie.indexOf('=') + 1) + ";").contains("Max-Age=0");
        assertThat(visitor.get(httpPort(), authority, "/", "Cookie: " + cookie).status()).isEqualTo(302);
        assertThat(secret.uris()).noneMatch(uri -> uri.contains("/.picotunnel/"));
    }

    @Test
    void aNameWithAnUnderscoreSignsInAndOutWithTheButtonOfItsOwnPage() throws Exception {
        start();
        RecordingTarget secret = target("secret");
        ApiClient.Response created = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"*." + HOST + "\",\"target_addr\":\"" + secret.address()
                        + "\",\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        // DNS allows "_" in a name, and the wildcard service answers my_app.app.test. Before: java.net.URI gave no
        // host for such a return_to, so the sign-in was refused with 400 'Invalid sign-in link'.
        String signedIn = "my_app." + HOST + ":" + httpPort();
        Visitor.Response first = visitor.get(httpPort(), signedIn, "/");
        assertThat(first.status()).as(first.toString()).isEqualTo(302);
        nextUser("alice", "alice@example.com", "alice");
        String handoff = handoff(throughProvider(first.header("Location")));
        String cookie = cookiePair(visitor.get(httpPort(), signedIn, handoff));

        assertThat(visitor.get(httpPort(), signedIn, "/", "Cookie: " + cookie).body()).isEqualTo("target=secret");

        // Before: java.net.URI gave no host for such an Origin (nor for the Host), so the sign-out of the page's own
        // button was refused with 403.
        String authority = signedIn;
        Visitor.Response out = visitor.post(httpPort(), authority, "/.picotunnel/auth/logout", "Cookie: " + cookie,
                "Origin: http://My_App." + HOST.toUpperCase(Locale.ROOT) + ":" + httpPort(), "Sec-Fetch-Site: same-origin");
        assertThat(out.status()).as(out.toString()).isEqualTo(200);
        assertThat(out.header("Set-Cookie")).startsWith(cookie.substring(0, cookie.indexOf('=') + 1) + ";").contains("Max-Age=0");
        assertThat(visitor.get(httpPort(), signedIn, "/", "Cookie: " + cookie).status()).isEqualTo(302);

        // Still its own origin only: another name, another port, a user part.
        for (String origin : List.of("http://my-app." + HOST + ":" + httpPort(), "http://my_app." + HOST,
                "http://x@" + authority, "http://" + authority + "/")) {
            assertThat(visitor.post(httpPort(), authority, "/.picotunnel/auth/logout", "Origin: " + origin).status())
                    .as(origin).isEqualTo(403);
        }
    }

    /**
     * Behind a front proxy that ends TLS and forwards to the plain HTTP listener, the visitor's page is https: its
     * sign-out button's Origin is https on the same host (ports compared by the Origin's scheme), and is taken; an
     * https Origin on another port or host is not.
     */
    @Test
    void onPlainHttpASignOutFromTheSameHostsHttpsPageIsTakenAsAFrontProxysPage() throws Exception {
        RecordingTarget secret = startWithOneService("secret", oidcAllowing("alice@example.com"));
        String cookie = cookiePair(signIn("/", "alice@example.com", "alice"));

        for (String origin : List.of("https://" + HOST + ":" + httpPort(), "https://evil." + HOST, "https://"
                + HOST + ":8443")) {
            Visitor.Response refused = visitor.post(httpPort(), HOST, "/.picotunnel/auth/logout", "Cookie: " + cookie,
                    "Origin: " + origin);
            assertThat(refused.status()).as("Host %s, Origin %s", HOST, origin).isEqualTo(403);
            assertThat(refused.header("Set-Cookie")).isNull();
        }
        assertThat(visitor.get(httpPort(), HOST, "/", "Cookie: " + cookie).body()).isEqualTo("target=secret");

        Visitor.Response out = visitor.post(httpPort(), HOST, "/.picotunnel/auth/logout", "Cookie: " + cookie,
                "Origin: https://" + HOST);
        assertThat(out.status()).isEqualTo(200);
        assertThat(visitor.get(httpPort(), HOST, "/", "Cookie: " + cookie).status()).isEqualTo(302);
    }

    /** The page a sign-in will return to: the return_to of the proxy's redirect to the management server. */
    private static String returnTo(Visitor.Response redirect) {
        assertThat(redirect.status()).as(redirect.toString()).isEqualTo(302);
        String location = redirect.header("Location");
        String rest = location.substring(location.indexOf("&return_to=") + 11);
        return java.net.URLDecoder.decode(rest.substring(0, rest.indexOf("&browser=")), StandardCharsets.UTF_8);
    }

    /**
     * A front proxy that ends TLS (nginx, Caddy, a load balancer) forwards the visitor's https requests to the plain
     * HTTP listener with the public Host and X-Forwarded-Proto: https. Named in --trusted-proxies, it is believed:
     * the sign-in returns to https, and the session cookie is the host-only, Secure one of https.
     */
    @Test
    void behindATrustedProxyThatEndsTlsASignInReturnsToHttpsAndItsCookieIsAHostOnlySecureOne() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        String https = "X-Forwarded-Proto: https";
        String forwardedFor = "X-Forwarded-For: 203.0.113.7";

        // Before: return_to=http://app.test/page, and the browser came back over plain http from the provider.
        Visitor.Response first = visitor.get(httpPort(), HOST, "/page", https, forwardedFor);
        assertThat(returnTo(first)).isEqualTo("https://" + HOST + "/page");
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> back = get(throughProvider(first.header("Location")));
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        assertThat(location(back)).startsWith("https://" + HOST + "/.picotunnel/auth/callback?code=");
        URI handoff = URI.create(location(back));

        // Before: picotunnel_access_<id> without Secure, a name a sibling domain may set.
        Visitor.Response done = visitor.get(httpPort(), HOST, handoff.getRawPath() + "?" + handoff.getRawQuery(), https,
                forwardedFor);
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.header("Location")).isEqualTo("/page");
        assertThat(done.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=")
                .contains("; Path=/;").contains("; Secure").doesNotContainIgnoringCase("domain");
        String cookie = cookiePair(done);
        String value = cookie.substring(cookie.indexOf('=') + 1);
        assertThat(visitor.get(httpPort(), HOST, "/page", https, "Cookie: theme=dark; " + cookie).body())
                .isEqualTo("target=secret");
        assertThat(secret.lastHeader("Cookie")).containsExactly("theme=dark");
        // As over TLS, the name without the prefix opens nothing on https.
        assertThat(visitor.get(httpPort(), HOST, "/page", https, "Cookie: picotunnel_access_" + id + "=" + value)
                .status()).isEqualTo(302);

        // Only the first value counts, and only http or https: anything else leaves the connection's scheme.
        assertThat(returnTo(visitor.get(httpPort(), HOST, "/a", "X-Forwarded-Proto: HTTPS, http")))
                .isEqualTo("https://" + HOST + "/a");
        assertThat(returnTo(visitor.get(httpPort(), HOST, "/a", "X-Forwarded-Proto: http", https)))
                .isEqualTo("http://" + HOST + "/a");
        assertThat(returnTo(visitor.get(httpPort(), HOST, "/a", "X-Forwarded-Proto: wss")))
                .isEqualTo("http://" + HOST + "/a");

        // The sign-out of the https page: its Origin is https; a plain http page of the host is another origin there.
        assertThat(visitor.post(httpPort(), HOST, "/.picotunnel/auth/logout", https, "Cookie: " + cookie,
                "Origin: http://" + HOST).status()).isEqualTo(403);
        Visitor.Response out = visitor.post(httpPort(), HOST, "/.picotunnel/auth/logout", https, "Cookie: " + cookie,
                "Origin: https://" + HOST, "Sec-Fetch-Site: same-origin");
        assertThat(out.status()).as(out.toString()).isEqualTo(200);
        assertThat(out.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=;").contains("; Secure");
        assertThat(visitor.get(httpPort(), HOST, "/page", https, "Cookie: " + cookie).status()).isEqualTo(302);
    }

    /**
     * HAProxy ending TLS in front of the plain HTTP listener with send-proxy-v2-ssl: its PROXY header names the
     * visitor, whose X-Forwarded-Proto is not read, and says in the SSL TLV that the visitor used TLS. The sign-in
     * returns to https and its cookie is the host-only, Secure one; without the TLV both are plain http's.
     */
    @Test
    void behindAProxySendingTheSslTlvOfTheProxyProtocolASignInReturnsToHttpsWithAHostOnlySecureCookie() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1", Setting.PROXY_PROTOCOL, "true"));
        String id = service("/", target("secret"), oidcAllowing("alice@example.com"));
        byte[] source = {(byte) 203, 0, 113, 7};
        byte[] overTls = ProxyV2.tcp4(source, ProxyV2.ssl(true));

        // Before: return_to=http://app.test/page, the code sent back over plain http, and a cookie without Secure.
        Visitor.Response first = visitor.getBehind(overTls, httpPort(), HOST, "/page");
        assertThat(returnTo(first)).isEqualTo("https://" + HOST + "/page");
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> back = get(throughProvider(first.header("Location")));
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        assertThat(location(back)).startsWith("https://" + HOST + "/.picotunnel/auth/callback?code=");
        URI handoff = URI.create(location(back));
        Visitor.Response done = visitor.getBehind(overTls, httpPort(), HOST, handoff.getRawPath() + "?" + handoff.getRawQuery());
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=")
                .contains("; Secure").doesNotContainIgnoringCase("domain");
        String cookie = cookiePair(done);
        assertThat(visitor.getBehind(overTls, httpPort(), HOST, "/page", "Cookie: " + cookie).body())
                .isEqualTo("target=secret");

        // Without the TLV, or with PP2_CLIENT_SSL clear, plain http: the visitor's own X-Forwarded-Proto is not read.
        assertThat(returnTo(visitor.getBehind(ProxyV2.tcp4(source), httpPort(), HOST, "/a", "X-Forwarded-Proto: https")))
                .isEqualTo("http://" + HOST + "/a");
        assertThat(returnTo(visitor.getBehind(ProxyV2.tcp4(source, ProxyV2.ssl(false)), httpPort(), HOST, "/a")))
                .isEqualTo("http://" + HOST + "/a");
        assertThat(visitor.getBehind(ProxyV2.tcp4(source), httpPort(), HOST, "/page", "Cookie: " + cookie).status())
                .isEqualTo(302);
    }

    /**
     * A visitor who is not a trusted proxy cannot claim https on a plain connection: X-Forwarded-Proto from it
     * changes neither where the sign-in returns nor the cookie's name, while the same header from the trusted proxy
     * does.
     */
    @Test
    void xForwardedProtoFromAPeerThatIsNotATrustedProxyChangesNothing() throws Exception {
        start(Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        Visitor untrusted = Visitor.browser("127.0.0.2", BROWSER_COOKIE);
        String https = "X-Forwarded-Proto: https";

        // The trusted proxy's header is taken (before the fix it was not: http)...
        assertThat(returnTo(visitor.get(httpPort(), HOST, "/page", https))).isEqualTo("https://" + HOST + "/page");
        // ...anyone else's is not.
        Visitor.Response first = untrusted.get(httpPort(), HOST, "/page", https);
        assertThat(returnTo(first)).isEqualTo("http://" + HOST + "/page");
        nextUser("alice", "alice@example.com", "alice");
        HttpResponse<String> back = get(throughProvider(first.header("Location")));
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        assertThat(location(back)).startsWith("http://" + HOST + "/.picotunnel/auth/callback?code=");
        URI handoff = URI.create(location(back));

        Visitor.Response done = untrusted.get(httpPort(), HOST, handoff.getRawPath() + "?" + handoff.getRawQuery(), https);
        assertThat(done.status()).as(done.toString()).isEqualTo(303);
        assertThat(done.header("Set-Cookie")).startsWith("picotunnel_access_" + id + "=").doesNotContain("Secure");
        String cookie = cookiePair(done);
        String value = cookie.substring(cookie.indexOf('=') + 1);
        assertThat(untrusted.get(httpPort(), HOST, "/page", https, "Cookie: " + cookie).body()).isEqualTo("target=secret");
        assertThat(untrusted.get(httpPort(), HOST, "/page", https, "Cookie: __Host-picotunnel_access_" + id + "=" + value)
                .status()).isEqualTo(302);

        // Its sign-out is a plain HTTP one: its own http page's button is taken, and the plain name expired.
        Visitor.Response out = untrusted.post(httpPort(), HOST, "/.picotunnel/auth/logout", https, "Cookie: " + cookie,
                "Origin: http://" + HOST);
        assertThat(out.status()).as(out.toString()).isEqualTo(200);
        assertThat(out.header("Set-Cookie")).startsWith("picotunnel_access_" + id + "=;").doesNotContain("Secure");
    }

    @Test
    void overHttpsTheSessionCookieIsAHostOnlyOneThatASiblingDomainCannotSetAndNoTargetSees() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue(HOST), dataDir.resolve("certs"), HOST);
        start();
        RecordingTarget secret = target("secret");
        String id = service("/", secret, oidcAllowing("alice@example.com"));
        int httpsPort = testbed.server().httpsPort();
        String authority = HOST + ":" + httpsPort;

        Visitor.Response first = visitor.getOverTls(ca.clientContext(), httpsPort, authority, "/page");
        nextUser("alice", "alice@example.com", "alice");
        String handoff = handoff(throughProvider(first.header("Location")));
        Visitor.Response done = visitor.getOverTls(ca.clientContext(), httpsPort, authority, handoff);

        // Before: picotunnel_access_<id>, which a sibling domain (another tunnel's app at evil.app.test, or any
        // name under the same parent) may set for this host with Domain=, to plant a session of its choosing.
        assertThat(done.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=")
                .contains("; Path=/;").contains("; Secure").doesNotContainIgnoringCase("domain");
        String cookie = cookiePair(done);
        String value = cookie.substring(cookie.indexOf('=') + 1);
        Visitor.Response page = visitor.getOverTls(ca.clientContext(), httpsPort, authority, "/page",
                "Cookie: theme=dark; " + cookie);
        assertThat(page.body()).isEqualTo("target=secret");
        assertThat(secret.lastHeader("Cookie")).containsExactly("theme=dark");

        // The name without the prefix opens nothing over HTTPS, whoever set it.
        Visitor.Response planted = visitor.getOverTls(ca.clientContext(), httpsPort, authority, "/page",
                "Cookie: picotunnel_access_" + id + "=" + value);
        assertThat(planted.status()).isEqualTo(302);

        // On HTTPS a page of the same host over plain http is another origin.
        assertThat(visitor.postOverTls(ca.clientContext(), httpsPort, authority, "/.picotunnel/auth/logout",
                "Cookie: " + cookie, "Origin: http://" + authority).status()).isEqualTo(403);
        Visitor.Response out = visitor.postOverTls(ca.clientContext(), httpsPort, authority, "/.picotunnel/auth/logout",
                "Cookie: " + cookie, "Origin: https://" + authority);
        assertThat(out.header("Set-Cookie")).startsWith("__Host-picotunnel_access_" + id + "=;").contains("; Secure");
        assertThat(visitor.getOverTls(ca.clientContext(), httpsPort, authority, "/page", "Cookie: " + cookie).status())
                .isEqualTo(302);

        // Plain HTTP has no __Host- cookies: the name goes without the prefix there, as before.
        assertThat(cookiePair(signIn("/", "alice@example.com", "alice"))).startsWith("picotunnel_access_" + id + "=");
    }

    @Test
    void theManagementServersCookiesReachNoTargetThoughAServiceHasTheUisHostName() throws Exception {
        RecordingTarget open = startWithOneService("open", "");

        // A browser sends the UI's cookies to every port of the UI's host name: before, a service published on that
        // name (here the UI's and the app's host are both app.test) got the admin's session, and its target could
        // manage the server with it.
        Visitor.Response page = visitor.get(httpPort(), HOST, "/", "Cookie: picotunnel_session=admins-session; theme=dark; "
                + "__Host-picotunnel_session=admins-other-session; picotunnel_signin=key; "
                + "__Host-picotunnel_signin_error=words; picotunnel_service_signin=key2; picotunnel_signin-AbC_12-x=key3; "
                + "__Host-picotunnel_service_signin-AbC_12-x=key4");

        assertThat(page.body()).isEqualTo("target=open");
        assertThat(open.lastHeader("Cookie")).containsExactly("theme=dark");
    }

    @Test
    void noTargetCanSetTheSessionCookiesOfAServiceOrOfTheManagementServer() throws Exception {
        start();
        RecordingTarget open = target("open");
        // The target of an open /public next to a signed-in / on the same host, or of a service on the UI's host
        // name: the proxy keeps these cookies from every target, and no target may set them either, or it could plant
        // a session of its own choosing (its owner's, signed in) or an error message on the UI's sign-in page.
        for (String cookie : List.of("__Host-picotunnel_access_0123abcd=planted; Path=/; Secure; HttpOnly",
                "picotunnel_access_0123abcd=planted; Path=/", "picotunnel_session=planted; Path=/",
                "__Host-picotunnel_session=planted; Path=/; Secure", "picotunnel_signin=key; Path=/",
                "__Host-picotunnel_signin_error=words; Path=/; Secure", "picotunnel_service_signin=key; Path=/",
                "theme=dark; Path=/", " __Host-picotunnel_signin = key; Path=/; Secure",
                "picotunnel_signin_browser=" + BROWSER + "; Path=/", "__Host-picotunnel_signin_browser=v; Path=/; Secure",
                domainBrowserCookie(BROWSER, false) + "=" + BROWSER + "; Path=/",
                domainBrowserCookie(BROWSER, true) + "=" + BROWSER + "; Path=/; Secure",
                "picotunnel_signin-AbC_12-x=key; Path=/", "__Host-picotunnel_service_signin-AbC_12-x=key; Path=/; Secure")) {
            open.answerWithHeader("Set-Cookie", cookie);
        }
        service("/public", open, "");

        Visitor.Response page = visitor.get(httpPort(), HOST, "/public/");

        assertThat(page.body()).isEqualTo("target=open");
        assertThat(page.header("Set-Cookie")).isEqualTo("theme=dark; Path=/");
    }

    @Test
    void aWildcardServicesSignInDoesNotReturnToANameWhoseTlsGoesToAPassthroughService() throws Exception {
        start();
        ApiClient.Response wildcard = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"*.apps.test\",\"target_addr\":\"" + target("apps").address()
                        + "\",\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}}");
        assertThat(wildcard.status()).as(wildcard.toString()).isEqualTo(201);
        String id = wildcard.json().get("id").asText();
        // another tunnel's, say: the proxy hands db.apps.test's TLS to its target untouched
        ApiClient.Response passthrough = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"db.apps.test\",\"tls_mode\":\"passthrough\",\"target_addr\":\""
                        + target("db").address() + "\"}");
        assertThat(passthrough.status()).as(passthrough.toString()).isEqualTo(201);
        int httpsPort = testbed.server().httpsPort();

        // Before: db.apps.test is a name of *.apps.test, so the sign-in started and, once through the provider, sent
        // the browser with the one-time code to https://db.apps.test/.picotunnel/auth/callback: to the passthrough
        // service's target, which could trade the code for the visitor's session of *.apps.test.
        for (String returnTo : List.of("https://db.apps.test:" + httpsPort + "/", "https://DB.apps.test/x",
                "http://db.apps.test:" + httpPort() + "/")) {
            HttpResponse<String> refused = get(loginUrl(id, returnTo));
            assertThat(refused.statusCode()).as(returnTo).isEqualTo(400);
            assertThat(refused.headers().firstValue("Location")).isEmpty();
        }
        assertThat(get(loginUrl(id, "https://web.apps.test:" + httpsPort + "/")).statusCode()).isEqualTo(302);
    }

    @Test
    void aSignInWhoseNameBecameAPassthroughServicesMeanwhileSendsNoCodeThere() throws Exception {
        start();
        ApiClient.Response wildcard = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"*.apps.test\",\"target_addr\":\"" + target("apps").address()
                        + "\",\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}}");
        assertThat(wildcard.status()).as(wildcard.toString()).isEqualTo(201);
        nextUser("alice", "alice@example.com", "alice");
        String callback = throughProvider(loginUrl(wildcard.json().get("id").asText(),
                "https://db.apps.test:" + testbed.server().httpsPort() + "/"));

        // While the visitor is at the provider, db.apps.test becomes a passthrough service's (another tunnel's, say):
        // its TLS now goes to that target untouched, which must not get the one-time code.
        ApiClient.Response passthrough = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"db.apps.test\",\"tls_mode\":\"passthrough\",\"target_addr\":\""
                        + target("db").address() + "\"}");
        assertThat(passthrough.status()).as(passthrough.toString()).isEqualTo(201);
        HttpResponse<String> back = get(callback);

        assertThat(back.statusCode()).as(back.body()).isEqualTo(400);
        assertThat(back.headers().firstValue("Location")).isEmpty();
    }
}
