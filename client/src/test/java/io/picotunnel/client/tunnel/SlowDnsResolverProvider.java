package io.picotunnel.client.tunnel;

import io.picotunnel.testkit.NameRule;
import io.picotunnel.testkit.TestNamesResolverProvider;
import java.time.Duration;

/**
 * In the client's test JVM, names under {@code .slow.test} resolve to 127.0.0.1 after {@link #DELAY}, as a
 * system resolver does whose first DNS server does not answer, names under {@code .nxdomain.test} do not
 * resolve, and names under {@code .dual.test} resolve to 127.0.0.1 then ::1, as {@code localhost} does on most
 * systems, written with a trailing dot (absolute, as DNS takes them) too; names under {@code .ipv6first.test} resolve
 * to ::1 then 127.0.0.1, as on a system that prefers IPv6; names under {@code .slowdual.test} resolve to 127.0.0.1 then
 * ::1 after {@link #DUAL_DELAY}; every other name but localhost and this machine's fails
 * ({@link TestNamesResolverProvider}).
 */
public final class SlowDnsResolverProvider extends TestNamesResolverProvider {

    static final Duration DELAY = Duration.ofSeconds(5);
    /** Answers the slow names; counts the lookups of them begun so far. */
    static final NameRule SLOW_NAMES = NameRule.resolveTo(".slow.test", "127.0.0.1").after(DELAY);
    static final Duration DUAL_DELAY = Duration.ofSeconds(2);

    public SlowDnsResolverProvider() {
        super("picotunnel-client-slow-dns", NameRule.unknown(".nxdomain.test"), SLOW_NAMES,
                NameRule.resolveTo(".dual.test", "127.0.0.1", "::1"), NameRule.resolveTo(".dual.test.", "127.0.0.1", "::1"),
                NameRule.resolveTo(".ipv6first.test", "::1", "127.0.0.1"),
                NameRule.resolveTo(".slowdual.test", "127.0.0.1", "::1").after(DUAL_DELAY));
    }
}
