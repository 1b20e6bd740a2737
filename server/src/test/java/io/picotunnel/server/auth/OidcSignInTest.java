package io.picotunnel.server.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.picotunnel.server.config.Setting;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Sign-in through a real OpenID Connect provider (mock-oauth2-server on loopback): the code flow, and each
 * way a sign-in must fail.
 */
class OidcSignInTest {

    private static final String CLIENT_ID = "picotunnel";
    private static final String CLIENT_SECRET = "client-secret-that-is-long-enough-for-hmac-256";

    @TempDir
    Path dataDir;
    private MockOAuth2Server provider;
    private TestManagementServer server;
    private OidcSettings oidc;
    private final Browserless browser = new Browserless();

    @BeforeEach
    void start() throws Exception {
        provider = new MockOAuth2Server();
        provider.start();
        startServer(Set.of("alice@example.com"), Set.of("tunnel-admins"));
    }

    private void startServer(Set<String> emails, Set<String> groups) throws Exception {
        startServer(emails, groups, false);
    }

    private void startServer(Set<String> emails, Set<String> groups, boolean allowAll) throws Exception {
        startServer(provider.issuerUrl("default").toString(), emails, groups, allowAll);
    }

    private void startServer(String issuer, Set<String> emails, Set<String> groups, boolean allowAll) throws Exception {
        startServer(issuer, emails, groups, allowAll, port -> URI.create("http://localhost:" + port + "/auth/callback"));
    }

    private void startServer(String issuer, Set<String> emails, Set<String> groups, boolean allowAll,
            java.util.function.IntFunction<URI> redirectUrl) throws Exception {
        if (server != null) {
            server.close();
        }
        // the redirect URL must name the server's port, known only once it listens: bind once to learn it
        int port = io.picotunnel.testkit.Ports.freePort();
        oidc = new OidcSettings(URI.create(issuer), CLIENT_ID, CLIENT_SECRET, redirectUrl.apply(port), emails, groups);
        Map<Setting, String> settings = new java.util.EnumMap<>(Setting.class);
        settings.put(Setting.LISTEN_ADDR, "127.0.0.1:" + port);
        settings.put(Setting.OIDC_ISSUER, oidc.issuer().toString());
        settings.put(Setting.OIDC_CLIENT_ID, CLIENT_ID);
        settings.put(Setting.OIDC_CLIENT_SECRET, CLIENT_SECRET);
        settings.put(Setting.OIDC_REDIRECT_URL, oidc.redirectUrl().toString());
        if (!emails.isEmpty()) {
            settings.put(Setting.OIDC_ALLOWED_EMAILS, String.join(",", emails));
        }
        if (!groups.isEmpty()) {
            settings.put(Setting.OIDC_ALLOWED_GROUPS, String.join(",", groups));
        }
        if (allowAll) {
            settings.put(Setting.OIDC_ALLOW_ALL, "true");
        }
        server = TestManagementServer.start(dataDir, settings);
    }

    @AfterEach
    void stop() {
        server.close();
        provider.shutdown();
    }

    private void nextUser(String subject, Map<String, Object> claims, List<String> audience, long expirySeconds) {
        provider.enqueueCallback(new DefaultOAuth2TokenCallback("default", subject, "JWT", audience, claims, expirySeconds));
    }

    /** Follows the flow as a browser would, up to (not including) our callback; returns the callback URL. */
    private String throughProvider() throws Exception {
        return throughProvider(browser);
    }

    private String throughProvider(Browserless browser) throws Exception {
        HttpResponse<String> login = browser.get(server.url("/auth/login?return_to=%2Ftunnels%2Fabc"));
        assertThat(login.statusCode()).isEqualTo(302);
        String authorize = Browserless.location(login);
        assertThat(authorize).startsWith(provider.authorizationEndpointUrl("default").toString())
                .contains("code_challenge_method=S256").contains("code_challenge=").contains("state=").contains("nonce=");
        HttpResponse<String> atProvider = browser.get(authorize);
        assertThat(atProvider.statusCode()).isEqualTo(302);
        String callback = Browserless.location(atProvider);
        assertThat(callback).startsWith(server.url("/auth/callback"));
        return callback;
    }

