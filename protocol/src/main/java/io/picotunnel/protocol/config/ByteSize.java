package io.picotunnel.protocol.config;

import io.picotunnel.protocol.text.ControlCharacters;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes in settings, such as {@code 16MiB}, {@code 512KiB}, {@code 1GiB} or a plain number of bytes. */
public final class ByteSize {

    private static final Pattern SIZE = Pattern.compile("(\\d{1,10})\\s*([kmg](?:i?b)?)?");

    private ByteSize() {
    }

    /** The number of bytes; throws {@link IllegalArgumentException} with a sentence when {@code text} is no size. */
    public static long parse(String text) {
        Matcher matcher = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " is not a size such as 16MiB, 512KiB or 65536");
        }
        long amount = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "" : matcher.group(2).substring(0, 1);
        int shift = switch (unit) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
        if (amount > Long.MAX_VALUE >> shift) {
            // Shifted, it would wrap around to a negative number of bytes.
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " is too large a size");
        }
        return amount << shift;
    }
}
