package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real server with one tunnel whose HTTP services lead to {@link RecordingTarget}s, and one of our clients connected
 * to it once the services are made: a visitor reaches them on the HTTP proxy's port.
 */
final class HttpServicesTunnel implements AutoCloseable {

    private final Testbed testbed;
    private final String tunnelId;
    private final String token;
    private final List<RecordingTarget> targets = new ArrayList<>();

    HttpServicesTunnel(Path dataDir) {
        testbed = new Testbed(dataDir);
        try {
            JsonNode tunnel = testbed.createTunnel("t");
            tunnelId = tunnel.get("id").asText();
            token = tunnel.get("token").asText();
        } catch (RuntimeException | AssertionError e) {
            testbed.close();
            throw e;
        }
    }

    /** A target that answers every request with {@code answer}, closed with the server. */
    RecordingTarget target(String answer) {
        RecordingTarget target = new RecordingTarget(answer);
        targets.add(target);
        return target;
    }

    /** Creates an HTTP service of the tunnel for {@code domain} to {@code targetAddr} (host:port); the API's answer. */
    JsonNode service(String domain, String targetAddr) {
        return testbed.createHttpService(tunnelId, domain, targetAddr);
    }

    /** Connects one of our clients to the tunnel; the HTTP proxy's port, where visitors reach the services. */
    int connect() {
        testbed.connect(tunnelId, token);
        return testbed.server().httpPort();
    }

    /** Stops the server, then the targets. */
    @Override
    public void close() {
        testbed.close();
        targets.forEach(RecordingTarget::close);
    }
}
