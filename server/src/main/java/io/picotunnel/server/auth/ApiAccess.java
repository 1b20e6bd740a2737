package io.picotunnel.server.auth;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.picotunnel.server.api.ApiError;

import java.util.Locale;

/**
 * Guards the API: a request needs {@code Authorization: Bearer <admin token>}, compared in constant time, unless
 * authentication was turned off explicitly ({@code PICOTUNNEL_AUTH=none}).
 */
public final class ApiAccess implements Handler {

    private static final String BEARER = "bearer ";

    private final String adminToken;

    private ApiAccess(String adminToken) {
        this.adminToken = adminToken;
    }

    public static ApiAccess adminToken(String token) {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("an admin token is required");
        }
        return new ApiAccess(token);
    }

    /** Lets every request through: only for {@code PICOTUNNEL_AUTH=none}. */
    public static ApiAccess open() {
        return new ApiAccess(null);
    }

    public boolean isOpen() {
        return adminToken == null;
    }

    @Override
    public void handle(Context ctx) {
        if (isOpen() || Secrets.matches(bearerToken(ctx.header("Authorization")), adminToken)) {
            return;
        }
        ctx.header("WWW-Authenticate", "Bearer realm=\"picotunnel\"");
        throw new ApiError(401, "unauthorized",
                "this API needs the header 'Authorization: Bearer <admin token>' with a valid admin token", null);
    }

    static String bearerToken(String header) {
        if (header == null || header.length() <= BEARER.length()
                || !header.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
            return null;
        }
        return header.substring(BEARER.length()).strip();
    }
}
