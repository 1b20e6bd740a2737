package io.picotunnel.server.ui;

import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Route;
import com.microsoft.playwright.options.AriaRole;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two sign-ins to the UI in two tabs of one Chromium, through the real provider (mock-oauth2-server's login page),
 * where the answer to the first tab's callback reaches the browser only after the second tab started its sign-in:
 * the server decided it before that start, the browser applies it after (the race of two tabs on the wire).
 */
class TwoTabsSignInBrowserTest {

    private static final String ALICE = "alice@example.com";
    private static final String BOB = "bob@example.com";

    @TempDir
    Path dataDir;
    private SingleSignOnServer sso;
    private HeadlessChromium chromium;

    @BeforeEach
    void start() {
        sso = SingleSignOnServer.start(dataDir, ALICE + "," + BOB);
        chromium = HeadlessChromium.launch();
    }

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (sso != null) {
            sso.close();
        }
    }

    /** A callback the server answered, and the browser's request for it, still waiting for that answer. */
    private record Held(Route route, HttpResponse<String> answer) {
    }

    @Test
    void theSecondTabSignsInWhenTheFirstTabsCallbackAnswerArrivesAfterTheSecondTabStarted() throws Exception {
        String baseUrl = sso.baseUrl();
        BrowserContext context = chromium.browser().newContext();
        context.setDefaultTimeout(20_000);
        Page first = context.newPage();
        Page second = context.newPage();

        // the first tab signs in at the provider, which sends it back to the callback (taken here, to go there in
        // a navigation of its own: Playwright routes no request a redirect makes)
        String providerUrl = sso.provider().baseUrl().toString();
        first.navigate(baseUrl + "/auth/login");
        String firstTabsCookies = cookieHeader(context, baseUrl);
        AtomicReference<String> callbackUrl = new AtomicReference<>();
        first.route(url -> url.startsWith(providerUrl), route -> {
            if (!route.request().method().equals("POST")) {
                route.resume();
                return;
            }
            callbackUrl.set(route.fetch(new Route.FetchOptions().setMaxRedirects(0)).headers().get("location"));
            route.fulfill(new Route.FulfillOptions().setContentType("text/html").setBody("<p id=back>back</p>"));
        });
        sso.signInAtProvider(first, "alice", SingleSignOnServer.verifiedEmail(ALICE));
        first.waitForSelector("#back");
        assertThat(callbackUrl.get()).startsWith(baseUrl + "/auth/callback?");

        AtomicReference<Held> held = new AtomicReference<>();
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        first.route(url -> url.startsWith(baseUrl + "/auth/callback"), route -> {
            // the server answers the callback now (with the cookies the browser sends); the browser gets it later
            try {
                HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create(route.request().url()))
                        .header("Cookie", firstTabsCookies).timeout(Duration.ofSeconds(20)).build(),
                        HttpResponse.BodyHandlers.ofString());
                held.set(new Held(route, answer));
            } catch (Exception e) {
                route.abort();
                throw new IllegalStateException(e);
            }
        });
        first.evaluate("url => { window.location.href = url; }", callbackUrl.get());
        first.waitForCondition(() -> held.get() != null);
        assertThat(held.get().answer().statusCode()).isEqualTo(303);

        second.navigate(baseUrl + "/auth/login");
        second.waitForURL(url -> url.startsWith(sso.provider().baseUrl().toString()));
        held.get().route().fulfill(new Route.FulfillOptions().setStatus(303).setHeaders(headersOf(held.get().answer())));
        first.waitForURL(baseUrl + "/");
        assertThat(first.getByText(ALICE)).isVisible();

        sso.signInAtProvider(second, "bob", SingleSignOnServer.verifiedEmail(BOB));
        second.waitForURL(baseUrl + "/");
        assertThat(second.getByText(BOB)).isVisible();
        assertThat(second.getByRole(AriaRole.ALERT)).hasCount(0);
        assertThat(context.cookies(baseUrl)).noneMatch(c -> c.name.contains("signin"));
    }

    private static String cookieHeader(BrowserContext context, String url) {
        return context.cookies(url).stream().map(c -> c.name + "=" + c.value).collect(Collectors.joining("; "));
    }

    /** The answer's Location and Set-Cookie headers, as Playwright takes them (several Set-Cookie joined by lines). */
    private static Map<String, String> headersOf(HttpResponse<String> answer) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Location", answer.headers().firstValue("Location").orElseThrow());
        headers.put("Set-Cookie", String.join("\n", answer.headers().allValues("Set-Cookie")));
        headers.put("Cache-Control", "no-store");
        return headers;
    }
}
