package io.picotunnel.server.api;

import io.picotunnel.protocol.text.ControlCharacters;

import java.util.OptionalInt;

/**
 * Characters a name must not contain because they do not show as themselves: controls (Unicode category Cc,
 * C0 and C1), formatting characters (Cf: the bidirectional overrides and isolates such as U+202E, which make
 * {@code exe.txt} of {@code txt.exe}, the zero-width space, joiners and byte order mark U+FEFF), line and paragraph
 * separators, and unpaired surrogates. A name with one looks like another name in the UI and the logs.
 *
 * <p>Identifiers (path prefixes, user names, emails, groups) allow none of them ({@link #first}). Labels people
 * write in their own language (tunnel names, {@link #firstInLabel}) allow the few that belong to ordinary spelling.
 */
public final class HiddenCharacters {

    private static final int ZERO_WIDTH_NON_JOINER = 0x200C;
    private static final int ZERO_WIDTH_JOINER = 0x200D;
    private static final int VARIATION_SELECTOR_16 = 0xFE0F;
    private static final int WAVING_BLACK_FLAG = 0x1F3F4;
    private static final int FIRST_TAG = 0xE0020;
    private static final int LAST_TAG = 0xE007E;
    private static final int CANCEL_TAG = 0xE007F;

    private HiddenCharacters() {
    }

    /** The first such character of {@code text}, if any. */
    public static OptionalInt first(String text) {
        return ControlCharacters.firstHidden(text);
    }

    /**
     * The first such character of the label {@code text} that is not part of ordinary spelling, if any. Allowed: the
     * zero-width non-joiner U+200C and joiner U+200D between two letters or marks (Persian {@code سرویس‌ها}, Sinhala
     * {@code ශ්‍රී}, Malayalam, Bengali), the joiner between emoji ({@code 👩‍💻}), and the tag characters of a
     * subdivision flag (U+1F3F4, tags U+E0020 to U+E007E, cancel tag U+E007F: Scotland's flag). Anything else, and
     * these anywhere else (at the start or end, next to a space), counts.
     */
    public static OptionalInt firstInLabel(String text) {
        int[] codePoints = text.codePoints().toArray();
        for (int i = 0; i < codePoints.length; i++) {
            int c = codePoints[i];
            if (c == WAVING_BLACK_FLAG) {
                i = endOfTagSequence(codePoints, i + 1) - 1;
            } else if (ControlCharacters.isHidden(c) && !isJoinerInWord(codePoints, i)) {
                return OptionalInt.of(c);
            }
        }
        return OptionalInt.empty();
    }

    /** The message part for {@code codePoint}: {@code "control or invisible formatting character U+202E"}. */
    public static String describe(int codePoint) {
        return String.format("control or invisible formatting character U+%04X", codePoint);
    }

    private static boolean isJoinerInWord(int[] codePoints, int i) {
        int c = codePoints[i];
        if (c != ZERO_WIDTH_NON_JOINER && c != ZERO_WIDTH_JOINER || i == 0 || i == codePoints.length - 1) {
            return false;
        }
        int before = codePoints[i - 1];
        int after = codePoints[i + 1];
        if (isLetterOrMark(before) && isLetterOrMark(after)) {
            return true;
        }
        return c == ZERO_WIDTH_JOINER && endsEmoji(before) && Character.isExtendedPictographic(after);
    }

    private static boolean isLetterOrMark(int codePoint) {
        return Character.isLetter(codePoint) || switch (Character.getType(codePoint)) {
            case Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK, Character.ENCLOSING_MARK -> true;
            default -> false;
        };
    }

    /** An emoji, or the emoji presentation selector or skin tone modifier that ends one ({@code ❤️}, {@code 👩🏽}). */
    private static boolean endsEmoji(int codePoint) {
        return Character.isExtendedPictographic(codePoint) || Character.isEmojiModifier(codePoint)
                || codePoint == VARIATION_SELECTOR_16;
    }

    /**
     * Where the tag sequence of a flag starting at {@code from} ends (one or more tags, then the cancel tag), or
     * {@code from} when there is none there, so that its tags count as hidden.
     */
    private static int endOfTagSequence(int[] codePoints, int from) {
        int i = from;
        while (i < codePoints.length && codePoints[i] >= FIRST_TAG && codePoints[i] <= LAST_TAG) {
            i++;
        }
        return i > from && i < codePoints.length && codePoints[i] == CANCEL_TAG ? i + 1 : from;
    }
}
