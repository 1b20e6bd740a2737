package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TrustedProxiesTest {

    private final TrustedProxies proxies = new TrustedProxies(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("2001:db8::1")));

    @Test
    void theSchemeATrustedProxySaysIsTheFirstValueOfXForwardedProtoWhenItIsHttpOrHttps() throws Exception {
        InetAddress proxy = InetAddress.getByName("10.1.2.3");

        assertThat(proxies.https(proxy, List.of("https"), false)).isTrue();
        assertThat(proxies.https(InetAddress.getByName("2001:db8::1"), List.of(" HTTPS "), false)).isTrue();
        assertThat(proxies.https(proxy, List.of("http"), true)).isFalse();
        // the first of a list, and of several headers
        assertThat(proxies.https(proxy, List.of("https, http"), false)).isTrue();
        assertThat(proxies.https(proxy, List.of("http,https"), true)).isFalse();
        assertThat(proxies.https(proxy, List.of("https", "http"), false)).isTrue();
        // anything else, or nothing: the connection's own
        for (List<String> other : List.of(List.of("wss"), List.of(""), List.of(", https"), List.of("https;x"), List.<String>of())) {
            assertThat(proxies.https(proxy, other, false)).as("%s", other).isFalse();
            assertThat(proxies.https(proxy, other, true)).as("%s", other).isTrue();
        }
        assertThat(proxies.https(proxy, null, true)).isTrue();
    }

    @Test
    void xForwardedProtoFromAnyoneElseIsIgnored() throws Exception {
        assertThat(proxies.https(InetAddress.getByName("203.0.113.9"), List.of("https"), false)).isFalse();
        assertThat(proxies.https(InetAddress.getByName("203.0.113.9"), List.of("http"), true)).isTrue();
        assertThat(proxies.https(null, List.of("https"), false)).isFalse();
        assertThat(TrustedProxies.NONE.https(InetAddress.getByName("10.1.2.3"), List.of("https"), false)).isFalse();
    }
}
