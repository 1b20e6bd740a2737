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
 * README's settings table say so, with the timeout the connector has.
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
}
