package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ServerAddress;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectFailuresTest {

    private static final ServerAddress SERVER = ServerAddress.parse("ws://127.0.0.1:8443");

    @Test
    void theServersOwn503WhileItShutsDownOrIsOverloadedIsNotCalledAWrongEndpoint() {
        String why = ConnectFailures.explain(SERVER,
                new ConnectFailures.UpgradeRefusedException(503, "Service Unavailable"));

        assertThat(why).contains("HTTP 503 Service Unavailable", "unavailable for now")
                .doesNotContain("not a PicoTunnel tunnel endpoint", "--tunnel-addr");
    }

    @Test
    void aProxysBadGatewayWhileTheServerRestartsIsNotCalledAWrongEndpoint() {
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(502, "Bad Gateway"));

        assertThat(why).contains("HTTP 502 Bad Gateway", "proxy").doesNotContain("not a PicoTunnel tunnel endpoint");
    }

    @Test
    void the429OfTooManyConnectionsOrWrongTokensFromOneAddressSaysSo() {
        String why = ConnectFailures.explain(SERVER,
                new ConnectFailures.UpgradeRefusedException(429, "Too Many Requests"));

        assertThat(why).contains("HTTP 429", "this address").doesNotContain("not a PicoTunnel tunnel endpoint");
    }

    @Test
    void aNotFoundStillPointsAtTheTunnelPort() {
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(404, "Not Found"));

        assertThat(why).contains("not a PicoTunnel tunnel endpoint", "--tunnel-addr");
    }
}
