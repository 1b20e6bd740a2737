package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.text.PercentEscapes;
import io.picotunnel.server.Version;
import io.picotunnel.server.access.AccessErrorCodes;
import io.picotunnel.server.auth.ManagementAuth;
import io.picotunnel.server.config.Limits;
import io.picotunnel.server.net.ApiErrorCodes;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.proxy.tcp.FreePorts;
import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.StoreException;
import io.picotunnel.server.tls.CertificateStatus;
import io.picotunnel.server.tunnel.TunnelPresence;
import io.picotunnel.server.ui.UiAssets;
import jakarta.servlet.DispatcherType;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The management port ({@code --listen-addr}): the REST API under {@code /api} behind {@link ManagementAuth}
 * (Bearer admin token or a signed-in session), the sign-in routes under {@code /auth}, the web UI at {@code /}
 * ({@link UiAssets}), and {@code GET /health} open to all. Every API error is JSON {@code {"error", "message"}}.
 */
public final class ApiServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** {@code Retry-After} of the 503 when another program holds the database locked past the busy timeout. */
    static final Duration DATABASE_BUSY_RETRY = Duration.ofSeconds(5);

    private final Javalin app;

    private ApiServer(Javalin app) {
        this.app = app;
    }

    /**
     * Starts listening on {@code address}. {@code reserved} are the server's own listen addresses (no tcp service may
     * take them). Throws Javalin's exception when the port cannot be bound.
     */
    public static ApiServer start(HostPort address, Store store, TunnelPresence presence, ManagementAuth auth,
                                  UiAssets ui, List<ReservedAddress> reserved) {
        return start(address, store, presence, auth, ui, reserved, service -> CertificateStatus.NOT_APPLICABLE);
    }

    /** As above; {@code certificates} gives the certificate fields of each service's JSON. */
    public static ApiServer start(HostPort address, Store store, TunnelPresence presence, ManagementAuth auth,
                                  UiAssets ui, List<ReservedAddress> reserved,
                                  Function<Service, CertificateStatus> certificates) {
        return start(address, store, presence, auth, ui, reserved, certificates, Limits.DEFAULTS);
    }

    /**
     * As above, within {@code limits}: connections (total, per address, header deadline), tunnels, services and the
     * ports of tcp services.
     */
    public static ApiServer start(HostPort address, Store store, TunnelPresence presence, ManagementAuth auth,
                                  UiAssets ui, List<ReservedAddress> reserved,
                                  Function<Service, CertificateStatus> certificates, Limits limits) {
        return start(address, store, presence, auth, ui, reserved, certificates, limits, requestHost -> Map.of(),
                service -> service.enabled() ? ServiceActivity.ACTIVE : ServiceActivity.DISABLED, ApiHooks.NONE);
    }

    /** As above, with the default limits; {@code hooks} add routes and fields (monitoring). */
    public static ApiServer start(HostPort address, Store store, TunnelPresence presence, ManagementAuth auth,
                                  UiAssets ui, List<ReservedAddress> reserved,
                                  Function<Service, CertificateStatus> certificates, ApiHooks hooks) {
        return start(address, store, presence, auth, ui, reserved, certificates, Limits.DEFAULTS,
                requestHost -> Map.of(),
                service -> service.enabled() ? ServiceActivity.ACTIVE : ServiceActivity.DISABLED, hooks);
    }

    /**
     * As above; {@code serverInfo} answers {@code GET /api/server} (what the UI shows about the server: the tunnel
     * address clients use, the domain, the proxy ports, the image prefix), given the host name the browser used;
     * {@code activity} gives each service's {@code active} and {@code error}; {@code hooks} add routes and fields
     * (monitoring).
     */
    public static ApiServer start(HostPort address, Store store, TunnelPresence presence, ManagementAuth auth,
                                  UiAssets ui, List<ReservedAddress> reserved,
                                  Function<Service, CertificateStatus> certificates, Limits limits,
                                  Function<String, Map<String, Object>> serverInfo,
                                  Function<Service, ServiceActivity> activity, ApiHooks hooks) {
        ApiJson json = new ApiJson(presence, certificates, activity, hooks);
        TunnelRoutes tunnels = new TunnelRoutes(store, presence, json, limits.maxTunnels(), hooks);
        ServiceRoutes services = new ServiceRoutes(store,
                new ServiceInput(reserved, limits.tcpPorts(), auth.oidcProvider().isPresent()),
                new FreePorts(limits.tcpPorts(), reserved.stream().map(ReservedAddress::address).toList()), json,
                limits.maxServices(), hooks);
        Javalin app = Javalin.create(config -> {
            configureServer(config, address);
            // First: the answers the guard refuses (401, 403, 421, 429) carry them too.
            List<String> guarded = hooks.guardedPaths();
            config.routes.before(ctx -> commonHeaders(ctx, guarded));
            config.routes.before(ApiServer::refuseUndecodable);
            auth.install(config);
            guarded.forEach(path -> auth.guard(config, path));
            hooks.publicPaths().forEach(auth::allowAnonymous);
            ui.install(config);
            getAndHead(config, "/health", ctx -> health(ctx, presence));
            getAndHead(config, "/api/server", ctx -> Responses.json(ctx, 200,
                    JsonBody.MAPPER.valueToTree(serverInfo.apply(requestHost(ctx)))));
            getAndHead(config, "/api/tunnels", tunnels::list);
            config.routes.post("/api/tunnels", tunnels::create);
            getAndHead(config, "/api/tunnels/{id}", tunnels::get);
            config.routes.patch("/api/tunnels/{id}", tunnels::update);
            config.routes.delete("/api/tunnels/{id}", tunnels::delete);
            config.routes.post("/api/tunnels/{id}/regenerate", tunnels::regenerate);
            getAndHead(config, "/api/tunnels/{id}/services", services::list);
            getAndHead(config, "/api/services", services::listAll);
            config.routes.post("/api/tunnels/{id}/services", services::create);
            config.routes.patch("/api/services/{id}", services::update);
            config.routes.delete("/api/services/{id}", services::delete);
            hooks.routes(config);
            configureErrors(config);
        });
        app.start();
        ApiConnectionGuard.install(app.jettyServer().server(), limits, auth.trustedProxies());
        app.jettyServer().server().setErrorHandler(new JsonErrorPages());
        return new ApiServer(app);
    }

    /**
     * Routes GET {@code path} to {@code handler}, and HEAD too, so that HEAD answers as GET would without the body
     * (RFC 9110). On its own, Javalin answers HEAD on a GET path with an empty 200 {@code text/plain} and runs no
     * handler: 200 for a tunnel that does not exist. Only for reads without side effects.
     */
    public static void getAndHead(JavalinConfig config, String path, Handler handler) {
        config.routes.get(path, handler);
        config.routes.head(path, handler);
    }

    /** The host name the browser used (Host header without the port), for addresses the UI shows. */
    private static String requestHost(Context ctx) {
        String host = ctx.host();
        if (host == null || host.isEmpty()) {
            return "localhost";
        }
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end > 0 ? host.substring(1, end) : host;
        }
        int colon = host.lastIndexOf(':');
        return colon > 0 ? host.substring(0, colon) : host;
    }

    /** A listen address of the server itself, with the flag that sets it. */
    public record ReservedAddress(HostPort address, String setting) {
    }

    private static void configureServer(JavalinConfig config, HostPort address) {
        config.startup.showJavalinBanner = false;
        config.startup.showOldJavalinVersionWarning = false;
        config.http.prefer405over404 = true;
        config.http.maxRequestSize = JsonBody.MAX_BYTES;
        config.jetty.host = address.host().isEmpty() ? null : address.host();
        config.jetty.port = address.port();
        // Javalin's own connector, but for the lingering close after Jetty's answers to a head it refuses.
        config.jetty.addConnector((server, http) -> {
            ServerConnector connector = new ServerConnector(server, new LingeringHttpConnection.Factory(http,
                    LimitedBody.DROP_TIME));
            connector.setHost(config.jetty.host);
            connector.setPort(config.jetty.port);
            return connector;
        });
        config.jetty.modifyServletContextHandler(handler -> {
            // First: the outermost, so it runs after every other answer.
            handler.addFilter(new FilterHolder(new UnreadBodyDrain(LimitedBody.DROP_TIME)), "/*", EnumSet.of(DispatcherType.REQUEST));
            handler.addFilter(new FilterHolder(new NoWebSocketUpgrades()), "/*", EnumSet.of(DispatcherType.REQUEST));
        });
        config.requestLogger.http((ctx, millis) ->
                log.debug("{} {} {} {}ms", ctx.method(), ctx.path(), ctx.status().getCode(), Math.round(millis)));
    }

    private static void configureErrors(JavalinConfig config) {
        config.routes.exception(ApiError.class, (error, ctx) -> writeError(ctx, error));
        config.routes.exception(ServiceConflictException.class, (conflict, ctx) ->
                writeError(ctx, ApiError.conflict(conflict.getMessage(), null)));
        config.routes.exception(HttpResponseException.class, (e, ctx) -> {
            if (e.getStatus() == 405) {
                // Javalin names the methods the path takes (in its only detail); RFC 9110 wants them in Allow.
                String allowed = String.join(", ", e.getDetails().values().stream().findFirst().stream()
                        .flatMap(methods -> java.util.Arrays.stream(methods.split(","))).map(String::strip)
                        .filter(method -> !method.isEmpty()).toList());
                ctx.header("Allow", allowed);
                writeError(ctx, new ApiError(405, code(405), ctx.method() + " is not allowed on " + ctx.path()
                        + (allowed.isEmpty() ? "" : "; it takes " + allowed), null));
                return;
            }
            writeError(ctx, new ApiError(e.getStatus(), code(e.getStatus()), e.getMessage(), null));
        });
        config.routes.exception(StoreException.class, (e, ctx) -> {
            if (e.diskFull()) {
                log.warn("{} {}: the disk of the database is full: {}", ctx.method(), ctx.path(), e.getMessage());
                writeError(ctx, new ApiError(507, ApiErrorCodes.DISK_FULL,
                        "the server's disk (where its database is) is full;"
                        + " nothing was changed; free some space there and try again", null));
                return;
            }
            if (!e.busy()) {
                internalError(e, ctx);
                return;
            }
            ctx.header("Retry-After", Long.toString(DATABASE_BUSY_RETRY.toSeconds()));
            if (e.readConnectionsHeld()) {
                log.warn("{} {}: the database is busy (other reads of this server held every read connection): {}",
                        ctx.method(), ctx.path(), e.getMessage());
                writeError(ctx, new ApiError(503, ApiErrorCodes.DATABASE_BUSY, "the database is busy (all "
                        + Database.READ_CONNECTIONS + " of the server's read connections were held by other reads, such"
                        + " as long listings or exports, for " + Durations.format(Database.READ_WAIT) + "); nothing"
                        + " was changed; try again once they end", null));
                return;
            }
            // The write lock may be held in this process too (a long task such as pruning old checks), not only by
            // another program: the message names both.
            log.warn("{} {}: the database is busy (another program, or a long task of this server): {}", ctx.method(),
                    ctx.path(), e.getMessage());
            writeError(ctx, new ApiError(503, ApiErrorCodes.DATABASE_BUSY,
                    "the database is busy (locked by another program such"
                    + " as a sqlite3 shell in a transaction, or by a long task of this server such as pruning old"
                    + " checks); nothing was changed; try again once it lets go", null));
        });
        config.routes.exception(Exception.class, ApiServer::internalError);
    }

    private static void internalError(Exception e, Context ctx) {
        log.error("{} {} failed", ctx.method(), ctx.path(), e);
        writeError(ctx, new ApiError(500, AccessErrorCodes.INTERNAL_ERROR, "the server failed to handle this request; see its log", null));
    }

    /**
     * Headers of every answer of the management port: the UI's security headers ({@link UiAssets#SECURITY_HEADERS});
     * {@code Vary: Accept-Encoding}, since Javalin gzips any answer over 1,500 bytes to a client that takes gzip (the
     * API's lists, the metrics), so that a cache in between never hands a gzipped answer to a client that did not ask
     * for it; and, for the API, the sign-in routes and the {@code guarded} paths (the metrics behind the admin token),
     * {@code Cache-Control: no-store}: their answers hold tunnel tokens (create, regenerate), the configuration and
     * what the server carries, which no browser or proxy cache should keep.
     */
    private static void commonHeaders(Context ctx, List<String> guarded) {
        UiAssets.SECURITY_HEADERS.forEach(ctx::header);
        ctx.header("Vary", "Accept-Encoding");
        String path = ctx.path();
        if (path.startsWith("/api/") || path.equals("/api") || path.startsWith("/auth/") || guarded.contains(path)) {
            ctx.header("Cache-Control", "no-store");
        }
    }

    /**
     * A 400 for a path Javalin cannot decode: Jetty lets UTF-16 escapes such as {@code %u0041} through (Javalin asks
     * for its LEGACY URI compliance), and Javalin's decoding of a path parameter ({@code /api/tunnels/%u0041}) then
     * threw in the route, a 500. Likewise for the API's query parameters, whose undecodable values Javalin drops
     * without a word: {@code ?service_id=%ZZ} answered the whole tunnel's checks. Hex in ASCII only
     * ({@link PercentEscapes}): on Java 21 Javalin's decoding read {@code %٤١} as {@code A}.
     */
    private static void refuseUndecodable(Context ctx) {
        try {
            PercentEscapes.decodeForm(ctx.path());
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(ApiErrorCodes.BAD_REQUEST,
                    "the path has a '%' that is not followed by two hex digits");
        }
        String query = ctx.queryString();
        if (query == null || !ctx.path().startsWith("/api/")) {
            return;
        }
        for (String parameter : query.split("&")) {
            try {
                PercentEscapes.decodeForm(parameter);
            } catch (IllegalArgumentException e) {
                String name = parameter.split("=", 2)[0];
                throw new ApiError(400, ApiErrorCodes.INVALID_PARAMETER,
                        "the query parameter " + ControlCharacters.quoted(name)
                        + " has a '%' that is not followed by two hex digits", name);
            }
        }
    }

    /** The {@code error} of an answer with {@code status}: its reason phrase in snake_case. */
    static String code(int status) {
        HttpStatus known = HttpStatus.forStatus(status);
        return known == HttpStatus.UNKNOWN ? "error" : known.getMessage().toLowerCase(Locale.ROOT).replace(' ', '_');
    }

    /**
     * Answers {@code error}; or, when the answer had begun (a {@link StreamedJson} whose first bytes were sent), cuts
     * it short: its status is sent already, and an error written after its bytes would end it as if whole.
     */
    private static void writeError(Context ctx, ApiError error) {
        if (StreamedJson.begun(ctx)) {
            log.warn("{} {}: the answer had begun, so it is cut short (its connection closed before its end) instead of"
                    + " answered {} {}", ctx.method(), ctx.path(), error.status(), error.error());
            StreamedJson.abort(ctx, error);
            return;
        }
        Responses.json(ctx, error.status(), ApiJson.error(error));
    }

    private static void health(Context ctx, TunnelPresence presence) {
        ObjectNode json = JsonBody.MAPPER.createObjectNode();
        json.put("status", "ok");
        json.put("timestamp", Rfc3339.format(Rfc3339.now()));
        json.put("version", Version.get());
        json.put("connected_tunnels", presence.connectedCount());
        Responses.json(ctx, 200, json);
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }
}
