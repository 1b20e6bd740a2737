package io.picotunnel.server.net;

import java.time.Duration;

/**
 * The {@code Retry-After} the HTTP proxy's own answers give (its pages, its password gate's), which the server's help
 * names too: here, below both, as the proxy checks access.
 */
public final class RetryAfter {

    /**
     * The {@code Retry-After} of the pages that ask to try again in a moment (a client that stopped, a busy tunnel,
     * the server stopping): a client restarted is back within seconds, and a tunnel's requests come and go faster.
     */
    public static final Duration IN_A_MOMENT = Duration.ofSeconds(5);

    private RetryAfter() {
    }
}
