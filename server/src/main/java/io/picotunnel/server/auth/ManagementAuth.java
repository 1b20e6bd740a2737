package io.picotunnel.server.auth;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpStatus;
import io.netty.util.NetUtil;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.server.access.TrustedProxies;
import io.picotunnel.server.net.ApiErrorCodes;
import io.picotunnel.server.net.ForwardedProto;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.net.LimitedBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/**
 * Authentication of the management port: who may use the API and the UI, and how they sign in.
 *
 * <ul>
 *   <li>The API ({@code /api/*}) accepts {@code Authorization: Bearer <admin token>} or a session cookie;
 *       writes made with the cookie must pass the CSRF check ({@link #CSRF_HEADER} plus Origin). The paths given to
 *       {@link #allowAnonymous} (the public status, {@code GET /api/status}) are open to anyone.</li>
 *   <li>{@code /auth/*}: the session state for the UI, the admin-token sign-in form, the OIDC code flow,
 *       and logout.</li>
 *   <li>With {@code PICOTUNNEL_AUTH=none}, every request must be addressed to localhost, an IP address, the
 *       domain or the OIDC redirect URL's host (DNS rebinding); with sign-in on, any Host is answered.</li>
 * </ul>
 */
public final class ManagementAuth {

    public static final String COOKIE = "picotunnel_session";
    /**
     * A random value the browser gets when it starts an OIDC sign-in, in a cookie of this name and the sign-in's
     * state ({@link PendingLogins#cookieName}); the callback finishes only a sign-in started by the browser that shows
     * it again (login CSRF: an attacker cannot make your browser finish their sign-in).
     */
    public static final String SIGN_IN_COOKIE = "picotunnel_signin";
    /**
     * Why the last sign-in failed, for the sign-in page ({@code signin_error} of {@code GET /auth/session}, once). A
     * cookie rather than the URL: a link carrying its own message would show an attacker's words on this server's
     * sign-in page, and no other site can set a cookie of this one (over
     * https: with the {@link Cookies#HOST_ONLY} prefix, not even a sibling domain).
     */
    public static final String SIGN_IN_ERROR_COOKIE = "picotunnel_signin_error";
    /** Longest sign-in error kept (the sentences are short; the cookie must stay small). */
    private static final int MAX_SIGN_IN_ERROR = 500;
    static final long SIGN_IN_ERROR_LIFETIME_SECONDS = 300;
    /** The custom header the UI sends with every write; a cross-site form or fetch cannot send it. */
    public static final String CSRF_HEADER = "X-PicoTunnel-CSRF";
    /** The request attribute that holds who made an authenticated API request. */
    public static final String USER_ATTRIBUTE = "picotunnel.user";

    private static final Logger log = LoggerFactory.getLogger(ManagementAuth.class);
    private static final Set<HandlerType> SAFE_METHODS = Set.of(HandlerType.GET, HandlerType.HEAD, HandlerType.OPTIONS);
    private static final int MAX_TOKEN_LENGTH = 4096;

    /** How often refused OIDC sign-ins of one {@link SignInRefusal} are logged at most. */
    static final Duration REFUSAL_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;
    /** The refusal log's key of the WARN that a UI reached over https has an http redirect URL. */
    private static final String HTTP_REDIRECT_URL_OVER_HTTPS = "http redirect URL reached over https";

    /**
     * Where a sign-in goes back to: {@code path} in the UI; {@code startedOverHttpsWithAnHttpRedirectUrl}, for the
     * callback to say what to set if the browser's Secure sign-in cookie does not come back over plain http.
     */
    private record SignInReturn(String path, boolean startedOverHttpsWithAnHttpRedirectUrl) {
    }

    private final AuthSettings settings;
    private final SessionStore sessions;
    private final OidcProvider oidc;
    /** By where each goes back to. */
    private final PendingLogins<SignInReturn> pending;
    private final AllowList allowList;
    /** What sessions are signed in with now (see {@link #credential}): fixed for the server's life, computed once. */
    private final String tokenCredential;
    private final String oidcCredential;
    private final RequestOrigin origin;
    private final UnaryOperator<String> tunnelServer;
    private final FailedLogins failures;
    /** Refused OIDC sign-ins: at most one line a minute per {@link SignInRefusal}, with the count of the others. */
    private final KeyedRefusalLog refusals = new KeyedRefusalLog(log, REFUSAL_LOG_INTERVAL, KeyedRefusalLog.MAX_KEYS);
    private final List<OidcCallbackHook> callbackHooks = new CopyOnWriteArrayList<>();
    private final Set<String> anonymousPaths = new java.util.concurrent.CopyOnWriteArraySet<>();

