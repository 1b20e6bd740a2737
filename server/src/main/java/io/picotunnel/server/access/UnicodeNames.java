package io.picotunnel.server.access;

import java.text.Normalizer;
import java.util.Locale;

/**
 * User names and passwords of basic-auth services in Unicode's composed form (NFC), as RFC 7613 prepares them: a
 * macOS keyboard sends "e" followed by a combining accent where others send "é", and the visitor types the same name.
 * Emails of the OIDC allow lists are compared the same way ({@link #comparableEmail}).
 */
public final class UnicodeNames {

    private UnicodeNames() {
    }

    public static String composed(String text) {
        return text == null || Normalizer.isNormalized(text, Normalizer.Form.NFC) ? text
                : Normalizer.normalize(text, Normalizer.Form.NFC);
    }

    /**
     * An email as allow lists compare it: composed and in lower case, so "José@example.com" typed on a Mac (an "e"
     * and a combining accent) and the provider's "josé@example.com" are one address.
     */
    public static String comparableEmail(String email) {
        return email == null ? null : composed(email.toLowerCase(Locale.ROOT));
    }
}
