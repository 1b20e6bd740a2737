package io.picotunnel.server.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.testkit.Ports;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Creates a tcp service on a port that was free a moment ago. Another test, or the system, may take the port between
 * the choice and the server's bind: the server then answers 409 "cannot listen on ...: port N is already in use by
 * another program", and another port is tried, a few times at most. Any other answer (another 409 too: a listen
 * address overlapping another service's) fails the test as before.
 */
public final class TcpServicePorts {

    static final int ATTEMPTS = 5;

    /** The service as the API answered it, and its port. */
    public record Created(int port, JsonNode service) {
        public String id() {
            return service.get("id").asText();
        }
    }

    private TcpServicePorts() {
    }

    /** {@code body}: the service's JSON for a port, its {@code listen_addr} on that port. */
    public static Created create(ApiClient api, String tunnelId, IntFunction<String> body) {
        return create(api, tunnelId, body, Ports::freePort);
    }

    static Created create(ApiClient api, String tunnelId, IntFunction<String> body, IntSupplier ports) {
        List<String> taken = new ArrayList<>();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int port = ports.getAsInt();
            ApiClient.Response response = api.post("/api/tunnels/" + tunnelId + "/services", body.apply(port));
            if (!takenMeanwhile(response)) {
                assertThat(response.status()).as("create tcp service on port %d: %s", port, response).isEqualTo(201);
                return new Created(port, response.json());
            }
            taken.add(response.toString());
        }
        throw new AssertionError("every port tried was taken before the server bound it: " + taken);
    }

    private static boolean takenMeanwhile(ApiClient.Response response) {
        if (response.status() != 409) {
            return false;
        }
        String message = response.json().path("message").asText();
        return message.startsWith("cannot listen on ") && message.toLowerCase(Locale.ROOT).contains("already in use");
    }
}
