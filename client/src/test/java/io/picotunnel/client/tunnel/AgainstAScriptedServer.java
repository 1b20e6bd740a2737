package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import org.junit.jupiter.api.AfterEach;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The fixture of tests of the real client against a {@link ScriptedTunnelServer}: the test starts both, and they are
 * stopped after it.
 */
abstract class AgainstAScriptedServer {

    protected static final String TOKEN = "d".repeat(64);
    protected ScriptedTunnelServer server;
    protected TunnelClient client;

    /** Starts a server playing {@code script}, then a client of it with no shutdown grace. */
    protected void start(ScriptedTunnelServer.Script script, Backoff backoff, YamuxConfig yamux) {
        server = new ScriptedTunnelServer(script);
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.address()), TOKEN)
                .withShutdownGrace(Duration.ZERO), yamux, backoff);
        client.start();
    }

    protected void start(ScriptedTunnelServer.Script script, Backoff backoff) {
        start(script, backoff, YamuxConfig.defaults());
    }

    /**
     * Stops the client (within 20 s), then closes the server, and forgets both; either may be null (never started, or
     * stopped already).
     */
    @AfterEach
    protected void stopClientAndServer() throws IOException {
        TunnelClient started = client;
        ScriptedTunnelServer listening = server;
        client = null;
        server = null;
        try {
            if (started != null) {
                started.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
            }
        } finally {
            if (listening != null) {
                listening.close();
            }
        }
    }
}
