package io.picotunnel.server.access;

import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.text.PercentEscapes;
import io.picotunnel.server.auth.Cookies;
import io.picotunnel.server.auth.FetchMode;
import io.picotunnel.server.auth.OidcCallbackHook;
import io.picotunnel.server.auth.OidcProvider;
import io.picotunnel.server.auth.PendingLogins;
import io.picotunnel.server.auth.Secrets;
import io.picotunnel.server.auth.SignInRefusal;
import io.picotunnel.server.auth.SignInRejectedException;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import java.util.function.IntPredicate;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Single sign-on in front of {@code auth: oidc} services, through the server's own OIDC provider and callback,
 * so no service needs an OIDC client of its own:
 *
 * <ol>
 *   <li>A visitor without a session for the service is sent to the management server's
 *       {@code /auth/service/login?service=ID&return_to=URL&browser=HASH}, which starts the code flow; the redirect
 *       sets a {@link #DOMAIN_BROWSER_COOKIE} on the service's domain, whose SHA-256 is {@code HASH}.</li>
 *   <li>The provider sends the browser back to the server's callback; this hook claims the sign-ins it started,
 *       checks the ID token and the service's allow lists (verified emails only) and answers a visitor who is not
 *       allowed with a page that says so.</li>
 *   <li>An allowed visitor goes to {@code /.picotunnel/auth/callback?code=...} on the service's own domain with a
 *       one-time code (valid {@link #HANDOFF_TTL_NANOS}); in the browser that holds the cookie of that hash (and no
 *       other), the proxy trades it for a session and sets a host-only
 *       cookie named after the service, then sends the visitor on to the page first asked for.</li>
 *   <li>{@code /.picotunnel/auth/logout} on the service's domain asks, and its button (a same-origin POST) ends
 *       the session.</li>
 * </ol>
 *
 * Sessions and codes are kept in memory, bounded, each tied to one service: a cookie of one service opens no
 * other. After a server restart visitors sign in again (the provider usually remembers them).
 */
public final class ServiceSignIn implements OidcCallbackHook {

    public static final String PREFIX = "/.picotunnel/auth/";
    public static final String CALLBACK = PREFIX + "callback";
    public static final String LOGOUT = PREFIX + "logout";
    public static final String LOGIN_ROUTE = "/auth/service/login";
    public static final String COOKIE_PREFIX = "picotunnel_access_";

    static final Duration HANDOFF_TTL = Duration.ofMinutes(2);
    static final long HANDOFF_TTL_NANOS = HANDOFF_TTL.toNanos();
    static final long SESSION_TTL_NANOS = 12 * 3600 * 1_000_000_000L;
    static final int MAX_SESSIONS = 100_000;
    static final int MAX_HANDOFFS = 10_000;
    /** How often a refused sign-in of one service and cause is logged at most. */
    static final Duration REFUSAL_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;
    /** Of the 503 page while the server stops, whose text says to come back after as long. */
    static final Duration STOPPING_RETRY_AFTER = Duration.ofMinutes(1);
    static final String STOPPING_MESSAGE = "This server is stopping or restarting and signs nobody in meanwhile. Open the"
            + " service's page again in " + Durations.format(STOPPING_RETRY_AFTER) + ".";
    /**
     * On the management origin, set when a sign-in starts and required at its callback: a sign-in finishes only
     * in the browser that started it (no login CSRF, where a victim's browser finishes the attacker's). Named
     * {@code picotunnel_service_signin-<state>}, one per sign-in ({@link PendingLogins#cookieName}).
     */
    public static final String BROWSER_COOKIE = "picotunnel_service_signin";
    /**
     * On the service's domain, set (or kept, for a second tab) when the proxy sends a visitor to sign in, its hash
     * carried through the sign-in (the login URL's {@code browser}) into the one-time code: the code opens a session
     * only in the browser that holds it (no login CSRF, where a victim opens the link of the attacker's sign-in).
     * Named {@code picotunnel_signin_browser-<the hash's first 16 hex digits>} ({@link #domainBrowserCookie}): two
     * tabs sent to sign in at once, neither request carrying one yet, get one each, and neither takes the other's
     * place. Left to its Max-Age once a sign-in finishes: another tab's sign-in may still need it.
     */
    public static final String DOMAIN_BROWSER_COOKIE = "picotunnel_signin_browser";
    /**
     * Tells htmx to load this address as a page, whatever the status (it swaps no 4xx answer into the page). Only
     * for a link or form htmx took over (boosted): the user asked to go there. Not HX-Refresh, which reloads the
     * page the fetch came from: a page that is not gated itself and fetches from a gated service as it loads would
     * reload over and over.
     */
    static final String HX_REDIRECT = "HX-Redirect";
    /** How many hex digits of its value's SHA-256 a {@link #DOMAIN_BROWSER_COOKIE}'s name carries. */
    static final int DOMAIN_BROWSER_NAME_DIGITS = 16;
    /** Long enough for the provider's part (at most {@link PendingLogins#TTL}) and the code's. */
    static final long DOMAIN_BROWSER_COOKIE_SECONDS = PendingLogins.TTL.toSeconds() + HANDOFF_TTL_NANOS / 1_000_000_000L;
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    private static final Logger LOG = LoggerFactory.getLogger(ServiceSignIn.class);

    /**
     * Refused sign-ins: at most one line a minute per service and {@link SignInRefusal}, with the count of the
     * others, so a script repeating one refusal neither fills the log nor hides another service's.
     */
    private final KeyedRefusalLog refusals = new KeyedRefusalLog(LOG, REFUSAL_LOG_INTERVAL, KeyedRefusalLog.MAX_KEYS);

    /** {@code serviceId}: null where the callback's sign-in is not known. */
    private record RefusalKey(String serviceId, SignInRefusal cause) {
    }

    /**
     * What the sign-in needs to know of a service. {@code httpsOnly}: its visitors on plain HTTP are only redirected
     * to HTTPS ({@code https_redirect}), so its sign-ins start on HTTPS and go back there alone. {@code httpPorts},
     * {@code httpsPorts}: where the proxy answers (its listening ports, and the public ones of a port mapping in
     * front), the only ports (with 80 and 443) a sign-in may go back to. {@code passedThrough}: whether the proxy
     * hands a host name's TLS untouched to a passthrough service (another service's target), never a place to go back to.
     * {@code tcpServicePort}: whether a browser sent to a port of the service's name may reach a tcp service of this
     * server (its target would get what comes there): one listening on the port where such a browser arrives, or
     * anywhere on it when that is not known; never a port to go back to, not even 80, 443 or a public one.
     */
    public record Target(String serviceId, String domain, boolean httpsOnly, ServiceAuth.Oidc auth,
            Set<Integer> httpPorts, Set<Integer> httpsPorts, Predicate<String> passedThrough,
            IntPredicate tcpServicePort) {

        public Target {
            httpPorts = Set.copyOf(httpPorts);
            httpsPorts = Set.copyOf(httpsPorts);
        }
    }

    /**
     * Where a sign-in on its way through the provider leads; {@code browserHash}: SHA-256 (hex) of the
     * {@link #DOMAIN_BROWSER_COOKIE} of the browser that started it.
     */
    private record Destination(String serviceId, URI returnTo, String browserHash) {
    }

    /** {@code email}: verified, and the user's name for the target (users may edit preferred_username). */
    private record Handoff(String serviceId, String host, String email, List<String> groups, String returnPath,
            String browserHash, long expiresAt) {
    }

    private record Session(String serviceId, String email, List<String> groups, long expiresAt) {
    }

    private final OidcProvider provider;
    private final URI managementBase;
    private final Function<String, Optional<Target>> services;
    private final Function<Context, String> clientAddress;
    private final LongSupplier nanoClock;
    private final PendingLogins<Destination> pending;
    private final Map<String, Handoff> handoffs = new LinkedHashMap<>();
    /** By SHA-256 of the cookie value. */
    private final Map<String, Session> sessions = new LinkedHashMap<>();
    /**
     * Set when the server drains for its shutdown ({@link #stopSigningIn}): its proxy takes no new connections, so a
     * sign-in's return could only reach what still holds the port, a tcp service's open connections say.
     */
    private volatile boolean stopping;

    /**
     * @param managementBase where browsers reach the management server (the OIDC redirect URL's origin)
     * @param services       the current sign-in settings of a service by id, empty when it has none
     * @param clientAddress  who a request on the management port comes from
     *                       ({@link io.picotunnel.server.auth.ManagementAuth#clientAddress}), for the limit on
     *                       pending sign-ins and the log
     */
    public ServiceSignIn(OidcProvider provider, URI managementBase, Function<String, Optional<Target>> services,
            Function<Context, String> clientAddress, LongSupplier nanoClock) {
        this.provider = provider;
        this.clientAddress = clientAddress;
        this.managementBase = managementBase;
        this.services = services;
        this.nanoClock = nanoClock;
        // nanoTime read as an instant: only the time between two readings counts
        this.pending = new PendingLogins<>(() -> Instant.EPOCH.plusNanos(nanoClock.getAsLong()),
                PendingLogins.MAX_PER_ADDRESS, PendingLogins.MAX_PENDING);
    }

    /** The management server's origin, taken from the provider's redirect URL. */
    public static URI managementBase(OidcProvider provider) {
        URI redirect = provider.settings().redirectUrl();
        return URI.create(redirect.getScheme() + "://" + redirect.getRawAuthority());
    }

    // ---- the proxy's side: in memory only, on event loops

    /**
     * The proxy's own paths under {@link #PREFIX}, answered here for every service of a host, signed-in or not (an
     * oidc service on {@code /admin} next to an open one on {@code /}: its callback comes to {@code /}'s prefix,
     * and must neither reach that target, code and all, nor fail); null for every other path.
     */
    HttpVerdict ownPath(HttpAccessRequest request) {
        String path = pathOf(request.uri());
        if (!path.startsWith(PREFIX)) {
            return null;
        }
        if (path.equals(CALLBACK)) {
            return finishOnServiceDomain(request);
        }
        if (path.equals(LOGOUT)) {
            return signOut(request);
        }
        return HttpVerdict.Answer.of(404, "not_found", "There is nothing at " + path + ".");
    }

    HttpVerdict check(HttpAccessRequest request, ServiceAuth.Oidc auth) {
        Session session = session(request);
        if (session != null && allowed(auth, session.email(), session.groups())) {
            return new HttpVerdict.Pass(session.email(), session.email());
        }
        boolean read = request.method().equals("GET") || request.method().equals("HEAD");
        String here = (request.https() ? "https://" : "http://") + request.authority() + request.uri();
        if (read && request.fetch().scripted()) {
            // A script library's fetch (Turbo, htmx, ...) would show an HTML answer in place of the page, though the
            // page is in a browser already; Turbo loads the address as a page on an answer that is not HTML, htmx on
            // HX-Redirect (pjax on any error), and that page load signs in. Absolute: a target such as
            // //elsewhere.example/ would be another site's address. A form's submission gets the HTML answer
            // below, which Turbo shows (it shows no other)
            Map<String, String> headers = request.fetch().boosted() ? Map.of(HX_REDIRECT, here) : Map.of();
            return new HttpVerdict.Answer(401, "sign_in_required", "Sign in first: reload this page to sign in.",
                    headers, List.of(), true);
        }
        // Only a page load goes to sign in: an image, a script or a fetch could not follow, and each sent there would
        // leave a sign-in cookie on the management origin (FetchMode)
        if (!read || request.fetch().notPageLoad()) {
            return HttpVerdict.Answer.of(401, "sign_in_required",
                    "Sign in first: open " + request.host() + " in a browser, which takes you to the sign-in.");
        }
        // Kept when there: a second tab's sign-in must not undo the first's
        String browser = domainBrowserKept(request.cookie(), request.https());
        String browserHash = Secrets.sha256Hex(browser);
        String login = managementBase + LOGIN_ROUTE + "?service=" + request.serviceId() + "&return_to="
                + URLEncoder.encode(here, StandardCharsets.UTF_8) + "&browser=" + browserHash;
        return new HttpVerdict.Redirect(302, login, List.of(Cookies.header(domainBrowserCookie(browserHash, request.https()),
                browser, DOMAIN_BROWSER_COOKIE_SECONDS, request.https())));
    }

    /**
     * The name of the {@link #DOMAIN_BROWSER_COOKIE} whose value has SHA-256 {@code browserHash} (hex), on the
     * request's scheme.
     */
    static String domainBrowserCookie(String browserHash, boolean https) {
        return Cookies.named(DOMAIN_BROWSER_COOKIE, https) + "-" + browserHash.substring(0, DOMAIN_BROWSER_NAME_DIGITS);
    }

    /** The value of the first well-formed {@link #DOMAIN_BROWSER_COOKIE} the request carries, else a new one. */
    private static String domainBrowserKept(String cookieHeader, boolean https) {
        String prefix = Cookies.named(DOMAIN_BROWSER_COOKIE, https) + "-";
        for (String part : Cookies.parts(cookieHeader)) {
            String value = Cookies.valueOf(part);
            if (Cookies.name(part).startsWith(prefix) && PendingLogins.isBrowserKey(value)
                    && Cookies.name(part).equals(domainBrowserCookie(Secrets.sha256Hex(value), https))) {
                return value;
            }
        }
        return Secrets.newToken();
    }

    private HttpVerdict finishOnServiceDomain(HttpAccessRequest request) {
        String code = queryParam(request.uri(), "code");
        Handoff handoff;
        synchronized (handoffs) {
            dropExpired(handoffs.values().iterator(), Handoff::expiresAt);
            handoff = code == null ? null : handoffs.remove(Secrets.sha256Hex(code));
        }
        // Any path of the service's host may carry the code (another service may have the host's "/" prefix).
        if (handoff == null || !handoff.host().equals(request.host())) {
            return HttpVerdict.Answer.of(400, "sign_in_expired",
                    "This sign-in link is not valid any more (expired or used already). Open the page again to sign in.");
        }
        String browser = Cookies.value(request.cookie(), domainBrowserCookie(handoff.browserHash(), request.https()));
        boolean sameBrowser = browser != null && MessageDigest.isEqual(Secrets.sha256(browser),
                HexFormat.of().parseHex(handoff.browserHash()));
        if (!sameBrowser) {
            Session already = session(request, handoff.serviceId());
            if (already != null && already.email().equals(handoff.email())) {
                // A tab of a browser signed in as the same user meanwhile, whose sign-in cookie has gone (its Max-Age)
                return new HttpVerdict.Redirect(303, handoff.returnPath(), List.of());
            }
            refused(handoff.serviceId(), SignInRefusal.LINK_IN_OTHER_BROWSER, false, () -> "sign-in of "
                    + ControlCharacters.bounded(handoff.email()) + " to service " + ControlCharacters.bounded(handoff.serviceId())
                    + " refused at " + request.visitor().getHostAddress()
                    + ": its link was opened in a browser that did not start it");
            return HttpVerdict.Answer.of(403, "sign_in_other_browser", "This sign-in was started in another browser."
                    + " Open the page again in this one to sign in.");
        }
        String id = Secrets.newToken();
        synchronized (sessions) {
            dropExpired(sessions.values().iterator(), Session::expiresAt);
            sessions.put(Secrets.sha256Hex(id), new Session(handoff.serviceId(), handoff.email(),
                    handoff.groups(), nanoClock.getAsLong() + SESSION_TTL_NANOS));
            Iterator<Session> eldest = sessions.values().iterator();
            while (sessions.size() > MAX_SESSIONS && eldest.hasNext()) {
                eldest.next();
                eldest.remove();
            }
        }
        LOG.info("{} signed in to service {}", ControlCharacters.bounded(handoff.email()), ControlCharacters.bounded(handoff.serviceId()));
        return new HttpVerdict.Redirect(303, handoff.returnPath(), List.of(Cookies.header(
                cookieName(handoff.serviceId(), request.https()), id, SESSION_TTL_NANOS / 1_000_000_000L, request.https())));
    }

    /**
     * {@code GET} (a link, or any page's image or redirect) only asks; the page's button POSTs, and a POST ends the
     * sessions of every service of the host whose cookie came with it, when it comes from a page of this origin.
     */
    private HttpVerdict signOut(HttpAccessRequest request) {
        if (request.method().equals("GET") || request.method().equals("HEAD")) {
            return new HttpVerdict.Confirm("confirm_sign_out", "Sign out of " + request.host() + "?", LOGOUT,
                    "Sign out");
        }
        if (!request.method().equals("POST")) {
            return new HttpVerdict.Answer(405, "method_not_allowed", "Open " + LOGOUT + " in a browser to sign out.",
                    Map.of("Allow", "GET, HEAD, POST"), List.of());
        }
        if (!fromThisOrigin(request)) {
            LOG.debug("sign-out of {} refused: it came from the page of another origin ({})", ControlCharacters.bounded(request.host()),
                    ControlCharacters.bounded(request.origin() == null ? "Sec-Fetch-Site " + request.fetchSite()
                            : "Origin " + request.origin()));
            return HttpVerdict.Answer.of(403, "sign_out_refused", "This sign-out came from another site's page, so"
                    + " it was refused. To sign out, open " + LOGOUT + " on " + request.host() + " and press the button.");
        }
        List<String> expired = new ArrayList<>();
        for (String part : Cookies.parts(request.cookie())) {
            String value = Cookies.valueOf(part);
            if (value == null || !isSessionCookie(Cookies.name(part))) {
                continue;
            }
            synchronized (sessions) {
                sessions.remove(Secrets.sha256Hex(value));
            }
            expired.add(Cookies.header(Cookies.name(part), "", 0, request.https()));
        }
        return new HttpVerdict.Answer(200, "signed_out", "You are signed out of " + request.host() + ".",
                Map.of(), expired);
    }

    /**
     * Whether a POST was sent by a page of the origin it goes to. Browsers send {@code Origin} with every POST (and
     * {@code Sec-Fetch-Site}): any other origin is refused, a sibling domain's too, whose requests carry the
     * {@code SameSite=Lax} cookie (it is the same site). The scheme must match on HTTPS (over TLS, or as a trusted
     * proxy's {@code X-Forwarded-Proto} says); on plain HTTP the visitor's page may be HTTPS at a front proxy that ends
     * TLS and is not a trusted one (its ports then compare by the Origin's scheme). A request with
     * neither comes from a program, not from a page. The Origin is read as the browser writes it,
     * {@code scheme://host[:port]}, not with {@link URI}, which gives no host for a name with {@code _} (DNS allows
     * it, and a wildcard service answers such a name).
     */
    static boolean fromThisOrigin(HttpAccessRequest request) {
        String site = request.fetchSite();
        if (site != null && !site.equals("same-origin") && !site.equals("none")) {
            return false;
        }
        if (request.origin() == null) {
            return true;
        }
        String origin = request.origin().strip();
        String scheme = origin.regionMatches(true, 0, "https://", 0, 8) ? "https://"
                : origin.regionMatches(true, 0, "http://", 0, 7) && !request.https() ? "http://" : null;
        if (scheme == null) {
            return false; // "null" (a sandboxed frame, a redirect from elsewhere), http on HTTPS, not a URL
        }
        int defaultPort = scheme.equals("https://") ? 443 : 80;
        Authority theirs = Authority.parse(origin.substring(scheme.length()), defaultPort);
        Authority ours = Authority.parse(request.authority(), defaultPort);
        return theirs != null && ours != null && theirs.host().equalsIgnoreCase(ours.host())
                && theirs.port() == ours.port();
    }

    /** The lower-case host of a URL {@link #returnUrl} took (its authority parsed as there). */
    private static String hostOf(URI returnTo) {
        Authority authority = Authority.parse(returnTo.getRawAuthority(), 0);
        return authority == null ? "" : authority.host().toLowerCase(Locale.ROOT);
    }

    /** A Host header's or an Origin's {@code host}, {@code host:port} or {@code [v6]:port}. */
    private record Authority(String host, int port) {

        /** {@code text} with {@code defaultPort} when it names none; null when it is not an authority. */
        static Authority parse(String text, int defaultPort) {
            int bracket = text.startsWith("[") ? text.indexOf(']') : -1;
            if (text.startsWith("[") && bracket < 0) {
                return null;
            }
            int colon = text.indexOf(':', bracket + 1);
            String host = colon < 0 ? text : text.substring(0, colon);
            String port = colon < 0 ? "" : text.substring(colon + 1);
            if (host.isEmpty() || bracket >= 0 && host.length() != bracket + 1
                    || host.chars().anyMatch(c -> c <= ' ' || "/?#@\\".indexOf(c) >= 0)
                    || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            return new Authority(host, port.isEmpty() ? defaultPort : Integer.parseInt(port));
        }
    }

    private Session session(HttpAccessRequest request) {
        return session(request, request.serviceId());
    }

    private Session session(HttpAccessRequest request, String serviceId) {
        String id = Cookies.value(request.cookie(), cookieName(serviceId, request.https()));
        if (id == null) {
            return null;
        }
        synchronized (sessions) {
            Session session = sessions.get(Secrets.sha256Hex(id));
            if (session == null || !session.serviceId().equals(serviceId)) {
                return null;
            }
            if (nanoClock.getAsLong() - session.expiresAt() >= 0) {
                sessions.remove(Secrets.sha256Hex(id));
                return null;
            }
            return session;
        }
    }

    /**
     * The session cookie of a service: {@code __Host-picotunnel_access_<id>} over HTTPS, which no other host can
     * set, and {@code picotunnel_access_<id>} over plain HTTP. Over HTTPS only the first is read: one without the
     * prefix (set over plain HTTP, or by a sibling domain) opens nothing there.
     */
    static String cookieName(String serviceId, boolean https) {
        return Cookies.named(COOKIE_PREFIX + serviceId, https);
    }

    /** Whether a cookie of this name is a service's session cookie (with the prefix or without), never a target's. */
    public static boolean isSessionCookie(String name) {
        return name.startsWith(COOKIE_PREFIX) || name.startsWith(Cookies.HOST_ONLY + COOKIE_PREFIX);
    }

    /**
     * Whether a cookie of this name is one the proxy sets on a service's domain, a session cookie or the sign-in's
     * {@link #DOMAIN_BROWSER_COOKIE}s (with the prefix or without), never a target's.
     */
    public static boolean isProxysCookie(String name) {
        return isSessionCookie(name) || name.startsWith(DOMAIN_BROWSER_COOKIE)
                || name.startsWith(Cookies.HOST_ONLY + DOMAIN_BROWSER_COOKIE);
    }

    /** The name of {@link #BROWSER_COOKIE} on the management origin: {@code __Host-} on HTTPS (see {@link Cookies#HOST_ONLY}). */
    private String browserCookie() {
        return Cookies.named(BROWSER_COOKIE, managementHttps());
    }

    /** The Set-Cookie of the {@link #BROWSER_COOKIE} of the sign-in with {@code state} ({@link PendingLogins#cookieName}). */
    private String browserCookie(String state, String value, long maxAgeSeconds) {
        return Cookies.header(PendingLogins.cookieName(browserCookie(), state), value, maxAgeSeconds, managementHttps());
    }

    private boolean managementHttps() {
        return "https".equalsIgnoreCase(managementBase.getScheme());
    }

    /** A verified email on the list, a group on the list, or anyone with {@code allowAll}; empty lists alone, nobody. */
    static boolean allowed(ServiceAuth.Oidc auth, String email, List<String> groups) {
        if (email == null) {
            return false;
        }
        if (auth.allowAll()) {
            return true;
        }
        return auth.allowedEmails().contains(UnicodeNames.comparableEmail(email))
                || groups.stream().anyMatch(auth.allowedGroups()::contains);
    }

    // ---- the management server's side: Javalin threads (blocking calls to the provider are fine here)

    /**
     * From now on no sign-in starts, and none sends its code back: the server drains for its shutdown. Each gets 503
     * with a page that says to open the service's page again in a moment (sessions and codes end with the server).
     */
    public void stopSigningIn() {
        stopping = true;
    }

    /** Adds {@code GET /auth/service/login} to the management server. */
    public void install(JavalinConfig config) {
        config.routes.get(LOGIN_ROUTE, this::startSignIn);
    }

    private void startSignIn(Context ctx) {
        ctx.header("Cache-Control", "no-store");
        if (stopping) {
            stoppingPage(ctx);
            return;
        }
        if (FetchMode.of(ctx::header).notPageLoad()) {
            // an image or fetch of another page of the site: it cannot sign in, and would leave a cookie (FetchMode)
            page(ctx, HttpStatus.UNAUTHORIZED, "Sign-in needed", "Open the service's page in the browser to sign in.");
            return;
        }
        String serviceId = ctx.queryParam("service");
        Optional<Target> target = serviceId == null ? Optional.empty() : services.apply(serviceId);
        if (target.isEmpty()) {
            page(ctx, HttpStatus.NOT_FOUND, "No such service", "There is no service here that signs in with single sign-on.");
            return;
        }
        URI returnTo = returnUrl(ctx.queryParam("return_to"), target.get());
        if (returnTo == null) {
            invalidReturn(ctx, target.get());
            return;
        }
        String browserHash = ctx.queryParam("browser");
        if (browserHash == null || !HASH.matcher(browserHash).matches()) {
            page(ctx, HttpStatus.BAD_REQUEST, "Invalid sign-in link", "This sign-in link did not come from "
                    + target.get().domain() + ". Open the service's page again.");
            return;
        }
        String browserKey = Secrets.newToken();
        try {
            OidcProvider.AuthorizationStart start = provider.start();
            if (!pending.put(start, new Destination(target.get().serviceId(), returnTo, browserHash), clientAddress.apply(ctx), browserKey)) {
                LOG.debug("single sign-on from {} refused: too many sign-ins are waiting", clientAddress.apply(ctx));
                page(ctx, HttpStatus.TOO_MANY_REQUESTS, "Too many sign-ins",
                        "Too many sign-ins are in progress right now. Please try again in a few minutes.");
                return;
            }
            // Path=/ as a __Host- cookie must have (the browser sends it with the UI's requests too; nothing reads it there)
            for (String finished : pending.finishedStates(ctx.header("Cookie"), browserCookie())) {
                ctx.res().addHeader("Set-Cookie", browserCookie(finished, "", 0));
            }
            ctx.res().addHeader("Set-Cookie", browserCookie(start.state(), browserKey, PendingLogins.TTL.toSeconds()));
            ctx.redirect(start.redirect().toString(), HttpStatus.FOUND);
        } catch (SignInRejectedException e) {
            refused(serviceId, SignInRefusal.COULD_NOT_START, true, () -> "single sign-on for service "
                    + ControlCharacters.bounded(serviceId) + " could not start: " + e.withCause());
            // the log has the administrator's sentence (the setting to check); the visitor gets theirs
            page(ctx, HttpStatus.BAD_GATEWAY, "Sign-in unavailable", e.visitorMessage());
        }
    }

    @Override
    public boolean handle(Context ctx) {
        String state = ctx.queryParam("state");
        String cookieName = PendingLogins.cookieName(browserCookie(), state);
        String browserKey = cookieName == null ? null : ctx.cookie(cookieName);
        PendingLogins.Result<Destination> taken = pending.take(state, browserKey);
        if (taken.refusal() == PendingLogins.Refusal.UNKNOWN) {
            return false;
        }
        ctx.header("Cache-Control", "no-store");
        if (browserKey != null) {
            // signed in or not: this sign-in's own cookie (another tab's has a name of its own)
            ctx.res().addHeader("Set-Cookie", browserCookie(state, "", 0));
        }
        if (taken.refusal() == PendingLogins.Refusal.OTHER_BROWSER) {
            refused(null, SignInRefusal.OTHER_BROWSER, false, () -> "single sign-on to a service refused: the callback from "
                    + ControlCharacters.bounded(clientAddress.apply(ctx)) + " carries a sign-in started by another browser");
            page(ctx, HttpStatus.FORBIDDEN, "Not signed in", "This sign-in was started in another browser. Open the "
                    + "service's page again in this one to sign in.");
            return true;
        }
        PendingLogins.Pending<Destination> started = taken.pending().orElseThrow();
        String serviceId = started.destination().serviceId();
        URI returnTo = started.destination().returnTo();
        String code = ctx.queryParam("code");
        if (ctx.queryParam("error") != null || code == null || code.isEmpty()) {
            page(ctx, HttpStatus.FORBIDDEN, "Not signed in", "The identity provider did not sign you in. Open the page again to retry.");
            return true;
        }
        if (stillReturnable(ctx, serviceId, returnTo).isEmpty()) {
            return true;
        }
        IDTokenClaimsSet claims;
        try {
            claims = provider.finish(code, started.nonce(), started.codeVerifier()).claims();
        } catch (SignInRejectedException e) {
            refused(serviceId, SignInRefusal.of(e), true, () -> "single sign-on for service " + ControlCharacters.bounded(serviceId)
                    + " rejected: " + e.withCause());
            if (e.providerUnavailable()) {
                page(ctx, HttpStatus.BAD_GATEWAY, "Sign-in unavailable", e.visitorMessage());
            } else {
                page(ctx, HttpStatus.FORBIDDEN, "Not signed in", e.visitorMessage());
            }
            return true;
        }
        // Again once the provider answered, which may take seconds: a tcp service may have come on the port meanwhile
        Optional<Target> target = stillReturnable(ctx, serviceId, returnTo);
        if (target.isEmpty()) {
            return true;
        }
        String email = claims.getStringClaim("email");
        boolean verified = OidcProvider.emailVerified(claims);
        List<String> groups = groupsOf(claims);
        String domain = target.get().domain();
        if (email == null || !verified) {
            refused(serviceId, SignInRefusal.NO_VERIFIED_EMAIL, false, () -> "single sign-on to service "
                    + ControlCharacters.bounded(serviceId) + " refused: subject " + ControlCharacters.bounded(claims.getSubject())
                    + " has no verified email");
            page(ctx, HttpStatus.FORBIDDEN, "Access denied", "Your account has no verified email address, which "
                    + domain + " needs. Verify your email with your identity provider, then try again.");
            return true;
        }
        OptionalInt hidden = ControlCharacters.firstHidden(email);
        if (hidden.isPresent()) {
            // It would go to the target as X-PicoTunnel-Email, where a line break would end the header (Netty
            // refuses to write it, so each request of the session would fail), a tab or NUL would change it, and a
            // bidi override or zero-width character would make it show as another address. Refused, not encoded:
            // targets compare the header with addresses they know, and allow lists take no such character either.
            String character = SignInRefusal.describe(hidden.getAsInt());
            refused(serviceId, SignInRefusal.CONTROL_CHARACTER, false, () -> "single sign-on to service "
                    + ControlCharacters.bounded(serviceId) + " refused: the email of subject "
                    + ControlCharacters.bounded(claims.getSubject()) + " contains the " + character);
            page(ctx, HttpStatus.FORBIDDEN, "Access denied", "The email address your identity provider sent contains"
                    + " the " + character + " (such as a line break or a right-to-left override), which no email"
                    + " address has. Correct it at your identity provider, then try again.");
            return true;
        }
        if (!allowed(target.get().auth(), email, groups)) {
            refused(serviceId, SignInRefusal.NOT_ALLOWED, false, () -> "single sign-on to service "
                    + ControlCharacters.bounded(serviceId) + " refused: " + ControlCharacters.bounded(email)
                    + " is not on its allow list");
            page(ctx, HttpStatus.FORBIDDEN, "Access denied", email + " is not allowed to open " + domain
                    + ". Ask the owner of this service to add you.");
            return true;
        }
        String handoff = Secrets.newToken();
        String returnPath = localPath(returnTo.getRawPath());
        if (returnTo.getRawQuery() != null) {
            returnPath += "?" + returnTo.getRawQuery();
        }
        synchronized (handoffs) {
            dropExpired(handoffs.values().iterator(), Handoff::expiresAt);
            handoffs.put(Secrets.sha256Hex(handoff), new Handoff(serviceId,
                    hostOf(returnTo), email, groups, returnPath, started.destination().browserHash(),
                    nanoClock.getAsLong() + HANDOFF_TTL_NANOS));
            Iterator<Handoff> eldest = handoffs.values().iterator();
            while (handoffs.size() > MAX_HANDOFFS && eldest.hasNext()) {
                eldest.next();
                eldest.remove();
            }
        }
        ctx.redirect(returnTo.getScheme() + "://" + returnTo.getRawAuthority() + CALLBACK + "?code=" + handoff, HttpStatus.SEE_OTHER);
        return true;
    }

    /**
     * The service of a sign-in at its callback, while {@code returnTo} is still a page its sign-in may go back to;
     * else empty, the answer given.
     */
    private Optional<Target> stillReturnable(Context ctx, String serviceId, URI returnTo) {
        if (stopping) {
            stoppingPage(ctx);
            return Optional.empty();
        }
        Optional<Target> target = services.apply(serviceId);
        if (target.isEmpty()) {
            page(ctx, HttpStatus.NOT_FOUND, "No such service", "The service no longer signs in with single sign-on.");
            return Optional.empty();
        }
        if (returnUrl(returnTo.toString(), target.get()) == null) {
            // the service changed since the start (its domain, to HTTPS only), or a tcp service came on the port
            invalidReturn(ctx, target.get());
            return Optional.empty();
        }
        return target;
    }

    /**
     * The path to go back to, always on the service's own host: a browser reads a Location of {@code //evil.example/}
     * (or {@code /\evil.example/}) as another host, so leading slashes and backslashes collapse to one slash.
     */
    static String localPath(String rawPath) {
        if (rawPath == null) {
            return "/";
        }
        int start = 0;
        while (start < rawPath.length() && (rawPath.charAt(start) == '/' || rawPath.charAt(start) == '\\')) {
            start++;
        }
        return "/" + rawPath.substring(start);
    }

    private static void stoppingPage(Context ctx) {
        ctx.header("Retry-After", Long.toString(STOPPING_RETRY_AFTER.toSeconds()));
        page(ctx, HttpStatus.SERVICE_UNAVAILABLE, "Server restarting", STOPPING_MESSAGE);
    }

    private static void invalidReturn(Context ctx, Target target) {
        page(ctx, HttpStatus.BAD_REQUEST, "Invalid sign-in link", "The page to return to is not on "
                + (target.httpsOnly() ? "https://" : "") + target.domain() + " at a port of this proxy."
                + " Open the service's page again.");
    }

    /**
     * {@code text} as an http(s) URL on the target's domain (or a name under a wildcard domain), else null. Never
     * {@code http} for a service on HTTPS only: the one-time code would travel in clear (and its cookie be set
     * without {@code Secure}), where anyone on the way could trade it for the visitor's session. Never another port
     * than the proxy's own (or the scheme's default): the domain's other ports may be a tcp service's, whose
     * target would be sent the one-time code and could trade it for the visitor's session; nor a port, default or
     * public, on which a tcp service of this server listens (bound on 80 while the proxy listens elsewhere, say),
     * checked on the port the browser will use. Never a name whose TLS
     * the proxy passes through to another service (a passthrough service at {@code db.example.com} under the
     * wildcard {@code *.example.com}): its target would get the code just as well.
     */
    static URI returnUrl(String text, Target target) {
        String domain = target.domain();
        if (text == null || text.length() > 4096) {
            return null;
        }
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            boolean schemeAllowed = scheme.equals("https") || scheme.equals("http") && !target.httpsOnly();
            // Read as the Origin is: URI gives no host (nor port) for a name with "_", which a wildcard answers.
            Authority authority = uri.getRawAuthority() == null ? null
                    : Authority.parse(uri.getRawAuthority(), scheme.equals("https") ? 443 : 80);
            if (!schemeAllowed || authority == null) {
                return null; // a user part ("user@host") is no authority for Authority.parse either
            }
            String host = authority.host().toLowerCase(Locale.ROOT);
            int port = authority.port();
            boolean portAllowed = scheme.equals("https")
                    ? port == 443 || target.httpsPorts().contains(port)
                    : port == 80 || target.httpPorts().contains(port);
            if (!portAllowed || target.tcpServicePort().test(port)) {
                return null;
            }
            boolean matches = domain.startsWith("*.")
                    ? host.endsWith(domain.substring(1)) && host.indexOf('.') == host.length() - domain.length() + 1
                    : host.equals(domain);
            return matches && !target.passedThrough().test(host) ? uri : null;
        } catch (URISyntaxException e) {
            return null;
        }
    }

    private static List<String> groupsOf(IDTokenClaimsSet claims) {
        Object value = claims.getClaim("groups");
        if (value instanceof List<?> list) {
            return list.stream().filter(String.class::isInstance).map(String.class::cast).toList();
        }
        return value instanceof String single ? List.of(single) : List.of();
    }

    private <T> void dropExpired(Iterator<T> values, java.util.function.ToLongFunction<T> expiresAt) {
        long now = nanoClock.getAsLong();
        while (values.hasNext()) {
            if (now - expiresAt.applyAsLong(values.next()) >= 0) {
                values.remove();
            }
        }
    }

    /** {@code message}: its values from the provider and the request already escaped ({@link ControlCharacters#bounded}). */
    private void refused(String serviceId, SignInRefusal cause, boolean warn, Supplier<String> message) {
        refusals.refused(new RefusalKey(serviceId, cause), warn, message);
    }

    private static void page(Context ctx, HttpStatus status, String title, String message) {
        ctx.status(status).contentType("text/html; charset=utf-8").result("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                + "<title>" + escape(title) + "</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\n"
                + "<h1>" + escape(title) + "</h1>\n<p>" + escape(message) + "</p>\n<hr><small>PicoTunnel</small>\n</body></html>\n");
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;").replace("'", "&#39;");
    }

    static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** The first value of {@code name} in the query, decoded; null when absent or not valid percent-encoding. */
    static String queryParam(String uri, String name) {
        int q = uri.indexOf('?');
        if (q < 0) {
            return null;
        }
        for (String pair : uri.substring(q + 1).split("&")) {
            if (pair.startsWith(name + "=")) {
                try {
                    return PercentEscapes.decodeForm(pair.substring(name.length() + 1));
                } catch (IllegalArgumentException e) {
                    return null; // "%zz", or a "%" at the end: no code of ours
                }
            }
        }
        return null;
    }

}
