package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.function.IntPredicate;

import static org.assertj.core.api.Assertions.assertThat;

/** Which pages a service's sign-in may go back to ({@link ServiceSignIn#returnUrl}), by the port the browser will use. */
class ServiceSignInReturnTest {

    private static final ServiceAuth.Oidc ALICE = new ServiceAuth.Oidc(Set.of("alice@example.com"), Set.of(), false);

    @Test
    void aReturnWithoutAPortIsRefusedWhenATcpServiceListensOnTheSchemesDefaultPort() {
        // A tcp service bound on 80 (or 443) while the proxy listens on 8080 (8443): http://app.test/ goes to it.
        ServiceSignIn.Target tcpOn80 = target(port -> port == 80);
        assertThat(ServiceSignIn.returnUrl("http://app.test/page", tcpOn80)).isNull();
        assertThat(ServiceSignIn.returnUrl("http://app.test:80/page", tcpOn80)).isNull();
        assertThat(ServiceSignIn.returnUrl("https://app.test/page", tcpOn80)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("http://app.test:8080/page", tcpOn80)).isNotNull();

        ServiceSignIn.Target tcpOn443 = target(port -> port == 443);
        assertThat(ServiceSignIn.returnUrl("https://app.test/page", tcpOn443)).isNull();
        assertThat(ServiceSignIn.returnUrl("HTTPS://app.test/page", tcpOn443)).isNull();
        assertThat(ServiceSignIn.returnUrl("http://app.test/page", tcpOn443)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("https://app.test:8443/page", tcpOn443)).isNotNull();
    }

    @Test
    void aReturnWithoutAPortIsTakenWhenNoTcpServiceListensOnTheSchemesDefaultPort() {
        ServiceSignIn.Target none = target(port -> false);
        assertThat(ServiceSignIn.returnUrl("http://app.test/page", none)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("https://app.test/page", none)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("http://app.test:9999/page", none)).as("not a port of the proxy").isNull();
    }

    @Test
    void aNameWithAnUnderscoreUnderAWildcardIsTakenAndAUserPartOrAnOddAuthorityIsNot() {
        ServiceSignIn.Target wildcard = new ServiceSignIn.Target("s1", "*.app.test", false, ALICE, Set.of(8080),
                Set.of(8443), name -> false, port -> false);
        // java.net.URI gives such a name no host and no port: it was refused.
        assertThat(ServiceSignIn.returnUrl("http://my_app.app.test:8080/page", wildcard)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("https://My_App.app.test/page", wildcard)).isNotNull();
        assertThat(ServiceSignIn.returnUrl("http://my_app.app.test:9999/page", wildcard)).as("another port").isNull();
        assertThat(ServiceSignIn.returnUrl("http://my_app.other.test:8080/", wildcard)).as("another domain").isNull();
        assertThat(ServiceSignIn.returnUrl("http://a.b_c.app.test:8080/", wildcard)).as("two labels down").isNull();
        for (String odd : new String[] {"http://x@my_app.app.test:8080/", "http://x@app.test:8080/",
                "http://app.test:8080@evil.test/", "http://app.test:80x/", "http://[::1]:8080/", "http:///page",
                "http:page"}) {
            assertThat(ServiceSignIn.returnUrl(odd, wildcard)).as(odd).isNull();
            assertThat(ServiceSignIn.returnUrl(odd, target(port -> false))).as(odd).isNull();
        }
    }

    /** app.test behind a proxy listening on 8080 and 8443, no port mapping. */
    private static ServiceSignIn.Target target(IntPredicate tcpServicePort) {
        return new ServiceSignIn.Target("s1", "app.test", false, ALICE, Set.of(8080), Set.of(8443), name -> false,
                tcpServicePort);
    }
}
