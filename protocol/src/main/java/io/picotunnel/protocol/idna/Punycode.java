package io.picotunnel.protocol.idna;

import io.picotunnel.protocol.text.ControlCharacters;

/** The encoder of RFC 3492 (section 6.3): a label's code points as the ASCII that follows {@code xn--}. */
final class Punycode {

    private static final int BASE = 36;
    private static final int TMIN = 1;
    private static final int TMAX = 26;
    private static final int SKEW = 38;
    private static final int DAMP = 700;
    private static final int INITIAL_BIAS = 72;
    private static final int INITIAL_N = 0x80;

    private Punycode() {
    }

    /** {@code label} encoded: its ASCII as it is, a {@code -} after it if there is any, then the rest as digits. */
    static String encode(String label) {
        int[] codePoints = label.codePoints().toArray();
        StringBuilder out = new StringBuilder();
        for (int c : codePoints) {
            if (c < INITIAL_N) {
                out.append((char) c);
            }
        }
        int basic = out.length();
        int handled = basic;
        if (basic > 0) {
            out.append('-');
        }
        int n = INITIAL_N;
        long delta = 0;
        int bias = INITIAL_BIAS;
        while (handled < codePoints.length) {
            int next = Integer.MAX_VALUE;
            for (int c : codePoints) {
                if (c >= n && c < next) {
                    next = c;
                }
            }
            delta += (long) (next - n) * (handled + 1);
            n = next;
            for (int c : codePoints) {
                if (c < n) {
                    delta++;
                }
                if (delta > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(ControlCharacters.quoted(label) + " is too long for punycode");
                }
                if (c == n) {
                    int q = (int) delta;
                    for (int k = BASE; ; k += BASE) {
                        int t = k <= bias ? TMIN : Math.min(k - bias, TMAX);
                        if (q < t) {
                            break;
                        }
                        out.append(digit(t + (q - t) % (BASE - t)));
                        q = (q - t) / (BASE - t);
                    }
                    out.append(digit(q));
                    bias = adapt((int) delta, handled + 1, handled == basic);
                    delta = 0;
                    handled++;
                }
            }
            delta++;
            n++;
        }
        return out.toString();
    }

    private static int adapt(int delta, int points, boolean first) {
        delta = first ? delta / DAMP : delta / 2;
        delta += delta / points;
        int k = 0;
        while (delta > ((BASE - TMIN) * TMAX) / 2) {
            delta /= BASE - TMIN;
            k += BASE;
        }
        return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
    }

    private static char digit(int d) {
        return (char) (d < 26 ? 'a' + d : '0' + d - 26);
    }
}
