package io.picotunnel.server.tls;

import io.picotunnel.testkit.NameRule;
import io.picotunnel.testkit.TestNamesResolverProvider;

/**
 * Resolves every name under the reserved {@code .test} TLD to 127.0.0.1 in the test JVM, so that real
 * clients (java.net.http with SNI and hostname verification) can reach loopback servers by domain name.
 * Names under {@code .held.test} resolve so too, but wait while a test holds {@link #HELD_NAMES}: a DNS server
 * that is slow to answer. Names under the reserved {@code .invalid} TLD resolve to nothing, here, as a system
 * resolver should answer them: a test of a listen address that does not resolve sends no query to a DNS server.
 * Every other name but localhost and this machine's fails ({@link TestNamesResolverProvider}).
 */
public final class TestDomainResolverProvider extends TestNamesResolverProvider {

    /** Names under {@code .held.test}: each test takes a name of its own, since the JDK caches an answer for 30 s. */
    public static final NameRule HELD_NAMES = NameRule.resolveTo(".held.test", "127.0.0.1").heldWhenAsked();

    public TestDomainResolverProvider() {
        super("picotunnel-test-domains", HELD_NAMES, NameRule.resolveTo(".test", "127.0.0.1"),
                NameRule.unknown(".invalid"));
    }
}
