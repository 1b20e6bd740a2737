package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.function.Supplier;

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
        assertThat(proxies.https(proxy, (List<String>) null, true)).isTrue();
    }

    /**
     * The visitor is the right-most untrusted address of X-Forwarded-For (over several headers, the last header's
     * last entry first); an entry that is no IP literal ends the walk. "198.51.100" was read as 198.51.0.100, and
     * "0127.0.0.1" as 127.0.0.1, and hex digits with a dot ("cafe.de") were looked up in DNS on the event loop.
     */
    @Test
    void theVisitorIsTheRightMostUntrustedLiteralOfXForwardedFor() throws Exception {
        InetAddress proxy = InetAddress.getByName("10.1.2.3");

        assertThat(proxies.visitor(proxy, List.of("203.0.113.1, 198.51.100.7, 10.0.0.9")))
                .isEqualTo(InetAddress.getByName("198.51.100.7"));
        assertThat(proxies.visitor(proxy, List.of("198.51.100.7", "203.0.113.1"))).isEqualTo(InetAddress.getByName("203.0.113.1"));
        assertThat(proxies.visitor(proxy, List.of("[::ffff:198.51.100.7]:443"))).isEqualTo(InetAddress.getByName("198.51.100.7"));
        assertThat(proxies.visitor(proxy, List.of("[2001:db8::7]:443"))).isEqualTo(InetAddress.getByName("2001:db8::7"));
        assertThat(proxies.visitor(InetAddress.getByName("203.0.113.9"), List.of("198.51.100.7")))
                .isEqualTo(InetAddress.getByName("203.0.113.9"));
        for (String notALiteral : List.of("198.51.100", "0127.0.0.1", "cafe.de", "unknown", "")) {
            assertThat(proxies.visitor(proxy, List.of(notALiteral))).as(notALiteral).isEqualTo(proxy);
            assertThat(proxies.visitor(proxy, List.of(notALiteral + ", 10.0.0.9"))).as(notALiteral)
                    .isEqualTo(InetAddress.getByName("10.0.0.9"));
        }
    }

    /** Every request asks who its visitor is: the headers are read only when the peer is a trusted proxy. */
    @Test
    void theHeadersAreReadOnlyForATrustedPeer() throws Exception {
        Supplier<List<String>> unread = () -> {
            throw new AssertionError("the header was read for a peer that is not a trusted proxy");
        };
        InetAddress stranger = InetAddress.getByName("203.0.113.9");

        assertThat(proxies.visitor(stranger, unread)).isEqualTo(stranger);
        assertThat(proxies.visitor((InetAddress) null, unread)).isNull();
        assertThat(proxies.https(stranger, unread, true)).isTrue();
        assertThat(proxies.visitor(InetAddress.getByName("10.1.2.3"), () -> List.of("198.51.100.7")))
                .isEqualTo(InetAddress.getByName("198.51.100.7"));
        assertThat(proxies.https(InetAddress.getByName("10.1.2.3"), () -> List.of("https"), false)).isTrue();
    }

    @Test
    void xForwardedProtoFromAnyoneElseIsIgnored() throws Exception {
        assertThat(proxies.https(InetAddress.getByName("203.0.113.9"), List.of("https"), false)).isFalse();
        assertThat(proxies.https(InetAddress.getByName("203.0.113.9"), List.of("http"), true)).isTrue();
        assertThat(proxies.https(null, List.of("https"), false)).isFalse();
        assertThat(TrustedProxies.NONE.https(InetAddress.getByName("10.1.2.3"), List.of("https"), false)).isFalse();
    }
}
