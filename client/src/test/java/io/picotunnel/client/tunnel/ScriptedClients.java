package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The real client started against a {@link ScriptedTunnelServer}, and both stopped again after a test. */
final class ScriptedClients {

    private ScriptedClients() {
    }

    /** A started client of {@code server}, with no shutdown grace. */
    static TunnelClient start(ScriptedTunnelServer server, String token, Backoff backoff, YamuxConfig yamux) {
        TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.address()), token)
                .withShutdownGrace(Duration.ZERO), yamux, backoff);
        client.start();
        return client;
    }

    /** Stops {@code client} (within 20 s), then closes {@code server}; either may be null (never started). */
    static void stop(TunnelClient client, ScriptedTunnelServer server) throws IOException {
        if (client != null) {
            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        }
        if (server != null) {
            server.close();
        }
    }
}
