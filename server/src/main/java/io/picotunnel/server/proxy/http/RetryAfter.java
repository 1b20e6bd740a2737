package io.picotunnel.server.proxy.http;

import java.time.Duration;

/** The {@code Retry-After} the proxy's own answers give, which the server's help names too. */
public final class RetryAfter {

    /**
     * The {@code Retry-After} of the pages that ask to try again in a moment (a client that stopped, a busy tunnel):
     * a client restarted is back within seconds, and a tunnel's requests come and go faster.
     */
    public static final Duration IN_A_MOMENT = Duration.ofSeconds(5);

    private RetryAfter() {
    }
}
