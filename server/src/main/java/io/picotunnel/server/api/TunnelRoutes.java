package io.picotunnel.server.api;

import io.javalin.http.Context;
import io.picotunnel.server.store.LimitReachedException;
import io.picotunnel.server.store.RegeneratedToken;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.tunnel.TunnelPresence;

import java.util.Optional;
import java.util.Set;

/** {@code /api/tunnels}: list, create, get, rename, delete, regenerate the token. */
final class TunnelRoutes {

    static final Set<String> WRITABLE = Set.of("name");
    static final Set<String> READ_ONLY = Set.of("id", "token", "created_at", "updated_at", "connected", "connected_since",
            "last_seen_at", "clients");
    private static final int MAX_NAME = 100;

    private final Store store;
    private final TunnelPresence presence;
    private final ApiJson json;
    private final int maxTunnels;
    private final ApiHooks hooks;
    private final Set<String> readOnly;
    private final Set<String> writable;

    TunnelRoutes(Store store, TunnelPresence presence, ApiJson json, int maxTunnels, ApiHooks hooks) {
        this.store = store;
        this.presence = presence;
        this.json = json;
        this.maxTunnels = maxTunnels;
        this.hooks = hooks;
        Set<String> ignored = new java.util.HashSet<>(READ_ONLY);
        ignored.addAll(hooks.readOnlyFields());
        this.readOnly = Set.copyOf(ignored);
        Set<String> fields = new java.util.HashSet<>(WRITABLE);
        fields.addAll(hooks.tunnelFields());
        this.writable = Set.copyOf(fields);
    }

    void list(Context ctx) {
        Responses.json(ctx, 200, json.array(store.tunnels(), json::tunnel));
    }

    void create(Context ctx) {
        JsonBody body = JsonBody.read(ctx, writable, readOnly);
        String name = name(body.string("name"));
        hooks.checkTunnel(body.object());
        Tunnel tunnel;
        try {
            tunnel = store.createTunnel(name, maxTunnels);
        } catch (LimitReachedException e) {
            throw ApiError.limitReached("This server holds " + maxTunnels + " tunnels, its most"
                    + " (PICOTUNNEL_MAX_TUNNELS). Delete a tunnel you no longer need, or have the operator raise the limit.");
        }
        hooks.tunnelSaved(tunnel, body.object());
        Responses.json(ctx, 201, json.tunnel(tunnel));
    }

    void get(Context ctx) {
        Responses.json(ctx, 200, json.tunnel(existing(ctx.pathParam("id"))));
    }

    void update(Context ctx) {
        String id = ctx.pathParam("id");
        JsonBody body = JsonBody.read(ctx, writable, readOnly);
        String name = body.has("name") ? name(body.string("name")) : null;
        hooks.checkTunnel(body.object());
        Optional<Tunnel> saved;
        if (name != null) {
            saved = store.renameTunnel(id, name);
        } else if (hooks.tunnelFields().stream().anyMatch(body::has)) {
            saved = store.touchTunnel(id);
        } else {
            saved = store.tunnel(id);
        }
        Tunnel tunnel = saved.orElseThrow(() -> ApiError.notFound("tunnel", id));
        hooks.tunnelSaved(tunnel, body.object());
        Responses.json(ctx, 200, json.tunnel(tunnel));
    }

    void delete(Context ctx) throws ServiceConflictException {
        String id = ctx.pathParam("id");
        if (!store.deleteTunnel(id)) {
            throw ApiError.notFound("tunnel", id);
        }
        hooks.tunnelDeleted(id);
        presence.disconnect(id);
        ctx.status(204);
    }

    /** A new token; the clients still connected with the old one are dropped at once. */
    void regenerate(Context ctx) {
        String id = ctx.pathParam("id");
        RegeneratedToken regenerated = store.regenerateToken(id).orElseThrow(() -> ApiError.notFound("tunnel", id));
        Tunnel tunnel = regenerated.tunnel();
        // Not every client: one may have come already with the token of a regenerate that overtook this one.
        presence.disconnect(id, regenerated.replacedTokenSha256());
        hooks.tokenRegenerated(tunnel);
        Responses.json(ctx, 200, json.tunnel(tunnel));
    }

    private Tunnel existing(String id) {
        return store.tunnel(id).orElseThrow(() -> ApiError.notFound("tunnel", id));
    }

    private static String name(String value) {
        if (value == null || value.isBlank()) {
            throw ApiError.invalidField("name", "is required, for example \"my-app\"");
        }
        String name = value.strip();
        if (name.length() > MAX_NAME) {
            throw ApiError.invalidField("name", "is longer than " + MAX_NAME + " characters");
        }
        HiddenCharacters.firstInLabel(name).ifPresent(c -> {
            throw ApiError.invalidField("name", "must not contain the " + HiddenCharacters.describe(c));
        });
        return name;
    }
}
