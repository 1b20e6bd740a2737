package io.picotunnel.bench.dataplane;

import java.util.Locale;

/** How the bytes of a benchmark travel between its two sides. */
public enum Path {
    /** The baseline: one plain loopback TCP connection per stream. */
    DIRECT,
    /** PicoTunnel: one yamux stream per stream, all over one loopback TCP connection (CLIENT to SERVER). */
    YAMUX,
    /**
     * PicoTunnel end to end: one connection per stream to a tcp service of a server whose tunnel client (both
     * in this process, see {@code TunnelFixture}) forwards it to the receiving side.
     */
    TUNNEL;

    /** The value of a benchmark's {@code path} parameter. */
    public String paramValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Path of(String paramValue) {
        return valueOf(paramValue.toUpperCase(Locale.ROOT));
    }
}
