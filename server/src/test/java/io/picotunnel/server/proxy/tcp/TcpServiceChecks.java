package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** What the tcp service tests against a real server check: a service as the API lists it, a visitor's echo. */
final class TcpServiceChecks {

    private TcpServiceChecks() {
    }

    /** The service {@code id} as the API lists it among its tunnel's services. */
    static JsonNode stored(Testbed testbed, String tunnel, String id) {
        for (JsonNode service : testbed.api().get("/api/tunnels/" + tunnel + "/services").json()) {
            if (service.get("id").asText().equals(id)) {
                return service;
            }
        }
        throw new AssertionError("no service " + id + " stored");
    }

    /** Sends a line naming {@code when} through a visitor's connection to an echo target and reads it back. */
    static void assertEchoes(Socket visitor, String when) {
        byte[] line = (when + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            visitor.getOutputStream().write(line);
            assertThat(visitor.getInputStream().readNBytes(line.length)).as(when).isEqualTo(line);
        } catch (IOException e) {
            throw new AssertionError("the connection was lost " + when, e);
        }
    }
}
