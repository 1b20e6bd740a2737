package io.picotunnel.protocol.idna;

import io.picotunnel.protocol.text.ControlCharacters;

import java.net.IDN;
import java.text.Normalizer;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.picotunnel.protocol.text.ControlCharacters.quoted;

/**
 * A host name beyond ASCII in its ASCII form, as UTS #46 nontransitional processing (IDNA2008) gives it: what Go's
 * {@code idna.Lookup}, browsers and curl send, and what registries register. {@link IDN} implements IDNA2003,
 * which maps {@code ß} to {@code ss} and final {@code ς} to {@code σ}: {@code straße.example} became
 * {@code strasse.example}, another host. Apart from these two and the joiners (refused), UTS #46 maps the characters
 * IDNA2003 knows (Unicode 3.2) as IDNA2003 does; so a label with {@code ß} or {@code ς} is mapped around them and
 * encoded here, and every other label goes through {@link IDN}.
 */
public final class Idna {

    private static final int MAX_LABEL_LENGTH = 63;

    private Idna() {
    }

    /** {@code name} in its ASCII form; throws with a sentence for a user when it cannot be converted. */
    public static String toAscii(String name) {
        if (name.chars().allMatch(c -> c < 128)) {
            return name;
        }
        refuseJoiners(name);
        List<String> labels = labels(name);
        labels.forEach(Idna::refuseNonLdh);
        if (name.chars().noneMatch(Idna::isDeviation)) {
            return idn(name, name);
        }
        return String.join(".", labels.stream().map(Idna::label).toList());
    }

    /** {@code name} split at its dots, an empty label after a trailing one. */
    private static List<String> labels(String name) {
        List<String> labels = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= name.length(); i++) {
            if (i == name.length() || isDot(name.charAt(i))) {
                labels.add(name.substring(start, i));
                start = i + 1;
            }
        }
        return labels;
    }

    /**
     * Refuses in a label beyond ASCII an ASCII character other than a letter, digit or hyphen, or a character
     * mapped to one ({@code ＿} is {@code _}): the STD3 rules UTS #46 lookups (Go's {@code idna.Lookup}) apply.
     * {@link IDN} without them encodes {@code bü cher} as {@code xn--b cher-3ya}, a name nothing resolves.
     * A label all ASCII is left as it is, as {@link IDN} leaves it.
     */
    private static void refuseNonLdh(String label) {
        if (label.chars().allMatch(c -> c < 128)) {
            return;
        }
        for (int i = 0; i < label.length(); i += Character.charCount(label.codePointAt(i))) {
            int c = label.codePointAt(i);
            String mapped = c < 128 ? Character.toString(c) : Normalizer.normalize(Character.toString(c), Normalizer.Form.NFKC);
            if (mapped.chars().anyMatch(m -> m < 128 && !isLdh(m))) {
                throw new IllegalArgumentException("its label " + quoted(label) + " has " + describe(c)
                        + (c < 128 ? "" : ", which stands for '" + mapped + "'")
                        + ": a label beyond ASCII may have no ASCII characters but letters, digits and hyphens");
            }
        }
    }

    private static boolean isLdh(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-';
    }

    /** A character for a user: itself in quotes where it can be seen, and its code point and Unicode name. */
    public static String describe(int c) {
        String code = String.format(Locale.ROOT, "U+%04X", c)
                + (Character.getName(c) == null ? "" : " " + Character.getName(c));
        boolean visible = !Character.isISOControl(c) && !Character.isWhitespace(c) && !Character.isSpaceChar(c);
        return visible ? "'" + Character.toString(c) + "' (" + code + ")" : code;
    }

    private static boolean isDeviation(int c) {
        return c == '\u00df' || c == '\u03c2';
    }

    /** The dots IDNA separates labels by (RFC 3490, 3.1). */
    private static boolean isDot(char c) {
        return c == '.' || c == '\u3002' || c == '\uff0e' || c == '\uff61';
    }

    /**
     * IDNA2008 keeps a zero-width joiner or non-joiner only after a virama or between letters that join (RFC 5892,
     * appendix A), which takes Unicode data Java does not give; IDNA2003 drops them, and so names another host.
     */
    private static void refuseJoiners(String name) {
        for (char c : new char[] {'\u200c', '\u200d'}) {
            if (name.indexOf(c) >= 0) {
                throw new IllegalArgumentException(String.format("it has U+%04X %s", (int) c,
                        c == '\u200c' ? "ZERO WIDTH NON-JOINER" : "ZERO WIDTH JOINER")
                        + ", which PicoTunnel does not convert; give the name in its xn-- form");
            }
        }
    }

    private static String label(String label) {
        if (label.chars().noneMatch(Idna::isDeviation)) {
            return idn(label, label);
        }
        if (label.regionMatches(true, 0, "xn--", 0, 4)) {
            throw new IllegalArgumentException("its label " + quoted(label) + " starts with xn-- and is not ASCII");
        }
        StringBuilder mapped = new StringBuilder();
        int start = 0;
        for (int i = 0; i <= label.length(); i++) {
            if (i == label.length() || isDeviation(label.charAt(i))) {
                mapped.append(mapped(label.substring(start, i), label));
                if (i < label.length()) {
                    mapped.append(label.charAt(i));
                }
                start = i + 1;
            }
        }
        String ascii = "xn--" + Punycode.encode(Normalizer.normalize(mapped, Normalizer.Form.NFC));
        if (ascii.length() > MAX_LABEL_LENGTH) {
            throw new IllegalArgumentException("its label " + quoted(label) + " is longer than " + MAX_LABEL_LENGTH
                    + " characters in its xn-- form");
        }
        return ascii;
    }

    /**
     * A run of a label between deviation characters, checked and mapped as IDNA2003 does (case folded, NFKC, some
     * characters dropped), which is what UTS #46 does to them. ß and ς compose with nothing, so the runs map apart as
     * they would together. The {@code a} appended keeps a run that maps to nothing from being refused as an empty
     * label, and changes nothing else: it is lower-case, the second of no composition, and left-to-right as ß and ς
     * are, so that a right-to-left run is refused as the whole label is (RFC 5893).
     */
    private static String mapped(String run, String label) {
        if (run.chars().allMatch(c -> c < 128)) {
            return lowerAscii(run);
        }
        String unicode = IDN.toUnicode(idn(lowerAscii(run) + "a", label));
        return unicode.substring(0, unicode.length() - 1);
    }

    private static String lowerAscii(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.chars().forEach(c -> out.append((char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c)));
        return out.toString();
    }

    private static String idn(String text, String label) {
        try {
            return IDN.toASCII(text);
        } catch (IllegalArgumentException e) {
            String reason = e.getCause() instanceof ParseException p ? p.getMessage() : e.getMessage();
            throw new IllegalArgumentException("PicoTunnel converts names beyond ASCII as IDNA2003 (Unicode 3.2)"
                    + " does, which refuses " + quoted(label) + " (" + ControlCharacters.bounded(reason) + "); if the name"
                    + " is valid, give it in its xn-- form", e);
        }
    }
}
