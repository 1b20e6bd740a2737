package io.picotunnel.server.access;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

class UntrustedProxyHintTest {

    /**
     * A scanner at 203.0.113.9 claims https again and again, then the proxy left out of the list (192.0.2.10) sends
     * its first request within the minute: it gets its own WARN. Before, one line a minute was shared by all peers,
     * and the scanner's took it.
     */
    @Test
    void aScannersClaimDoesNotTakeTheLineOfTheProxyLeftOut() throws Exception {
        UntrustedProxyHint hint = new UntrustedProxyHint(TrustedProxies.NONE);
        InetAddress scanner = InetAddress.getByName("203.0.113.9");
        InetAddress proxy = InetAddress.getByName("192.0.2.10");
        try (LogCapture log = new LogCapture(UntrustedProxyHint.class, Level.INFO)) {
            for (int i = 0; i < 5; i++) {
                hint.onPlainHttpRequest(scanner, "https");
            }
            hint.onPlainHttpRequest(proxy, "https");
            hint.onPlainHttpRequest(proxy, "https");

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    first -> assertThat(first).startsWith("A request from 203.0.113.9 "),
                    second -> assertThat(second).startsWith("A request from 192.0.2.10 ")
                            .contains("192.0.2.10 is not in PICOTUNNEL_TRUSTED_PROXIES"));
        }
    }
}
