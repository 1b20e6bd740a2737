package io.picotunnel.server.access;

import java.util.concurrent.ExecutorService;

/** Access control whose password checks run on an executor a test holds: for tests outside the access package. */
public final class PasswordChecksOn {

    private PasswordChecksOn() {
    }

    /** No lists, no limits, no trusted proxies; the checks of {@code auth: basic} services on {@code checks}. */
    public static AccessControl executor(ExecutorService checks) {
        return new AccessControl(TrustedProxies.NONE, new RateLimiter(), System::nanoTime, checks);
    }
}