    /** The message a failed sign-in leaves for the sign-in page: in a cookie, not in the address. */
    private static String signInError(HttpResponse<String> response) {
        assertThat(response.statusCode()).isEqualTo(303);
        assertThat(Browserless.location(response)).isEqualTo("/");
        String value = Browserless.cookie(response, ManagementAuth.SIGN_IN_ERROR_COOKIE)
                .orElseThrow(() -> new AssertionError("no " + ManagementAuth.SIGN_IN_ERROR_COOKIE + " cookie"));
        String message = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8);
        assertThat(message).doesNotContainIgnoringCase("null");
        return message;
    }

    @Test
    void whyASignInFailedReachesTheSignInPageOnceThroughACookieNeverThroughALink() throws Exception {
        nextUser("mallory", Map.of("email", "mallory@example.com"), List.of(CLIENT_ID), 3600);
        HttpResponse<String> callback = browser.get(throughProvider());
        signInError(callback);
        String cookie = ManagementAuth.SIGN_IN_ERROR_COOKIE + "="
                + Browserless.cookie(callback, ManagementAuth.SIGN_IN_ERROR_COOKIE).orElseThrow();

        Browserless page = new Browserless();
        HttpResponse<String> session = page.send(java.net.http.HttpRequest.newBuilder(URI.create(server.url("/auth/session"))),
                Map.of("Cookie", cookie));
        assertThat(session.body()).contains("\"signin_error\":\"Your account is not allowed to manage this server.");
        assertThat(Browserless.cookie(session, ManagementAuth.SIGN_IN_ERROR_COOKIE)).as("taken once").hasValue("");

        // Anyone can send the operator a link: words of its own in the address must not reach the page.
        HttpResponse<String> linked = page.get(server.url("/auth/session?signin_error=Get+the+new+token+at+evil.example"));
        assertThat(linked.body()).contains("\"signin_error\":null").doesNotContain("evil.example");
    }

    @Test
    void signInThroughTheProviderStartsASessionAndReturnsToThePage() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        HttpResponse<String> callback = browser.get(throughProvider());

        assertThat(callback.statusCode()).isEqualTo(303);
        assertThat(Browserless.location(callback)).isEqualTo("/tunnels/abc");
        assertThat(browser.sessionCookie).isNotNull();
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
        assertThat(browser.get(server.url("/auth/session")).body())
                .contains("\"signed_in\":true").contains("\"method\":\"oidc\"").contains("\"user\":\"alice@example.com\"");
    }

    @Test
    void anAllowedEmailBeyondAsciiMatchesTheClaimInTheOtherUnicodeForm() throws Exception {
        startServer(Set.of("jos\u00e9@example.com"), Set.of());
        nextUser("jose", Map.of("email", "Jose\u0301@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        HttpResponse<String> callback = browser.get(throughProvider());

        assertThat(callback.statusCode()).isEqualTo(303);
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
    }

    @Test
    void memberOfAnAllowedGroupMayEnter() throws Exception {
        nextUser("bob", Map.of("email", "bob@example.com", "groups", List.of("staff", "tunnel-admins")), List.of(CLIENT_ID), 3600);
        browser.get(throughProvider());
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
    }

    @Test
    void userNotOnTheAllowListIsRejected() throws Exception {
        nextUser("mallory", Map.of("email", "mallory@example.com", "groups", List.of("staff")), List.of(CLIENT_ID), 3600);
        HttpResponse<String> callback = browser.get(throughProvider());

        assertThat(signInError(callback)).contains("not allowed");
        assertThat(browser.sessionCookie).isNull();
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(401);
    }

    @Test
    void aRefusedUserIsLoggedWithTheEmailAndGroupsTheTokenOfferedSoTheOperatorSeesWhatToList() throws Exception {
        // Keycloak's group mapper sends the group's path unless told otherwise: "/tunnel-admins", not "tunnel-admins"
        nextUser("bob", Map.of("email", "bob@example.com", "email_verified", true, "groups", List.of("/tunnel-admins")),
                List.of(CLIENT_ID), 3600);
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.INFO)) {
            assertThat(signInError(browser.get(throughProvider()))).contains("not allowed");
            assertThat(log.messages(ch.qos.logback.classic.Level.INFO)).singleElement().asString()
                    .isEqualTo("OIDC sign-in refused: subject bob, with the email bob@example.com and the groups"
                            + " /tunnel-admins, is not on the allow list");
        }
    }

    @Test
    void unverifiedAllowedEmailIsRejectedSayingItIsNotVerifiedNotThatItIsNotOnTheList() throws Exception {
        nextUser("eve", Map.of("email", "alice@example.com", "email_verified", false), List.of(CLIENT_ID), 3600);
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.INFO)) {
            assertThat(signInError(browser.get(throughProvider()))).isEqualTo(UNVERIFIED);
            // the operator sees the address is listed, and why it was not taken
            assertThat(log.messages(ch.qos.logback.classic.Level.INFO)).singleElement().asString()
                    .isEqualTo("OIDC sign-in refused: the email alice@example.com of subject eve is on the allow list,"
                            + " but the provider does not say it is verified (email_verified: false)");
        }
    }

    private static final String UNVERIFIED = "Your identity provider did not confirm that your email address is"
            + " verified (email_verified), so it cannot sign you in here. Verify it with your identity provider, or ask"
            + " the server's administrator to allow a group of yours instead.";

    @Test
    void allowedEmailWithoutEmailVerifiedIsRejected() throws Exception {
        nextUser("eve", Map.of("email", "alice@example.com"), List.of(CLIENT_ID), 3600);
        assertThat(signInError(browser.get(throughProvider()))).isEqualTo(UNVERIFIED);
        assertThat(browser.sessionCookie).isNull();

        nextUser("eve", Map.of("email", "alice@example.com", "email_verified", "yes"), List.of(CLIENT_ID), 3600);
        assertThat(signInError(browser.get(throughProvider()))).isEqualTo(UNVERIFIED);
    }

    @Test
    void withAllowAllEveryUserOfTheProviderMayEnter() throws Exception {
        startServer(Set.of(), Set.of(), true);
        nextUser("anyone", Map.of("preferred_username", "anyone"), List.of(CLIENT_ID), 3600);
        browser.get(throughProvider());
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
        assertThat(browser.get(server.url("/auth/session")).body()).contains("\"user\":\"anyone\"");
    }

    @Test
    void aNameWithALineBreakIsRefusedAndNeverBecomesTheSessionsUser() throws Exception {
        startServer(Set.of(), Set.of(), true);
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.INFO)) {
            // A provider that lets users write their email unchecked: the second line would be a log entry of its own
            nextUser("eve", Map.of("email", "eve@example.com\r\n12:00:00 INFO signed in through OIDC: admin",
                    "email_verified", true), List.of(CLIENT_ID), 3600);
            assertThat(signInError(browser.get(throughProvider()))).contains("email address")
                    .contains("control or invisible formatting character U+000D");
            assertThat(browser.sessionCookie).isNull();

            nextUser("eve", Map.of("preferred_username", "eve\u0000admin"), List.of(CLIENT_ID), 3600);
            assertThat(signInError(browser.get(throughProvider()))).contains("user name")
                    .contains("control or invisible formatting character U+0000");
            assertThat(browser.sessionCookie).isNull();

            // Shown in the UI and the audit log as another user: "admin" after the override reads "nimda"
            nextUser("eve", Map.of("email", "eve\u202Enimda@example.com", "email_verified", true), List.of(CLIENT_ID),
                    3600);
            assertThat(signInError(browser.get(throughProvider()))).contains("email address")
                    .contains("control or invisible formatting character U+202E");
            assertThat(browser.sessionCookie).isNull();
            assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(401);
            assertThat(log.messages(ch.qos.logback.classic.Level.INFO)).noneMatch(m -> m.toString().contains("admin"));
        }
        // The next user, with a plain email, still signs in.
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        browser.get(throughProvider());
        assertThat(browser.get(server.url("/auth/session")).body()).contains("\"user\":\"alice@example.com\"");
    }

    /**
     * A script can repeat a refused sign-in as fast as the provider answers: each cause is logged once a minute (with
     * the count of the others in the next line), one cause's flood does not hide another's, and no code is logged.
     */
    @Test
    void aScriptRepeatingRefusedSignInsIsLoggedOnceAMinutePerCauseWithoutItsCodes() throws Exception {
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.INFO)) {
            for (int i = 0; i < 4; i++) {
                nextUser("mallory", Map.of("email", "mallory@example.com"), List.of(CLIENT_ID), 3600);
                assertThat(signInError(browser.get(throughProvider()))).contains("not allowed");
            }
            for (int i = 0; i < 4; i++) {
                // the state of a sign-in this browser started, with a code the provider never gave for it
                nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID),
                        3600);
                String forged = throughProvider().replaceAll("code=[^&]+", "code=stolen-code-" + i);
                assertThat(signInError(browser.get(forged))).doesNotContain("stolen");
                assertThat(browser.sessionCookie).isNull();
            }

            assertThat(log.messages(ch.qos.logback.classic.Level.INFO)).filteredOn(m -> m.contains("refused"))
                    .containsExactly("OIDC sign-in refused: subject mallory, with the email mallory@example.com (not"
                            + " verified) and no groups, is not on the allow list");
            assertThat(log.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString()
                    .startsWith("OIDC sign-in rejected: ").doesNotContain("stolen-code");
        }
    }

    @Test
    void aCallbackStartedInAnotherBrowserIsRejected() throws Exception {
        // login CSRF: the attacker signs in as themself up to the callback, then makes the victim's browser open it
        Browserless attacker = new Browserless();
        nextUser("attacker", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String attackersCallback = throughProvider(attacker);
        assertThat(attacker.signInCookie).isNotNull();

        Browserless victim = new Browserless();
        assertThat(signInError(victim.get(attackersCallback))).contains("not started in this browser");
        assertThat(victim.sessionCookie).isNull();

        // a browser with a sign-in cookie of its own is no better off
        victim.get(server.url("/auth/login"));
        assertThat(victim.signInCookie).isNotNull().isNotEqualTo(attacker.signInCookie);
        assertThat(signInError(victim.get(attackersCallback))).contains("not valid any more");
        assertThat(victim.sessionCookie).isNull();
    }

    @Test
    void signInsStartedInTwoTabsOfOneBrowserBothFinish() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String first = throughProvider();
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String second = throughProvider();
        assertThat(browser.signInCookies).as("one per sign-in").containsOnlyKeys(
                signInCookieOf(first), signInCookieOf(second));

        assertThat(browser.get(second).statusCode()).isEqualTo(303);
        browser.sessionCookie = null;
        HttpResponse<String> firstCallback = browser.get(first);
        assertThat(Browserless.location(firstCallback)).isEqualTo("/tunnels/abc");
        assertThat(browser.sessionCookie).isNotNull();
    }

    /** The sign-in cookie of the sign-in whose callback is {@code callback}: named after its state. */
    private static String signInCookieOf(String callback) {
        String state = java.util.Arrays.stream(URI.create(callback).getRawQuery().split("&"))
                .filter(p -> p.startsWith("state=")).map(p -> p.substring(6)).findFirst().orElseThrow();
        return ManagementAuth.SIGN_IN_COOKIE + "-" + state;
    }

    /**
     * Each callback clears the cookie of its own sign-in, signed in or refused, with the attributes it was set with,
     * and never another tab's: those have names of their own, so the browser may apply the answers in any order
     * (before, one cookie served all, and a callback's clearing that reached the browser after a second tab's start
     * took that tab's cookie: see TwoTabsSignInBrowserTest).
     */
    @Test
    void eachCallbackClearsTheCookieOfItsOwnSignInSignedInOrRefused() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String first = throughProvider();
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String second = throughProvider();

        HttpResponse<String> secondBack = browser.get(second);
        assertThat(Browserless.location(secondBack)).isEqualTo("/tunnels/abc");
        assertThat(secondBack.headers().allValues("Set-Cookie")).contains(signInCookieOf(second)
                + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax").noneMatch(c -> c.startsWith(signInCookieOf(first)));
        assertThat(browser.signInCookies).containsOnlyKeys(signInCookieOf(first));
        HttpResponse<String> firstBack = browser.get(first);
        assertThat(Browserless.location(firstBack)).isEqualTo("/tunnels/abc");
        assertThat(firstBack.headers().allValues("Set-Cookie")).contains(signInCookieOf(first)
                + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        assertThat(browser.signInCookies).isEmpty();
        assertThat(browser.sessionCookie).isNotNull();

        nextUser("mallory", Map.of("email", "mallory@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String refusedCallback = throughProvider();
        HttpResponse<String> refused = browser.get(refusedCallback);
        assertThat(signInError(refused)).contains("not allowed");
        assertThat(refused.headers().allValues("Set-Cookie")).contains(signInCookieOf(refusedCallback)
                + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    }

    /**
     * A sign-in left at the provider (the tab closed) leaves its cookie until it would expire; the browser's next
     * start clears those of sign-ins that no longer wait, so they do not pile up in its Cookie header.
     */
    @Test
    void startingASignInClearsTheCookiesOfSignInsThatNoLongerWait() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String waiting = throughProvider();
        String stale = ManagementAuth.SIGN_IN_COOKIE + "-" + "A".repeat(43);
        browser.signInCookies.put(stale, "f".repeat(64));

        HttpResponse<String> login = browser.get(server.url("/auth/login"));
        assertThat(login.headers().allValues("Set-Cookie")).contains(stale + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
                .noneMatch(c -> c.startsWith(signInCookieOf(waiting)));
        assertThat(browser.signInCookies).hasSize(2).containsKey(signInCookieOf(waiting)).doesNotContainKey(stale);
    }

    /**
     * Follows the flow as a browser at a UI reached over https (a TLS-terminating proxy's X-Forwarded-Proto) would,
     * from {@code ui} up to (not including) our callback; returns the callback URL and the Secure sign-in cookie (name=value).
     */
    private String[] throughProviderOverHttps(String ui) throws Exception {
        HttpResponse<String> login = browser.send(java.net.http.HttpRequest.newBuilder(
                URI.create(ui + "/auth/login?return_to=%2Ftunnels%2Fabc")), Map.of("X-Forwarded-Proto", "https", "Accept", Browserless.PAGE_ACCEPT));
        assertThat(login.statusCode()).isEqualTo(302);
        String signInCookie = Browserless.cookieStartingWith(login, Cookies.HOST_ONLY + ManagementAuth.SIGN_IN_COOKIE + "-")
                .orElseThrow();
        HttpResponse<String> atProvider = browser.get(Browserless.location(login));
        assertThat(atProvider.statusCode()).isEqualTo(302);
        String callback = Browserless.location(atProvider);
        assertThat(callback).startsWith(oidc.redirectUrl().toString());
        return new String[] {callback, signInCookie};
    }

    /**
     * A proxy that upgrades the http callback to https (a redirect, Cloudflare's Always Use HTTPS, HSTS) brings the
     * Secure sign-in cookie back with X-Forwarded-Proto: https, so a UI reached over https with an http redirect URL
     * signs in; only a WARN says the redirect URL could be https. Before, the sign-in did not even start.
     */
    @Test
    void aUiReachedOverHttpsWithAnHttpRedirectUrlSignsInWhenAProxyUpgradesTheCallbackToHttps() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String[] started;
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.WARN)) {
            started = throughProviderOverHttps("http://127.0.0.1:" + server.port());
            assertThat(log.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString().contains(
                    "PICOTUNNEL_OIDC_REDIRECT_URL is " + oidc.redirectUrl(),
                    "set it to the https address your proxy serves it on (https://localhost/auth/callback if that is on port 443)");
        }

        HttpResponse<String> callback = browser.send(java.net.http.HttpRequest.newBuilder(URI.create(started[0])),
                Map.of("X-Forwarded-Proto", "https", "Cookie", started[1]));
        assertThat(callback.statusCode()).isEqualTo(303);
        assertThat(Browserless.location(callback)).isEqualTo("/tunnels/abc");
        assertThat(Browserless.cookie(callback, Cookies.HOST_ONLY + "picotunnel_session")).get().asString().isNotEmpty();
    }

    /** Over https the sign-in cookie is cleared in the form it was set in: __Host- named, Secure, Path=/. */
    @Test
    void theCallbackOverHttpsClearsTheSecureHostOnlySignInCookie() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String[] started = throughProviderOverHttps(server.url(""));

        HttpResponse<String> callback = browser.send(java.net.http.HttpRequest.newBuilder(URI.create(started[0])),
                Map.of("X-Forwarded-Proto", "https", "Cookie", started[1]));
        assertThat(Browserless.location(callback)).isEqualTo("/tunnels/abc");
        assertThat(callback.headers().allValues("Set-Cookie")).contains(Cookies.HOST_ONLY + signInCookieOf(started[0])
                + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    }

    /**
     * Without such a proxy the callback comes over plain http, where the browser does not send the Secure sign-in
     * cookie set over https: the page names PICOTUNNEL_OIDC_REDIRECT_URL and its https address, rather than "not
     * started in this browser". That address is the redirect URL's host and path (localhost here, not the Host the
     * browser sent, 127.0.0.1), without its port, the management port's, which is not the one https is served on.
     */
    @Test
    void aSignInStartedOverHttpsWhoseCallbackComesOverPlainHttpWithoutItsCookieIsToldToSetTheHttpsRedirectUrl() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String[] started = throughProviderOverHttps("http://127.0.0.1:" + server.port());

        HttpResponse<String> callback = new Browserless().get(started[0]);
        assertThat(signInError(callback)).contains("started over https",
                "PICOTUNNEL_OIDC_REDIRECT_URL (" + oidc.redirectUrl() + ")",
                "set it to the https address your proxy serves it on (https://localhost/auth/callback if that is on port 443)")
                .doesNotContain("not started in this browser", "127.0.0.1");
        assertThat(Browserless.cookie(callback, "picotunnel_session")).isEmpty();
    }

    /**
     * Any peer of the management port can send a Host and X-Forwarded-Proto: https. The https address that the WARN
     * and the sign-in page suggest comes from PICOTUNNEL_OIDC_REDIRECT_URL alone, so a sign-in started with Host:
     * evil.example (whose provider link an attacker could send to a victim) can make neither tell the administrator
     * to set an address of the attacker's.
     */
    @Test
    void theSuggestedHttpsRedirectUrlNeverComesFromTheRequestsHost() throws Exception {
        String message;
        List<String> warnings;
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.WARN)) {
            List<String> login = Browserless.rawResponseHead(server.port(), "GET /auth/login HTTP/1.1\r\n"
                    + "Host: evil.example\r\nX-Forwarded-Proto: https\r\nAccept: text/html\r\nConnection: close\r\n\r\n");
            assertThat(login.get(0)).contains(" 302 ");
            Browserless victim = new Browserless();
            HttpResponse<String> atProvider = victim.get(Browserless.rawHeader(login, "Location"));
            assertThat(atProvider.statusCode()).isEqualTo(302);
            message = signInError(victim.get(Browserless.location(atProvider)));
            warnings = log.messages(ch.qos.logback.classic.Level.WARN);
        }

        assertThat(message).contains("started over https", "the https address your proxy serves it on",
                "https://localhost/auth/callback").doesNotContain("evil.example");
        assertThat(warnings).hasSize(2).allSatisfy(warning -> assertThat(warning)
                .contains("the https address your proxy serves it on", "https://localhost/auth/callback")
                .doesNotContain("evil.example"));
    }

    /** An http redirect URL on the standard port keeps its host and path, and https needs no port either. */
    @Test
    void anHttpRedirectUrlWithoutAPortIsToldItsHttpsAddressAsIs() throws Exception {
        startServer(provider.issuerUrl("default").toString(), Set.of("alice@example.com"), Set.of(), false,
                port -> URI.create("http://tunnel.example.com/auth/callback"));
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.WARN)) {
            HttpResponse<String> login = browser.send(java.net.http.HttpRequest.newBuilder(
                    URI.create(server.url("/auth/login"))), Map.of("X-Forwarded-Proto", "https", "Accept", Browserless.PAGE_ACCEPT));
            assertThat(login.statusCode()).isEqualTo(302);
            assertThat(log.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString()
                    .endsWith("set it to https://tunnel.example.com/auth/callback");
        }
    }

    @Test
    void aFloodOfSignInsFromOneAddressPushesOutNobodyElses() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String alicesCallback = throughProvider(); // from 127.0.0.1

        Browserless flood = new Browserless(java.net.InetAddress.getByName("127.0.0.2"));
        HttpResponse<String> firstOfFlood = flood.get(server.url("/auth/login"));
        String firstState = URI.create(Browserless.location(firstOfFlood)).getRawQuery().replaceAll(".*(?:^|&)state=([^&]+).*", "$1");
        for (int i = 0; i < PendingLogins.MAX_PER_ADDRESS * 3; i++) {
            assertThat(flood.get(server.url("/auth/login")).statusCode()).isEqualTo(302);
        }

        // the flood pushed out its own oldest sign-in only
        assertThat(signInError(flood.get(server.url("/auth/callback?code=x&state=" + firstState)))).contains("not valid any more");
        HttpResponse<String> callback = browser.get(alicesCallback);
        assertThat(Browserless.location(callback)).isEqualTo("/tunnels/abc");
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
    }

    @Test
    void providerErrorsReadAsSentencesWithoutNull() throws Exception {
        String start = throughProvider();
        String state = start.replaceAll(".*(?:\\?|&)state=([^&]+).*", "$1");
        assertThat(signInError(browser.get(server.url("/auth/callback?error=access_denied&state=" + state))))
                .isEqualTo("The identity provider did not sign you in (access_denied).");
        assertThat(signInError(browser.get(server.url("/auth/callback")))).contains("not valid any more");
        assertThat(OidcProvider.refusal(null)).doesNotContain("null").endsWith(".");
        assertThat(OidcProvider.refusal(new com.nimbusds.oauth2.sdk.ErrorObject(null))).doesNotContain("null")
                .doesNotContain("()");
        assertThat(OidcProvider.refusal(new com.nimbusds.oauth2.sdk.ErrorObject("invalid_grant"))).contains("(invalid_grant)");
        // also Keycloak's answer for a client whose "Standard flow" is off, where the secret is right
        assertThat(OidcProvider.refusal(new com.nimbusds.oauth2.sdk.ErrorObject("unauthorized_client")))
                .isEqualTo("The identity provider did not accept this server as its client (unauthorized_client):"
                        + " the server's administrator must check PICOTUNNEL_OIDC_CLIENT_ID and"
                        + " PICOTUNNEL_OIDC_CLIENT_SECRET against the client registered at the provider, and that the"
                        + " client may use the authorization code flow (Keycloak: \"Standard flow\").");
        assertThat(ManagementAuth.describe(new java.io.IOException())).isEqualTo("IOException");
    }

    @Test
    void aWrongClientSecretSaysWhichSettingsToCheckNotToTryAgainAndLogsTheProvidersWords() throws Exception {
        provider.shutdown();
        provider = new MockOAuth2Server(new SecretCheckingTokenEndpoint(CLIENT_ID, "the-secret-registered-at-the-provider"));
        provider.start();
        startServer(Set.of("alice@example.com"), Set.of());
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String callback = throughProvider();
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.WARN)) {
            assertThat(signInError(browser.get(callback))).isEqualTo("The identity provider did not accept this server"
                    + " as its client (invalid_client): the server's administrator must check PICOTUNNEL_OIDC_CLIENT_ID"
                    + " and PICOTUNNEL_OIDC_CLIENT_SECRET against the client registered at the provider.");
            assertThat(log.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString()
                    .endsWith("(Invalid client credentials)");
        }
        assertThat(browser.sessionCookie).isNull();
    }

    @Test
    void callbackWithAWrongStateIsRejected() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String callback = throughProvider();
        String forged = callback.replaceAll("state=[^&]+", "state=forged-state");

        assertThat(signInError(browser.get(forged))).contains("not valid any more");
        assertThat(browser.sessionCookie).isNull();
    }

    @Test
    void replayedCallbackIsRejected() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String callback = throughProvider();
        assertThat(browser.get(callback).statusCode()).isEqualTo(303);
        assertThat(browser.sessionCookie).isNotNull();

        Browserless attacker = new Browserless();
        HttpResponse<String> replay = attacker.get(callback);
        assertThat(signInError(replay)).contains("not valid any more");
        assertThat(attacker.sessionCookie).isNull();
    }

    @Test
    void replayedCodeWithAFreshStateIsRejected() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        String first = throughProvider();
        assertThat(browser.get(first).statusCode()).isEqualTo(303);

        // the attacker starts a sign-in of their own and pairs its state with the stolen, used code
        Browserless attacker = new Browserless();
        HttpResponse<String> login = attacker.get(server.url("/auth/login"));
        String freshState = URI.create(Browserless.location(login)).getRawQuery().replaceAll(".*(?:^|&)state=([^&]+).*", "$1");
        String replay = first.replaceAll("state=[^&]+", "state=" + freshState);

        signInError(attacker.get(replay));
        assertThat(attacker.sessionCookie).isNull();
    }

    @Test
    void idTokenForAnotherAudienceIsRejected() throws Exception {
        OidcProvider checker = new OidcProvider(oidc);
        checker.start();
        // signed by the provider itself, so only the audience is wrong
        SignedJWT otherAudience = provider.issueToken("default", "alice", new DefaultOAuth2TokenCallback("default", "alice",
                "JWT", List.of("some-other-client"), Map.of("nonce", "nonce-1", "email", "alice@example.com"), 3600));
        assertThatThrownBy(() -> checker.validate(otherAudience, "nonce-1")).isInstanceOf(SignInRejectedException.class);
    }

    @Test
    void expiredIdTokenIsRejected() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), -600);
        assertThat(signInError(browser.get(throughProvider()))).contains("did not pass the checks");
        assertThat(browser.sessionCookie).isNull();
    }

    @Test
    void idTokenSignedWithAnotherKeyIsRejected() throws Exception {
        OidcProvider checker = new OidcProvider(oidc);
        checker.start(); // discovery
        RSAKey attackerKey = new RSAKeyGenerator(2048).keyID(provider.issueToken("default", "x").getHeader().getKeyID()).generate();
        SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(attackerKey.getKeyID()).build(),
                validClaims("nonce-1"));
        forged.sign(new RSASSASigner(attackerKey));

        assertThatThrownBy(() -> checker.validate(forged, "nonce-1")).isInstanceOf(SignInRejectedException.class);
    }

    @Test
    void idTokenSignedWithTheClientSecretIsRejected() throws Exception {
        OidcProvider checker = new OidcProvider(oidc);
        checker.start();
        SignedJWT hmac = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), validClaims("nonce-1"));
        hmac.sign(new MACSigner(CLIENT_SECRET.getBytes(StandardCharsets.UTF_8)));

        assertThatThrownBy(() -> checker.validate(hmac, "nonce-1")).isInstanceOf(SignInRejectedException.class);
    }

    @Test
    void keysThatCannotBeFetchedReadAsTheProviderDownNotABadTokenAndABackProviderSignsInAtOnce() throws Exception {
        // The provider behind a relay that can go down and come back on the same address
        try (io.picotunnel.testkit.SwitchableRelay relay = new io.picotunnel.testkit.SwitchableRelay(provider.baseUrl().port())) {
            okhttp3.HttpUrl issuer = okhttp3.HttpUrl.get("http://127.0.0.1:" + relay.port() + "/default");
            OidcProvider checker = new OidcProvider(new OidcSettings(issuer.uri(), CLIENT_ID, CLIENT_SECRET,
                    oidc.redirectUrl(), Set.of("alice@example.com"), Set.of()));
            checker.start(); // discovery; the keys are fetched at the first token
            SignedJWT genuine = provider.anyToken(issuer, Map.of("sub", "alice", "aud", CLIENT_ID, "nonce", "nonce-1"));
            relay.down();

            for (int attempt = 0; attempt < 2; attempt++) {
                assertThatThrownBy(() -> checker.validate(genuine, "nonce-1")).isInstanceOf(SignInRejectedException.class)
                        .hasMessageContaining("could not be reached").hasMessageNotContaining("did not pass the checks")
                        .satisfies(e -> assertThat(((SignInRejectedException) e).providerUnavailable()).isTrue());
            }

            // Back: the next sign-in goes through, no failure remembered for a while
            relay.up();
            assertThat(checker.validate(genuine, "nonce-1").getSubject().getValue()).isEqualTo("alice");
        }
    }

    @Test
    void idTokenWithAnotherNonceIsRejected() throws Exception {
        OidcProvider checker = new OidcProvider(oidc);
        checker.start();
        SignedJWT genuine = provider.issueToken("default", "alice", new DefaultOAuth2TokenCallback("default", "alice", "JWT",
                List.of(CLIENT_ID), Map.of("nonce", "nonce-of-another-sign-in"), 3600));
        assertThatThrownBy(() -> checker.validate(genuine, "nonce-1")).isInstanceOf(SignInRejectedException.class);
        assertThat(checker.validate(genuine, "nonce-of-another-sign-in").getSubject().getValue()).isEqualTo("alice");
    }

    @Test
    void logoutEndsTheSessionAndTheProvidersSession() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        browser.get(throughProvider());
        String session = browser.sessionCookie;

        HttpResponse<String> logout = browser.uiWrite("POST", server.url("/auth/logout"), "");
        assertThat(logout.statusCode()).isEqualTo(200);
        assertThat(logout.body()).contains(provider.endSessionEndpointUrl("default").toString())
                .contains("id_token_hint=").contains("post_logout_redirect_uri=");

        browser.sessionCookie = session;
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(401);
    }

    @Test
    void signingOutAfterARestartEndsTheProvidersSessionToo() throws Exception {
        nextUser("alice", Map.of("email", "alice@example.com", "email_verified", true), List.of(CLIENT_ID), 3600);
        browser.get(throughProvider());
        // The session is kept in the database; the restarted server has not needed the provider yet.
        startServer(Set.of("alice@example.com"), Set.of("tunnel-admins"));
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);

        HttpResponse<String> logout = browser.uiWrite("POST", server.url("/auth/logout"), "");

        assertThat(logout.statusCode()).isEqualTo(200);
        assertThat(logout.body()).contains(provider.endSessionEndpointUrl("default").toString()).contains("id_token_hint=");
    }

    @Test
    void signInsWhileTheProviderDoesNotAnswerEachWaitOneTimeoutNotOneApiece() throws Exception {
        // A provider that takes connections and never answers: each discovery attempt ends at the call's timeout.
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            OidcProvider unanswering = new OidcProvider(new OidcSettings(
                    URI.create("http://127.0.0.1:" + silent.getLocalPort() + "/default"), CLIENT_ID, CLIENT_SECRET,
                    oidc.redirectUrl(), Set.of("alice@example.com"), Set.of()), java.time.Duration.ofSeconds(2));
            java.util.concurrent.ExecutorService visitors = java.util.concurrent.Executors.newFixedThreadPool(4, task -> {
                Thread t = new Thread(task, "visitor");
                t.setDaemon(true);
                return t;
            });
            try {
                long deadline = System.nanoTime() + 4_000_000_000L;
                List<java.util.concurrent.Future<Exception>> signIns = new java.util.ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    signIns.add(visitors.submit(() -> {
                        try {
                            unanswering.start();
                            return null;
                        } catch (SignInRejectedException e) {
                            return e;
                        }
                    }));
                }
                for (java.util.concurrent.Future<Exception> signIn : signIns) {
                    // before, each waited for the attempts of those before it: the fourth some four timeouts
                    assertThat(signIn.get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS))
                            .isInstanceOf(SignInRejectedException.class).hasMessageContaining("could not be reached");
                }
            } finally {
                visitors.shutdownNow();
            }
        }
    }

    @Test
    void aProviderThatTricklesItsAnswerEndsTheSignInAtFifteenSecondsWithThePageSayingSo() throws Exception {
        // a byte a second: no read ever times out, the whole answer would take minutes
        try (io.picotunnel.testkit.TricklingServer trickling = new io.picotunnel.testkit.TricklingServer()) {
            startServer(trickling.url() + "/default", Set.of("alice@example.com"), Set.of(), false);
            long started = System.nanoTime();

            HttpResponse<String> login = browser.get(server.url("/auth/login"));

            assertThat(signInError(login)).isEqualTo("The identity provider at " + trickling.url() + "/default could"
                    + " not be reached: it did not answer within 15 s. Please try again in a moment.");
            assertThat(java.time.Duration.ofNanos(System.nanoTime() - started)).isLessThan(java.time.Duration.ofSeconds(19));
        }
    }

    @Test
    void aDiscoveryDocumentThatCannotBeUsedIsLoggedWithWhatIsWrongWithIt() throws Exception {
        // A trailing slash the provider's own issuer lacks (or the reverse): a frequent slip, which only the
        // provider's answer tells apart from a provider that is down.
        startServer(provider.issuerUrl("default") + "/", Set.of("alice@example.com"), Set.of(), false);
        try (io.picotunnel.testkit.LogCapture log = new io.picotunnel.testkit.LogCapture(ManagementAuth.class,
                ch.qos.logback.classic.Level.WARN)) {
            HttpResponse<String> login = browser.get(server.url("/auth/login"));

            // it was reached: the page says what to set, not that the provider may be down
            assertThat(signInError(login)).isEqualTo("The identity provider at " + provider.issuerUrl("default")
                    + "/ names itself " + provider.issuerUrl("default") + " (the issuer of its discovery document), so"
                    + " the server's administrator must set PICOTUNNEL_OIDC_ISSUER to " + provider.issuerUrl("default")
                    + " exactly.");
            assertThat(log.messages(ch.qos.logback.classic.Level.WARN)).singleElement().asString()
                    .contains("issuer doesn't match").contains(provider.issuerUrl("default") + ")");
        }
    }

    @Test
    void anIssuerWhoseDiscoveryDocumentIsNotFoundSaysSoRatherThanThatTheProviderIsDown() throws Exception {
        // A realm or application slug mistyped: the web server answers, with 404
        com.sun.net.httpserver.HttpServer web = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        web.start();
        try {
            String issuer = "http://127.0.0.1:" + web.getAddress().getPort() + "/realms/mistyped";
            startServer(issuer, Set.of("alice@example.com"), Set.of(), false);

            HttpResponse<String> login = browser.get(server.url("/auth/login"));

            assertThat(signInError(login)).isEqualTo("The identity provider at " + issuer + " answered 404 for its"
                    + " discovery document (" + issuer + "/.well-known/openid-configuration): the server's"
                    + " administrator should check PICOTUNNEL_OIDC_ISSUER.");
        } finally {
            web.stop(0);
        }
    }

    /** A provider behind a reverse proxy while it restarts, or rate limiting: down for now, its settings may be right. */
    @Test
    void aDiscoveryAnsweredWith503Or429SaysToTryAgainNotThatTheIssuerIsWrong() throws Exception {
        java.util.concurrent.atomic.AtomicInteger status = new java.util.concurrent.atomic.AtomicInteger(503);
        com.sun.net.httpserver.HttpServer web = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", exchange -> {
            exchange.sendResponseHeaders(status.get(), -1);
            exchange.close();
        });
        web.start();
        try {
            String issuer = "http://127.0.0.1:" + web.getAddress().getPort() + "/realms/main";
            startServer(issuer, Set.of("alice@example.com"), Set.of(), false);

            assertThat(signInError(browser.get(server.url("/auth/login")))).isEqualTo("The identity provider at "
                    + issuer + " answered 503 for its discovery document, as it does while it is down or busy."
                    + " Please try again in a moment.");

            OidcProvider busy = new OidcProvider(new OidcSettings(URI.create(issuer), CLIENT_ID, CLIENT_SECRET,
                    oidc.redirectUrl(), Set.of("alice@example.com"), Set.of()));
            for (int answer : new int[] {503, 429, 502}) {
                status.set(answer);
                assertThatThrownBy(busy::discovered).isInstanceOf(SignInRejectedException.class)
                        .hasMessageContaining("answered " + answer).hasMessageNotContaining("PICOTUNNEL_")
                        .satisfies(e -> assertThat(SignInRefusal.of((SignInRejectedException) e))
                                .isEqualTo(SignInRefusal.PROVIDER_UNAVAILABLE));
            }
        } finally {
            web.stop(0);
        }
    }

    @Test
    void tokenFormIsRefusedWhenSigningInThroughTheProvider() throws Exception {
        HttpResponse<String> response = browser.uiWrite("POST", server.url("/auth/token"), "{\"token\":\"anything\"}");
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(browser.get(server.url("/auth/session")).body()).contains("\"method\":\"oidc\"");
    }

    private JWTClaimsSet validClaims(String nonce) {
        return new JWTClaimsSet.Builder()
                .issuer(oidc.issuer().toString())
                .subject("alice")
                .audience(CLIENT_ID)
                .issueTime(new Date())
                .expirationTime(new Date(System.currentTimeMillis() + 3_600_000))
                .claim("nonce", nonce)
                .claim("email", "alice@example.com")
                .build();
    }
}
