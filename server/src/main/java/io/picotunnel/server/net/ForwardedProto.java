package io.picotunnel.server.net;

import java.util.Locale;

/** The scheme a front proxy that ends TLS names in {@code X-Forwarded-Proto}. */
public final class ForwardedProto {

    private ForwardedProto() {
    }

    /**
     * The scheme the header's first line names for the visitor: its first value (proxies in a chain append theirs),
     * {@code "https"} or {@code "http"} in lower case; null for none or anything else.
     */
    public static String scheme(String header) {
        if (header == null) {
            return null;
        }
        int comma = header.indexOf(',');
        String scheme = (comma < 0 ? header : header.substring(0, comma)).strip().toLowerCase(Locale.ROOT);
        return scheme.equals("https") || scheme.equals("http") ? scheme : null;
    }
}
