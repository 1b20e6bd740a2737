package io.picotunnel.server.api;

import java.util.OptionalInt;

/**
 * Characters a name must not contain because they do not show as themselves: controls (Unicode category Cc,
 * C0 and C1), formatting characters (Cf: the bidirectional overrides and isolates such as U+202E, which make
 * {@code exe.txt} of {@code txt.exe}, the zero-width space, joiners and byte order mark U+FEFF), line and paragraph
 * separators, and unpaired surrogates. A name with one looks like another name in the UI and the logs.
 */
public final class HiddenCharacters {

    private HiddenCharacters() {
    }

    /** The first such character of {@code text}, if any. */
    public static OptionalInt first(String text) {
        return text.codePoints().filter(HiddenCharacters::isHidden).findFirst();
    }

    /** The message part for {@code codePoint}: {@code "control or invisible formatting character U+202E"}. */
    public static String describe(int codePoint) {
        return String.format("control or invisible formatting character U+%04X", codePoint);
    }

    /** Whether {@code codePoint} is one of these characters. */
    public static boolean isHidden(int codePoint) {
        return switch (Character.getType(codePoint)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SURROGATE -> true;
            default -> false;
        };
    }
}
