package io.picotunnel.server.net;

import java.time.Duration;
import java.util.Map;

/**
 * The {@code Retry-After} of the server's answers that ask to come back in a moment: the HTTP proxy's own (its pages,
 * its password gate's), the tunnel endpoint's refusal of an upgrade while it drains, and the server's help that names
 * them. Here, below the proxy, its access checks and the tunnel endpoint, as all three answer with it.
 */
public final class RetryAfter {

    /**
     * The {@code Retry-After} of the pages that ask to try again in a moment (a client that stopped, a busy tunnel,
     * the server stopping): a client restarted is back within seconds, and a tunnel's requests come and go faster.
     */
    public static final Duration IN_A_MOMENT = Duration.ofSeconds(5);
    /** {@link #IN_A_MOMENT} as the headers of an access check's answer give it: {@code Retry-After: 5}. */
    public static final Map<String, String> IN_A_MOMENT_HEADERS =
            Map.of("Retry-After", Long.toString(IN_A_MOMENT.toSeconds()));

    private RetryAfter() {
    }
}
