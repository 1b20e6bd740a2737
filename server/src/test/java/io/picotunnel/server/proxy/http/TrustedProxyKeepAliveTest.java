package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The visitor's address the target hears of is each request's own, though the proxy makes its text once while a
 * connection's requests come from one address.
 */
class TrustedProxyKeepAliveTest {

    @TempDir
    Path dataDir;

    @Test
    void eachRequestOfATrustedProxysKeepAliveConnectionNamesItsOwnVisitorToTheTarget() throws Exception {
        try (TunnelFixture tunnel = new TunnelFixture(dataDir, Map.of(Setting.TRUSTED_PROXIES, "127.0.0.1"));
             TargetServer alpha = new TargetServer("alpha")) {
            tunnel.addService("alpha.test", "/", alpha.address(), false);
            try (RawHttp http = new RawHttp(tunnel.httpPort())) {
                for (String visitor : List.of("198.51.100.4", "198.51.100.4", "203.0.113.9", "", "2001:db8:0:0:0:0:0:1",
                        "", "198.51.100.4")) {
                    http.send("GET / HTTP/1.1\r\nHost: alpha.test\r\n"
                            + (visitor.isEmpty() ? "" : "X-Forwarded-For: " + visitor + "\r\n") + "\r\n");
                    RawHttp.Response response = http.read();
                    assertThat(response.status()).as(visitor).isEqualTo(200);
                    String heard = visitor.isEmpty() ? "127.0.0.1" : visitor;
                    assertThat(response.text()).as(visitor)
                            .contains("h:x-forwarded-for=" + heard + "\n", "h:x-real-ip=" + heard + "\n");
                }
            }
        }
    }
}
