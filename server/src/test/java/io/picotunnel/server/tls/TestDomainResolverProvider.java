package io.picotunnel.server.tls;

import io.picotunnel.testkit.NameRule;
import io.picotunnel.testkit.TestNamesResolverProvider;

/**
 * Resolves every name under the reserved {@code .test} TLD to 127.0.0.1 in the test JVM, so that real
 * clients (java.net.http with SNI and hostname verification) can reach loopback servers by domain name.
 * Every other name goes to the JDK's resolver.
 */
public final class TestDomainResolverProvider extends TestNamesResolverProvider {

    public TestDomainResolverProvider() {
        super("picotunnel-test-domains", NameRule.resolveTo(".test", "127.0.0.1"));
    }
}
