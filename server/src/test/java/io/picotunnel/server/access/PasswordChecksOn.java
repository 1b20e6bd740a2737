package io.picotunnel.server.access;

import java.util.concurrent.ExecutorService;
import java.util.function.LongSupplier;

/** Access control whose password checks run on an executor a test holds: for tests outside the access package. */
public final class PasswordChecksOn {

    private PasswordChecksOn() {
    }

    /** No lists, no limits, no trusted proxies; the checks of {@code auth: basic} services on {@code checks}. */
    public static AccessControl executor(ExecutorService checks) {
        return executor(checks, System::nanoTime);
    }

    /** As above, the checks reading {@code nanoClock} (when credentials that passed are remembered, and until when). */
    public static AccessControl executor(ExecutorService checks, LongSupplier nanoClock) {
        return new AccessControl(TrustedProxies.NONE, new RateLimiter(), nanoClock, checks);
    }
}
