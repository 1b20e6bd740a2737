package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.Setting;
import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An attempt can last {@code --connect-timeout} plus the handshake timeout of TLS and the upgrade: the help and the
 * README's settings table say so, with the timeout the connector has, and the README's prose gives both timeouts as
 * the code's.
 */
class ConnectTimeoutHelpTest {

    @Test
    void theConnectTimeoutsHelpAndReadmeRowSayTlsAndTheUpgradeHaveTheHandshakeTimeoutMore() throws IOException {
        String more = "TLS and the WebSocket upgrade then have up to " + Durations.format(TunnelConnector.HANDSHAKE_TIMEOUT)
                + " more";
        String readme = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("README.md"));
        String row = readme.lines().filter(line -> line.startsWith("| `--connect-timeout` |")).findFirst().orElseThrow();

        assertThat(Setting.CONNECT_TIMEOUT.description()).contains(more);
        assertThat(row).contains(more);
    }

    @Test
    void theReadmesProseGivesTheConnectAndHandshakeTimeouts() throws IOException {
        String handshake = Durations.format(TunnelConnector.HANDSHAKE_TIMEOUT);
        String connect = Durations.format(Durations.parse(Setting.CONNECT_TIMEOUT.declaration().defaultValue()));
        String readme = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("README.md"))
                .replaceAll("\\s+", " ");

        assertThat(readme).contains("(`PICOTUNNEL_CONNECT_TIMEOUT`, " + connect + " by default,")
                .contains("then up to " + handshake + " more for TLS and the WebSocket upgrade together")
                .contains("an attempt lasts at most the connect timeout plus " + handshake + ";")
                .contains("the one connect timeout (`--connect-timeout`, " + connect + ";")
                .contains("however long, not a " + connect + " of its own");
    }
}