    /**
     * @param tunnelServer the address clients pass as {@code --server}, for the UI's ready-made commands,
     *                     given the host name the browser used
     */
    public ManagementAuth(AuthSettings settings, SessionStore sessions, UnaryOperator<String> tunnelServer,
            Clock clock) {
        this.settings = settings;
        this.sessions = sessions;
        this.oidc = settings.oidcSettings().map(OidcProvider::new).orElse(null);
        this.tokenCredential = tokenCredential(settings);
        this.oidcCredential = oidcCredential(settings);
        this.pending = new PendingLogins<>(clock, PendingLogins.MAX_PER_ADDRESS, PendingLogins.MAX_PENDING);
        this.allowList = settings.oidcSettings()
                .map(o -> new AllowList(o.allowedEmails(), o.allowedGroups(), o.allowAll()))
                .orElse(new AllowList(Set.of(), Set.of(), false));
        this.origin = new RequestOrigin(settings.domain(),
                settings.oidcSettings().map(OidcSettings::redirectUrl).orElse(null), settings.disabled());
        this.tunnelServer = tunnelServer;
        this.failures = new FailedLogins("management API", FailedLogins.MANAGEMENT, clock);
        if (oidc != null && oidc.settings().allowAll()) {
            log.warn("OIDC sign-in: PICOTUNNEL_OIDC_ALLOW_ALL is true, so every user of {} may manage this server",
                    oidc.settings().issuer());
        }
    }

    /**
     * Logs how the UI signs in through OIDC, if it does, and checks the provider in the background
     * ({@link OidcStartupCheck}). Call once the server is up.
     */
    public void announceSignIn() {
        if (oidc != null) {
            OidcStartupCheck.run(oidc);
        }
    }

    /** The front proxies ({@code --trusted-proxies}) whose {@code X-Forwarded-For} names the client. */
    public TrustedProxies trustedProxies() {
        return settings.trustedProxies();
    }

    /**
     * Who a request comes from, for the limits on failed sign-ins and pending sign-ins and for the log: the peer,
     * or, when the peer is a front proxy in {@code --trusted-proxies}, the visitor its {@code X-Forwarded-For}
     * names (as on the public listeners). Behind a reverse proxy every request comes from the proxy: five wrong
     * tokens from anyone would otherwise make the admin wait too.
     */
    public String clientAddress(Context ctx) {
        String ip = ctx.ip();
        InetAddress peer = NetUtil.createInetAddressFromIpAddressString(ip);
        if (peer == null) {
            return ip;
        }
        return settings.trustedProxies().visitor(peer, () -> {
            Enumeration<String> forwardedFor = ctx.req().getHeaders("X-Forwarded-For");
            return forwardedFor == null ? List.<String>of() : Collections.list(forwardedFor);
        }).getHostAddress();
    }

    /** The provider the UI signs in with, if any (services' single sign-on uses it too). */
    public Optional<OidcProvider> oidcProvider() {
        return Optional.ofNullable(oidc);
    }

    /** Adds a hook asked first about every OIDC callback (a service's sign-in shares the server's callback URL). */
    public void addCallbackHook(OidcCallbackHook hook) {
        callbackHooks.add(hook);
    }

    /** Registers the Host check, the API guard and the {@code /auth} routes. Call before the API's routes. */
    public void install(JavalinConfig config) {
        config.routes.before(this::checkHost);
        config.routes.before("/api/*", this::requireAuth);
        config.routes.get("/auth/session", this::session);
        config.routes.post("/auth/token", this::signInWithToken);
        config.routes.post("/auth/logout", this::logout);
        if (oidc != null) {
            config.routes.get("/auth/login", this::startOidc);
            config.routes.get(oidc.settings().callbackPath(), this::finishOidc);
            callbackHooks.forEach(hook -> hook.install(config));
        }
    }

    /** Puts {@code path} (outside {@code /api}, such as {@code /metrics}) behind the same guard as the API. */
    public void guard(JavalinConfig config, String path) {
        config.routes.before(path, this::requireAuth);
    }

