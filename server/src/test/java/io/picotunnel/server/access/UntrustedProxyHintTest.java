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

    /**
     * A scanner rotating through 0x500 addresses of its IPv6 /64 claims https from each, then the proxy left out sends
     * its first request: one WARN for the scanner's /64, one for the proxy. Before, each address had its own line
     * (1,024 of them, then one shared by those beyond), and the proxy's request fell into the shared line, taken.
     */
    @Test
    void aScannerRotatingThroughItsSlash64GetsOneLineAndTheProxyStillGetsItsOwn() throws Exception {
        UntrustedProxyHint hint = new UntrustedProxyHint(TrustedProxies.NONE);
        InetAddress proxy = InetAddress.getByName("192.0.2.10");
        try (LogCapture log = new LogCapture(UntrustedProxyHint.class, Level.INFO)) {
            for (int host = 1; host <= 0x500; host++) {
                hint.onPlainHttpRequest(inScannersSlash64(host), "https");
            }
            hint.onPlainHttpRequest(proxy, "https");

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    first -> assertThat(first).startsWith("A request from 2001:db8:1:2:0:0:0:1 "),
                    second -> assertThat(second).startsWith("A request from 192.0.2.10 "));
        }
    }

    /** 200 peers of as many blocks claim https within a minute: one line for each of the first few, one for the rest. */
    @Test
    void manyPeersClaimingHttpsWriteAFewLinesAMinute() throws Exception {
        UntrustedProxyHint hint = new UntrustedProxyHint(TrustedProxies.NONE);
        try (LogCapture log = new LogCapture(UntrustedProxyHint.class, Level.INFO)) {
            for (int peer = 1; peer <= 200; peer++) {
                hint.onPlainHttpRequest(InetAddress.getByAddress(new byte[] {(byte) 198, 51, (byte) (peer / 100),
                        (byte) (peer % 100)}), "https");
            }

            assertThat(log.messages(Level.WARN)).hasSize(UntrustedProxyHint.MAX_BLOCKS + 1);
        }
    }

    private static InetAddress inScannersSlash64(int host) throws Exception {
        byte[] address = new byte[16];
        address[0] = 0x20;
        address[1] = 0x01;
        address[2] = 0x0d;
        address[3] = (byte) 0xb8;
        address[5] = 1;
        address[7] = 2;
        address[14] = (byte) (host >> 8);
        address[15] = (byte) host;
        return InetAddress.getByAddress(address);
    }
}
