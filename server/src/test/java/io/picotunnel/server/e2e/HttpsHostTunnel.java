package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.awaitility.Awaitility.await;

/**
 * A real server with a certificate for a host on its HTTPS port, and one tunnel, with one of our clients connected,
 * whose HTTP service leads the host (every path) to a target on a loopback port: what the HTTP/2 tests set up before
 * their visitors connect. Closes the server, then the target.
 */
final class HttpsHostTunnel implements AutoCloseable {

    /**
     * A client whose stream windows do not grow past the initial one, so that what the path behind the server takes
     * stays small once a target stops reading.
     */
    static final UnaryOperator<ClientConfig> FIXED_STREAM_WINDOWS = config -> {
        SessionLimits defaults = SessionLimits.DEFAULTS;
        return config.withLimits(new SessionLimits(YamuxConfig.INITIAL_STREAM_WINDOW,
                defaults.sessionWindowBudget(), defaults.maxStreams(), defaults.sessionBufferLimit()));
    };

    final String id;
    private final Testbed testbed;
    private final TestCertificates ca = new TestCertificates();
    private final String host;
    private final Closeable target;
    private final TunnelClient client;

    /** Takes {@code target} (listening on {@code targetPort}) to close, even when this fails. */
    HttpsHostTunnel(Path dataDir, Map<Setting, String> settings, String host, UnaryOperator<ClientConfig> client,
                    Closeable target, int targetPort) throws IOException {
        this.host = host;
        this.target = target;
        Testbed started = null;
        TunnelClient connected = null;
        try {
            TestCertificates.write(ca.issue(host), dataDir.resolve("certs"), host);
            started = new Testbed(dataDir, settings);
            JsonNode tunnel = started.createTunnel("t");
            String tunnelId = tunnel.get("id").asText();
            connected = started.startClient(tunnel.get("token").asText(), client);
            Testbed connecting = started;
            await().atMost(10, TimeUnit.SECONDS).until(() -> connecting.isConnected(tunnelId));
            started.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + host + "\",\"path_prefix\":\"/\","
                    + "\"target_addr\":\"127.0.0.1:" + targetPort + "\"}");
            id = tunnelId;
        } catch (RuntimeException | Error e) {
            try (target) { // the test's clean-up gets no HttpsHostTunnel to close
                if (started != null) {
                    started.close();
                }
            }
            throw e;
        }
        testbed = started;
        this.client = connected;
    }

    /**
     * With a budget for held uploads ({@code --session-buffer-limit}), and stream windows, the server's and the
     * client's, that do not grow past the initial one.
     */
    static HttpsHostTunnel withUploadBudget(Path dataDir, long budget, String host, StallingUploadTarget target)
            throws IOException {
        return new HttpsHostTunnel(dataDir, Map.of(Setting.SESSION_BUFFER_LIMIT, Long.toString(budget),
                Setting.MAX_STREAM_WINDOW, Long.toString(YamuxConfig.INITIAL_STREAM_WINDOW)), host,
                FIXED_STREAM_WINDOWS, target::close, target.port());
    }

    /** Stops the tunnel's client and waits until the server no longer has it: the tunnel has no client then. */
    void disconnectClient() {
        client.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> !testbed.isConnected(id));
    }

    PicoTunnelServer server() {
        return testbed.server();
    }

    /** A visitor connected over TLS to the HTTPS port, for the host. */
    RawHttp2Visitor visitor() throws IOException {
        return RawHttp2Visitor.connect(testbed.server().httpsPort(), host, ca.clientContext());
    }

    @Override
    public void close() throws IOException {
        try {
            testbed.close();
        } finally {
            target.close();
        }
    }
}