    /** Lets anyone {@code GET} {@code path} (under {@code /api}, such as the public status) without signing in. */
    public void allowAnonymous(String path) {
        anonymousPaths.add(path);
    }

    private void checkHost(Context ctx) {
        if (!origin.hostAllowed(ctx)) {
            reject(ctx, HttpStatus.MISDIRECTED_REQUEST, ApiErrorCodes.HOST_NOT_ALLOWED,
                    "With PICOTUNNEL_AUTH=none this server answers only to localhost, an IP address, its"
                            + " domain (PICOTUNNEL_DOMAIN) or the host of its OIDC redirect URL.");
        }
    }

    /**
     * What a refused write lacked when it came without the CSRF header (curl, a script replaying the UI's cookie):
     * the header, then {@code instead}. Empty when the header was there and the origin was wrong: a page of another
     * site, to which nothing more is said.
     */
    private static String withoutCsrfHeader(Context ctx, String instead) {
        return ctx.header(CSRF_HEADER) != null ? ""
                : " It lacks the header '" + CSRF_HEADER + ": 1' that the UI sends." + instead;
    }

    /** The API guard: the Bearer admin token or a live session; cookie writes also pass the CSRF check. */
    private void requireAuth(Context ctx) {
        if (ctx.method() == HandlerType.OPTIONS) {
            return;
        }
        if ((ctx.method() == HandlerType.GET || ctx.method() == HandlerType.HEAD)
                && anonymousPaths.contains(ctx.path())) {
            return;
        }
        if (settings.disabled()) {
            // No credentials, but still no cross-site writes: a page the operator visits must not change anything.
            if (!SAFE_METHODS.contains(ctx.method()) && !origin.anonymousWriteAllowed(ctx, CSRF_HEADER)) {
                reject(ctx, HttpStatus.FORBIDDEN, ApiErrorCodes.CSRF_REJECTED,
                        "This change came from a web page that is not this server's UI, so it was refused.");
            }
            return;
        }
        String authorization = ctx.header("Authorization");
        if (authorization != null) {
            if (throttled(ctx)) {
                return;
            }
            if (bearerMatches(authorization)) {
                failures.succeeded(clientAddress(ctx));
                ctx.attribute(USER_ATTRIBUTE, "admin-token");
                return;
            }
            String token = BearerToken.parse(authorization);
            String attempt = token == null
                    ? "an Authorization header without a Bearer token (" + FailedLogins.length(authorization) + ")"
                    : "a wrong admin token (Authorization header, " + FailedLogins.length(token) + ")";
            failures.failed(clientAddress(ctx), attempt + " on " + ctx.method() + " " + forLog(ctx.path()));
            ctx.header("WWW-Authenticate", "Bearer realm=\"picotunnel\"");
            reject(ctx, HttpStatus.UNAUTHORIZED, TunnelErrorCodes.UNAUTHORIZED,
                    "The header 'Authorization: Bearer <admin token>' does not carry a valid admin token.");
            return;
        }
        Optional<SessionStore.Session> session = currentSession(ctx);
        if (session.isEmpty()) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"picotunnel\"");
            reject(ctx, HttpStatus.UNAUTHORIZED, TunnelErrorCodes.UNAUTHORIZED,
                    "Sign in first, or send the admin token as 'Authorization: Bearer <token>'.");
            return;
        }
        if (!SAFE_METHODS.contains(ctx.method()) && !origin.sameOriginWrite(ctx, CSRF_HEADER)) {
            reject(ctx, HttpStatus.FORBIDDEN, ApiErrorCodes.CSRF_REJECTED,
                    "This change was not sent by the PicoTunnel UI of this server, so it was refused."
                            + withoutCsrfHeader(ctx, " Scripts send 'Authorization: Bearer <admin token>' instead of"
                            + " the session cookie."));
            return;
        }
        ctx.attribute(USER_ATTRIBUTE, session.get().subject());
    }

    private void session(Context ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        Optional<SessionStore.Session> session = settings.disabled() ? Optional.empty() : currentSession(ctx);
        boolean signedIn = settings.disabled() || session.isPresent();
        body.put("signed_in", signedIn);
        body.put("method", settings.signInMethod());
        body.put("user", session.map(SessionStore.Session::subject).orElse(null));
        body.put("tunnel_server", signedIn ? tunnelServer.apply(requestHostName(ctx)) : null);
        body.put("signin_error", signInError(ctx));
        ctx.header("Cache-Control", "no-store");
        ctx.json(body);
    }

    private void signInWithToken(Context ctx) {
        if (!origin.sameOriginWrite(ctx, CSRF_HEADER)) {
            reject(ctx, HttpStatus.FORBIDDEN, ApiErrorCodes.CSRF_REJECTED,
                    "This sign-in was not sent by the PicoTunnel UI of this server."
                    + withoutCsrfHeader(ctx, " Scripts need no sign-in: they send 'Authorization: Bearer <admin token>'"
                    + " with each request."));
            return;
        }
        if (!isJson(ctx.contentType())) {
            reject(ctx, HttpStatus.UNSUPPORTED_MEDIA_TYPE, ApiErrorCodes.UNSUPPORTED_MEDIA_TYPE,
                    "The sign-in must be sent as JSON, with Content-Type: application/json, as the UI sends it.");
            return;
        }
        if (settings.disabled() || oidc != null || settings.adminTokenValue().isEmpty()) {
            reject(ctx, HttpStatus.BAD_REQUEST, ApiErrorCodes.TOKEN_SIGN_IN_UNAVAILABLE,
                    oidc != null ? "This server signs in through its identity provider."
                            : "This server needs no sign-in.");
            return;
        }
        Optional<byte[]> sent;
        try {
            sent = LimitedBody.read(ctx.req());
        } catch (LimitedBody.TooSlow e) {
            reject(ctx, HttpStatus.forStatus(e.answer(ctx.req(), ctx.res())), ApiErrorCodes.REQUEST_TIMEOUT,
                    "The sign-in did not arrive in time: " + e.getMessage() + "; send it again.");
            return;
        } catch (IOException e) {
            reject(ctx, HttpStatus.BAD_REQUEST, ApiErrorCodes.UNREADABLE_BODY,
                    "The sign-in could not be read: " + e.getMessage());
            return;
        }
        if (sent.isEmpty()) {
            reject(ctx, HttpStatus.CONTENT_TOO_LARGE, ApiErrorCodes.BODY_TOO_LARGE,
                    "The sign-in is larger than this server accepts.");
            return;
        }
        String token;
        try {
            Map<?, ?> fields = ctx.jsonMapper().fromJsonString(new String(sent.get(), StandardCharsets.UTF_8),
                    Map.class);
            Object value = fields == null ? null : fields.get("token");
            token = value instanceof String s ? s.trim() : null;
        } catch (Exception e) { // malformed JSON: Javalin's mapper may throw Jackson's checked exceptions
            token = null;
        }
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
            reject(ctx, HttpStatus.BAD_REQUEST, ApiErrorCodes.INVALID_TOKEN, "Enter the admin token.");
            return;
        }
        if (throttled(ctx)) {
            return;
        }
        if (!Secrets.matches(token, settings.adminTokenValue().get())) {
            failures.failed(clientAddress(ctx),
                    "a wrong admin token on the sign-in form (" + FailedLogins.length(token) + ")");
            reject(ctx, HttpStatus.UNAUTHORIZED, TunnelErrorCodes.UNAUTHORIZED,
                    "That is not the admin token of this server.");
            return;
        }
        failures.succeeded(clientAddress(ctx));
        startSession(ctx, "admin", "token", null);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("signed_in", true);
        body.put("method", "token");
        body.put("user", "admin");
        body.put("tunnel_server", tunnelServer.apply(requestHostName(ctx)));
        ctx.json(body);
    }

    private void startOidc(Context ctx) {
        if (FetchMode.of(ctx::header).notPageLoad()) {
            // an image or fetch of another page of the site: it cannot sign in, and would leave a cookie (FetchMode)
            ctx.header("Cache-Control", "no-store");
            reject(ctx, HttpStatus.UNAUTHORIZED, ApiErrorCodes.SIGN_IN_REQUIRED,
                    "Open this address in the browser to sign in.");
            return;
        }
        String returnTo = safeReturnPath(ctx.queryParam("return_to"));
        boolean overHttpsWithAnHttpRedirectUrl = secure(ctx)
                && "http".equalsIgnoreCase(oidc.settings().redirectUrl().getScheme());
        if (overHttpsWithAnHttpRedirectUrl) {
            // A proxy that upgrades the http callback to https brings the Secure sign-in cookie back: that works, so
            // the sign-in goes on; without one, the callback (finishOidc) says what to set.
            refusals.refused(HTTP_REDIRECT_URL_OVER_HTTPS, true, () -> "OIDC sign-in from a UI reached over https, but"
                    + " PICOTUNNEL_OIDC_REDIRECT_URL is " + oidc.settings().redirectUrl() + ": unless a proxy in front"
                    + " upgrades its callback to https, the browser will not send its sign-in cookie there; set it to "
                    + httpsRedirectUrlAdvice());
        }
        try {
            OidcProvider.AuthorizationStart start = oidc.start();
            String browserKey = Secrets.newToken();
            if (!pending.put(start, new SignInReturn(returnTo, overHttpsWithAnHttpRedirectUrl), clientAddress(ctx),
                    browserKey)) {
                log.debug("OIDC sign-in from {} refused: too many sign-ins are waiting", clientAddress(ctx));
                failSignIn(ctx, "Too many sign-ins are in progress on this server right now. Please try again in a"
                        + " few minutes.");
                return;
            }
            for (String finished : pending.finishedStates(ctx.header("Cookie"), named(ctx, SIGN_IN_COOKIE))) {
                ctx.res().addHeader("Set-Cookie",
                        cookie(ctx, PendingLogins.cookieName(SIGN_IN_COOKIE, finished), "", 0));
            }
            ctx.res().addHeader("Set-Cookie", cookie(ctx, PendingLogins.cookieName(SIGN_IN_COOKIE, start.state()),
                    browserKey, PendingLogins.TTL.toSeconds()));
            ctx.header("Cache-Control", "no-store");
            ctx.redirect(start.redirect().toString(), HttpStatus.FOUND);
        } catch (SignInRejectedException e) {
            refusals.refused(SignInRefusal.COULD_NOT_START, true,
                    () -> "OIDC sign-in could not start: " + e.withCause());
            failSignIn(ctx, e.getMessage());
        }
    }

    /**
     * What to set PICOTUNNEL_OIDC_REDIRECT_URL to instead of its http address: built from that setting alone, never
     * from the request (its Host and X-Forwarded-Proto come from any peer, which must not choose the address the
     * administrator is told to set). The http URL's port is left out: it is most likely the management port itself,
     * not the one the proxy serves https on, which only the administrator knows.
     */
    private String httpsRedirectUrlAdvice() {
        URI redirectUrl = oidc.settings().redirectUrl();
        String https = "https://" + redirectUrl.getHost() + redirectUrl.getRawPath();
        return redirectUrl.getPort() == -1 || redirectUrl.getPort() == 80
                ? https
                : "the https address your proxy serves it on (" + https + " if that is on port 443)";
    }

    private void finishOidc(Context ctx) {
        for (OidcCallbackHook hook : callbackHooks) {
            if (hook.handle(ctx)) {
                return;
            }
        }
        String state = ctx.queryParam("state");
        String cookieName = PendingLogins.cookieName(SIGN_IN_COOKIE, state);
        String browserKey = cookieName == null ? null : ctx.cookie(named(ctx, cookieName));
        PendingLogins.Result<SignInReturn> taken = pending.take(state, browserKey);
        if (browserKey != null) {
            // signed in or not: this sign-in's own cookie (another tab's has a name of its own)
            ctx.res().addHeader("Set-Cookie", cookie(ctx, cookieName, "", 0));
        }
        Optional<PendingLogins.Pending<SignInReturn>> started = taken.pending();
        SignInReturn refused = taken.otherBrowsersDestination();
        if (refused != null && refused.startedOverHttpsWithAnHttpRedirectUrl() && browserKey == null && !secure(ctx)) {
            refusals.refused(SignInRefusal.OTHER_BROWSER, true, () -> "OIDC sign-in refused: it started over https but"
                    + " its callback from " + ControlCharacters.bounded(clientAddress(ctx)) + " came over plain http,"
                    + " where the browser does not send its Secure sign-in cookie; set PICOTUNNEL_OIDC_REDIRECT_URL"
                    + " (now " + oidc.settings().redirectUrl() + ") to " + httpsRedirectUrlAdvice());
            failSignIn(ctx, "This sign-in started over https, but PICOTUNNEL_OIDC_REDIRECT_URL ("
                    + oidc.settings().redirectUrl() + ") brought it back over plain http, where the browser does not"
                    + " send its sign-in cookie. Ask the server's administrator to set it to "
                    + httpsRedirectUrlAdvice() + " (and to allow that at the identity provider).");
            return;
        }
        if (taken.refusal() == PendingLogins.Refusal.OTHER_BROWSER) {
            refusals.refused(SignInRefusal.OTHER_BROWSER, true, () -> "OIDC sign-in refused: the callback from "
                    + ControlCharacters.bounded(clientAddress(ctx)) + " carries a sign-in started by another browser");
            failSignIn(ctx, "This sign-in was not started in this browser (or the browser blocked its cookie)."
                    + " Please sign in again here.");
            return;
        }
        if (started.isEmpty()) {
            failSignIn(ctx, "This sign-in link is not valid any more (expired, used already, or not started here)."
                    + " Please sign in again.");
            return;
        }
        String error = ctx.queryParam("error");
        String code = ctx.queryParam("code");
        if (error != null || code == null || code.isEmpty()) {
            failSignIn(ctx,
                    "The identity provider did not sign you in" + (error == null ? "." : " (" + limit(error) + ")."));
            return;
        }
        try {
            OidcProvider.SignedIn signedIn = oidc.finish(code, started.get().nonce(), started.get().codeVerifier());
            Optional<String> user = allowList.admit(signedIn.claims());
            if (user.isEmpty() && allowList.listsUnverifiedEmail(signedIn.claims())) {
                Object verified = signedIn.claims().getClaim("email_verified");
                refusals.refused(SignInRefusal.NO_VERIFIED_EMAIL, false, () -> "OIDC sign-in refused: the email "
                        + ControlCharacters.bounded(signedIn.claims().getStringClaim("email")) + " of subject "
                        + ControlCharacters.bounded(signedIn.claims().getSubject()) + " is on the allow list, but the"
                        + " provider does not say it is verified (email_verified: "
                        + (verified == null ? "missing" : ControlCharacters.bounded(String.valueOf(verified))) + ")");
                failSignIn(ctx, "Your identity provider did not confirm that your email address is verified"
                        + " (email_verified), so it cannot sign you in here. Verify it with your identity provider, or"
                        + " ask the server's administrator to allow a group of yours instead.");
                return;
            }
            if (user.isEmpty()) {
                refusals.refused(SignInRefusal.NOT_ALLOWED, false, () -> "OIDC sign-in refused: subject "
                        + ControlCharacters.bounded(signedIn.claims().getSubject()) + ", with "
                        + AllowList.offered(signedIn.claims()) + ", is not on the allow list");
                failSignIn(ctx, "Your account is not allowed to manage this server. Ask its administrator to add you.");
                return;
            }
            OptionalInt hidden = ControlCharacters.firstHidden(user.get());
            if (hidden.isPresent()) {
                // The session's user goes to the log, the audit log and the UI, where a line break would start a
                // line of its own (a forged log entry), a NUL or tab would change the name shown and a bidi override
                // or zero-width character would make it show as another user.
                boolean isEmail = user.get().equals(signedIn.claims().getStringClaim("email"));
                String character = SignInRefusal.describe(hidden.getAsInt());
                refusals.refused(SignInRefusal.CONTROL_CHARACTER, false, () -> "OIDC sign-in refused: the "
                        + (isEmail ? "email" : "user name") + " of subject "
                        + ControlCharacters.bounded(signedIn.claims().getSubject()) + " contains the " + character);
                failSignIn(ctx, "The " + (isEmail ? "email address" : "user name") + " your identity provider sent"
                        + " contains the " + character + " (such as a line break or a right-to-left override), which"
                        + " no " + (isEmail ? "email address" : "user name") + " has. Correct it at your identity"
                        + " provider,"
                        + " then try again.");
                return;
            }
            startSession(ctx, user.get(), "oidc", signedIn.rawIdToken());
            log.info("signed in through OIDC: {}", ControlCharacters.bounded(user.get()));
            ctx.redirect(started.get().destination().path(), HttpStatus.SEE_OTHER);
        } catch (SignInRejectedException e) {
            refusals.refused(SignInRefusal.of(e), true, () -> "OIDC sign-in rejected: " + e.withCause());
            failSignIn(ctx, e.getMessage());
        }
    }

    private void logout(Context ctx) {
        if (!origin.sameOriginWrite(ctx, CSRF_HEADER)) {
            reject(ctx, HttpStatus.FORBIDDEN, ApiErrorCodes.CSRF_REJECTED,
                    "This sign-out was not sent by the PicoTunnel UI of this server."
                    + withoutCsrfHeader(ctx, ""));
            return;
        }
        String id = ctx.cookie(named(ctx, COOKIE));
        Optional<SessionStore.Session> session = sessions.find(id);
        sessions.delete(id);
        ctx.header("Set-Cookie", cookie(ctx, COOKIE, "", 0));
        String redirect = null;
        if (oidc != null && session.isPresent() && "oidc".equals(session.get().method())) {
            URI redirectUrl = oidc.settings().redirectUrl();
            URI afterLogout = redirectUrl.resolve("/");
            redirect = oidc.logoutRedirect(session.get().idToken(), afterLogout).map(URI::toString).orElse(null);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("redirect", redirect);
        ctx.json(body);
    }

    /**
     * The request's session, if it is live and was signed in with what the configuration accepts now: rotating the
     * admin token, or changing the OIDC issuer or allow lists, ends the sessions signed in before.
     */
    private Optional<SessionStore.Session> currentSession(Context ctx) {
        String id = ctx.cookie(named(ctx, COOKIE));
        Optional<SessionStore.Session> session = id == null ? Optional.empty() : sessions.find(id);
        if (session.isPresent() && !Secrets.matches(session.get().credential(), credential(session.get().method()))) {
            log.info("ending a {} session signed in with a credential the configuration no longer accepts",
                    session.get().method());
            sessions.delete(id);
            return Optional.empty();
        }
        return session;
    }

    /** A fingerprint of what signs in with {@code method} now; null when nothing does. */
    private String credential(String method) {
        return switch (method) {
            case "token" -> tokenCredential;
            case "oidc" -> oidcCredential;
            default -> null;
        };
    }

    private static String tokenCredential(AuthSettings settings) {
        return settings.adminTokenValue().map(token -> Secrets.sha256Hex("token:" + token)).orElse(null);
    }

    private static String oidcCredential(AuthSettings settings) {
        return settings.oidcSettings().map(o -> Secrets.sha256Hex("oidc:" + o.issuer() + "|"
                + String.join(",", new TreeSet<>(o.allowedEmails())) + "|"
                + String.join(",", new TreeSet<>(o.allowedGroups())) + "|" + o.allowAll())).orElse(null);
    }

    private void startSession(Context ctx, String subject, String method, String idToken) {
        sessions.deleteExpired();
        String id = sessions.create(subject, method, idToken, credential(method));
        ctx.res().addHeader("Set-Cookie", cookie(ctx, COOKIE, id, sessions.absoluteTimeout().toSeconds()));
        ctx.header("Cache-Control", "no-store");
    }

    private String cookie(Context ctx, String name, String value, long maxAgeSeconds) {
        boolean https = secure(ctx);
        return Cookies.header(Cookies.named(name, https), value, maxAgeSeconds, https);
    }

    /**
     * The name a cookie of ours has on this request: {@code __Host-} first over https, where the browser then takes
     * it only from this very host ({@code Secure}, {@code Path=/}, no {@code Domain}): a sibling domain under the
     * same parent (a published app at evil.example.com next to the UI at tunnel.example.com) can set none of them,
     * so it can neither plant a session of its own nor a sign-in's browser key or error message (cookie tossing).
     * Only that name is read over https; plain http has no such cookie.
     */
    private String named(Context ctx, String name) {
        return Cookies.named(name, secure(ctx));
    }

    /**
     * Secure when the browser talks https to us, directly or through a TLS-terminating proxy. The proxy's header is
     * taken from any peer, not only from trusted proxies: it gives this request's cookies {@code Secure} and the
     * {@code __Host-} prefix, and reads only the prefixed ones, never the other way round (an https redirect URL
     * keeps them), and no other site's page can make a browser send it; cloudflared or Pangolin in front then get
     * {@code Secure} cookies without naming themselves in {@code PICOTUNNEL_TRUSTED_PROXIES}. A client claiming https
     * over plain http only gets cookies its browser does not send back there. With an http redirect URL, a sign-in
     * started over https finishes only when its callback comes back over https too (a proxy that upgrades it);
     * otherwise its sign-in cookie is missing and {@link #finishOidc} says to set the redirect URL's https address.
     */
    private boolean secure(Context ctx) {
        return "https".equalsIgnoreCase(ctx.scheme())
                || "https".equals(ForwardedProto.scheme(ctx.header("X-Forwarded-Proto")))
                || (oidc != null && "https".equalsIgnoreCase(oidc.settings().redirectUrl().getScheme()));
    }

    private static String requestHostName(Context ctx) {
        String host = ctx.header("Host");
        return host == null || host.isBlank() ? "localhost" : RequestOrigin.hostName(host);
    }

    /** Back to the UI, which shows {@code message} on its sign-in page (see {@link #SIGN_IN_ERROR_COOKIE}). */
    private void failSignIn(Context ctx, String message) {
        String text = message.length() > MAX_SIGN_IN_ERROR ? message.substring(0, MAX_SIGN_IN_ERROR) + "..." : message;
        String value = Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
        ctx.res().addHeader("Set-Cookie", cookie(ctx, SIGN_IN_ERROR_COOKIE, value, SIGN_IN_ERROR_LIFETIME_SECONDS));
        ctx.header("Cache-Control", "no-store");
        ctx.redirect("/", HttpStatus.SEE_OTHER);
    }

    /** The message {@link #failSignIn} left for this browser, or null; taken once (the cookie is cleared). */
    private String signInError(Context ctx) {
        String value = ctx.cookie(named(ctx, SIGN_IN_ERROR_COOKIE));
        if (value == null) {
            return null;
        }
        ctx.res().addHeader("Set-Cookie", cookie(ctx, SIGN_IN_ERROR_COOKIE, "", 0));
        try {
            String message = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8);
            return message.isBlank() || message.length() > MAX_SIGN_IN_ERROR + 3 ? null : message;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Answers 429 when this address failed too often and must still wait; the credential is not checked then. */
    private boolean throttled(Context ctx) {
        java.time.Duration wait = failures.retryAfter(clientAddress(ctx));
        if (wait.isZero()) {
            return false;
        }
        long seconds = FailedLogins.seconds(wait);
        ctx.header("Retry-After", Long.toString(seconds));
        reject(ctx, HttpStatus.TOO_MANY_REQUESTS, TunnelErrorCodes.TOO_MANY_ATTEMPTS,
                "Too many failed attempts from your address: wait " + seconds + (seconds == 1 ? " second" : " seconds")
                        + ", then try again with the right admin token.");
        return true;
    }

    private boolean bearerMatches(String authorization) {
        return authorization.length() <= MAX_TOKEN_LENGTH
                && Secrets.matches(BearerToken.parse(authorization), settings.adminTokenValue().orElse(null));
    }

    /** Only a path on this server: no scheme, no host, no {@code //evil.example}. */
    static String safeReturnPath(String returnTo) {
        if (returnTo == null || !returnTo.startsWith("/") || returnTo.startsWith("//") || returnTo.startsWith("/\\")
                || returnTo.length() > 2048 || returnTo.chars().anyMatch(ch -> ch < 0x20)) {
            return "/";
        }
        return returnTo;
    }

    /** A cause for the log: its message, or its type when it has none (never "null"). */
    static String describe(Throwable cause) {
        String message = cause.getMessage();
        return message == null || message.isBlank() ? cause.getClass().getSimpleName() : forLog(message);
    }

    /** Printable ASCII and spaces only, at most 100 characters: a request's own text, safe for one log line. */
    static String forLog(String text) {
        String clean = text == null ? "" : text.replaceAll("[^\\x20-\\x7e]", "?");
        return clean.length() > 100 ? clean.substring(0, 100) + "..." : clean;
    }

    private static String limit(String text) {
        String clean = text.replaceAll("[^A-Za-z0-9_ .-]", "");
        return clean.length() > 100 ? clean.substring(0, 100) : clean;
    }

    /** Whether the Content-Type header is {@code application/json}, with or without parameters. */
    private static boolean isJson(String contentType) {
        return contentType != null
                && contentType.split(";", 2)[0].strip().equalsIgnoreCase("application/json");
    }

    private static void reject(Context ctx, HttpStatus status, String error, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", error);
        body.put("message", message);
        ctx.status(status).json(body);
        ctx.skipRemainingHandlers();
    }
}
