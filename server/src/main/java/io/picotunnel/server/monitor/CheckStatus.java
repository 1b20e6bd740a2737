package io.picotunnel.server.monitor;

import java.util.Locale;

/** The result of one check. */
public enum CheckStatus {
    UP, DOWN;

    public String json() {
        return name().toLowerCase(Locale.ROOT);
    }

    static CheckStatus parse(String text) {
        return valueOf(text.toUpperCase(Locale.ROOT));
    }
}
