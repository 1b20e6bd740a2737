package io.picotunnel.server.auth;

import java.util.Locale;

/** Reads the token of an {@code Authorization: Bearer <token>} header. */
final class BearerToken {

    private static final String BEARER = "bearer ";

    private BearerToken() {
    }

    /** The token, or null when the header is missing or of another scheme. The scheme is case-insensitive. */
    static String parse(String header) {
        if (header == null || header.length() <= BEARER.length()
                || !header.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
            return null;
        }
        String token = header.substring(BEARER.length()).strip();
        return token.isEmpty() ? null : token;
    }
}
