package io.picotunnel.server.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The id in a route's path (or the checks' service_id) is read as UTF-8, and quoted in an answer with its hidden
 * characters written out.
 */
class ApiPathParametersTest {

    /** U+202E RIGHT-TO-LEFT OVERRIDE then "x", as a browser sends it: its UTF-8 bytes percent-encoded. */
    private static final String OVERRIDE = "%E2%80%AEx";
    /** "été": two-byte UTF-8 sequences, shown as they are. */
    private static final String ACCENTED = "%C3%A9t%C3%A9";

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    @Test
    void anUnknownTunnelsIdIsDecodedAsUtf8AndItsHiddenCharactersWrittenOut() {
        for (String[] route : tunnelRoutes(OVERRIDE)) {
            ApiClient.Response answer = running.api().send(route[0], route[1], "application/json", route[2]);
            assertThat(answer.status()).as(route[0] + " " + route[1] + ": " + answer).isEqualTo(404);
            assertThat(answer.json().get("message").asText()).as(route[0] + " " + route[1])
                    .isEqualTo("no tunnel with id '\\u202ex'");
        }
        for (String[] route : tunnelRoutes(ACCENTED)) {
            assertThat(running.api().send(route[0], route[1], "application/json", route[2]).json().get("message").asText())
                    .as(route[0] + " " + route[1]).isEqualTo("no tunnel with id '\u00e9t\u00e9'");
        }
    }

    @Test
    void anUnknownServicesIdIsDecodedAsUtf8AndItsHiddenCharactersWrittenOut() {
        for (String method : new String[] {"PATCH", "DELETE"}) {
            String body = method.equals("PATCH") ? "{\"enabled\": false}" : null;
            ApiClient.Response override = running.api().send(method, "/api/services/" + OVERRIDE, "application/json", body);
            assertThat(override.status()).as(method + ": " + override).isEqualTo(404);
            assertThat(override.json().get("message").asText()).as(method).isEqualTo("no service with id '\\u202ex'");
            assertThat(running.api().send(method, "/api/services/" + ACCENTED, "application/json", body).json().get("message")
                    .asText()).as(method).isEqualTo("no service with id '\u00e9t\u00e9'");
        }
    }

    @Test
    void anUnknownServiceIdInTheChecksQueryIsDecodedAsUtf8AndItsHiddenCharactersWrittenOut() {
        String tunnel = running.api().post("/api/tunnels", "{\"name\": \"checks\"}").json().get("id").asText();

        ApiClient.Response override = running.api().get("/api/tunnels/" + tunnel + "/checks?service_id=" + OVERRIDE);
        assertThat(override.status()).as(override.toString()).isEqualTo(404);
        assertThat(override.json().get("message").asText())
                .isEqualTo("tunnel '" + tunnel + "' has no service with id '\\u202ex'");
        assertThat(running.api().get("/api/tunnels/" + tunnel + "/checks?service_id=" + ACCENTED).json().get("message").asText())
                .isEqualTo("tunnel '" + tunnel + "' has no service with id '\u00e9t\u00e9'");
    }

    @Test
    void aLimitThatIsNotANumberIsQuotedWithItsHiddenCharactersWrittenOut() {
        String tunnel = running.api().post("/api/tunnels", "{\"name\": \"limits\"}").json().get("id").asText();

        for (String path : new String[] {"/api/events", "/api/tunnels/" + tunnel + "/events",
            "/api/tunnels/" + tunnel + "/checks"}) {
            ApiClient.Response answer = running.api().get(path + "?limit=" + OVERRIDE);
            assertThat(answer.status()).as(path + ": " + answer).isEqualTo(400);
            assertThat(answer.json().get("message").asText()).as(path).endsWith("(got '\\u202ex')");
        }
    }

    /** Every route with a tunnel's id in its path: method, path, body. */
    private static String[][] tunnelRoutes(String id) {
        String tunnel = "/api/tunnels/" + id;
        return new String[][] {
            {"GET", tunnel, null},
            {"PATCH", tunnel, "{\"name\": \"renamed\"}"},
            {"DELETE", tunnel, null},
            {"POST", tunnel + "/regenerate", null},
            {"GET", tunnel + "/services", null},
            {"POST", tunnel + "/services", "{\"type\": \"http\", \"subdomain\": \"app\", \"target\": \"127.0.0.1:8080\"}"},
            {"GET", tunnel + "/checks", null},
            {"GET", tunnel + "/stats", null},
            {"GET", tunnel + "/events", null},
        };
    }
}
