package io.picotunnel.server.api;

import static org.assertj.core.api.Assertions.assertThat;

/** What the service API tests send and how they read a refused field. */
final class ServiceRequests {

    private ServiceRequests() {
    }

    /** Creates the tunnel the tests add services to; its id. */
    static String createTunnel(ApiClient api) {
        return api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
    }

    /** {@code POST /api/tunnels/{tunnelId}/services} with {@code json}, whatever the answer. */
    static ApiClient.Response createService(ApiClient api, String tunnelId, String json) {
        return api.post("/api/tunnels/" + tunnelId + "/services", json);
    }

    /** A 400 {@code invalid_field} naming {@code field}, whose message starts with it and says {@code messagePart}. */
    static void assertInvalid(ApiClient.Response response, String field, String messagePart) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).isEqualTo("invalid_field");
        assertThat(response.json().get("field").asText()).isEqualTo(field);
        assertThat(response.json().get("message").asText()).startsWith(field + ":").contains(messagePart);
    }
}
