package io.picotunnel.server.tunnel;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.testbed.Testbed;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tunnel.RawTunnelClient.FLAG_SYN;
import static io.picotunnel.server.tunnel.RawTunnelClient.TYPE_PING;
import static org.awaitility.Awaitility.await;

/**
 * A real server with a tunnel serving an HTTP host and a tcp port ({@link ServicedTunnel}), for clients speaking
 * yamux by hand ({@link RawTunnelClient}), which answer nothing unless a test sends it: what the tests of streams a
 * client never acknowledges start.
 */
final class RawClientTunnel implements AutoCloseable {

    final Testbed testbed;
    final ServicedTunnel tunnel;
    private final HttpClient http = HttpClient.newHttpClient();

    /** The server with {@code settings} on top of the defaults, and the tunnel {@code name} serving {@code host}. */
    RawClientTunnel(Path dataDir, String name, String host, Map<Setting, String> settings) {
        testbed = new Testbed(dataDir, settings);
        try {
            tunnel = new ServicedTunnel(testbed, name, host);
        } catch (RuntimeException | AssertionError e) {
            testbed.close();
            http.close();
            throw e;
        }
    }

    /** A client speaking yamux by hand, connected with the tunnel's token. */
    RawTunnelClient connect() {
        return RawTunnelClient.connect(http, testbed.tunnelPort(), tunnel.token);
    }

    /** The opening frame (SYN) of the first stream the server opened on {@code client}, once it came. */
    static RawTunnelClient.Frame awaitFirstSyn(RawTunnelClient client) {
        return await().atMost(10, TimeUnit.SECONDS).until(() -> client.frames().stream()
                .filter(f -> f.type() != TYPE_PING && (f.flags() & FLAG_SYN) != 0).findFirst().orElse(null),
                f -> f != null);
    }

    /** Stops the server, then the tunnel's targets. */
    @Override
    public void close() {
        testbed.close();
        tunnel.close();
        http.close();
    }
}
