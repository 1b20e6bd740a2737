package io.picotunnel.server.access;

import java.text.Normalizer;

/**
 * User names and passwords of basic-auth services in Unicode's composed form (NFC), as RFC 7613 prepares them: a
 * macOS keyboard sends "e" followed by a combining accent where others send "é", and the visitor types the same name.
 */
public final class UnicodeNames {

    private UnicodeNames() {
    }

    public static String composed(String text) {
        return text == null || Normalizer.isNormalized(text, Normalizer.Form.NFC) ? text
                : Normalizer.normalize(text, Normalizer.Form.NFC);
    }
}
