package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.testbed.Testbed;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A tunnel for upload tests, with its client connected: an HTTP service for a host to an {@link UploadTarget}. The
 * client's stream windows do not grow, and the target's receive buffer is small, so that what the path behind the
 * server takes stays small once the target stops reading.
 */
final class UploadTunnel implements AutoCloseable {

    final String id;
    final UploadTarget target;
    private final Testbed testbed;

    /** {@code allowed}: the bytes of the body the target reads before it waits to be allowed more. */
    UploadTunnel(Testbed testbed, String host, long allowed) throws IOException {
        this.testbed = testbed;
        JsonNode tunnel = testbed.createTunnel("upload");
        id = tunnel.get("id").asText();
        testbed.startClient(tunnel.get("token").asText(), HttpsHostTunnel.FIXED_STREAM_WINDOWS);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(id));
        target = new UploadTarget(allowed);
        try {
            testbed.createService(id, "{\"type\":\"http\",\"domain\":\"" + host + "\",\"path_prefix\":\"/\","
                    + "\"target_addr\":\"127.0.0.1:" + target.port() + "\"}");
        } catch (RuntimeException | Error e) {
            target.close(); // the test's clean-up gets no UploadTunnel to close
            throw e;
        }
    }

    /** The body bytes the server sent up the tunnel. */
    TrafficCounters forwarded() {
        return testbed.server().traffic().tunnel(id);
    }

    /** The server's side of the client's session. */
    YamuxSession session() {
        return testbed.server().registry().connections(id).getFirst().session();
    }

    @Override
    public void close() throws IOException {
        target.close();
    }
}
