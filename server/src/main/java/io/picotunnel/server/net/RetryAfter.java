package io.picotunnel.server.net;

import java.time.Duration;
import java.util.Map;

/**
 * The {@code Retry-After} of the server's answers that ask to come back in a moment: the HTTP proxy's pages, its
 * password gate's answer while the server stops, the tunnel endpoint's refusal of an upgrade while it drains, and the
 * server's help that names them ({@link #IN_A_MOMENT}); and the password gate's answers while its checks are all
 * taken ({@link #PASSWORD_CHECKS_BUSY}). Here, below the proxy, its access checks and the tunnel endpoint, as all
 * three answer with them.
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

    /**
     * The {@code Retry-After} of the password gate's 429 {@code too_many_attempts} while the address's checks are all
     * taken and its 503 {@code busy} while the server's are: a check takes tens of milliseconds.
     */
    public static final Duration PASSWORD_CHECKS_BUSY = Duration.ofSeconds(1);
    /** {@link #PASSWORD_CHECKS_BUSY} as the headers of an access check's answer give it: {@code Retry-After: 1}. */
    public static final Map<String, String> PASSWORD_CHECKS_BUSY_HEADERS =
            Map.of("Retry-After", Long.toString(PASSWORD_CHECKS_BUSY.toSeconds()));

    private RetryAfter() {
    }
}
