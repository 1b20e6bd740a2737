package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Map;

import static io.picotunnel.server.api.ServiceRequests.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code auth} of type {@code oidc} in the API, on a server with an OIDC provider configured (discovery waits for
 * the first sign-in, so no provider needs to answer): empty allow lists need {@code "allow_all": true}.
 */
class OidcServiceAuthApiTest {

    private static final String HTTP = "{\"type\":\"http\",\"domain\":\"app.example.com\",\"target_addr\":\"localhost:3000\"";
    private static final String EVERYONE = "{\"type\":\"oidc\",\"allowed_emails\":[],\"allowed_groups\":[],\"allow_all\":true}";

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer(Map.of(
            Setting.OIDC_ISSUER, "https://idp.example.com",
            Setting.OIDC_CLIENT_ID, "picotunnel",
            Setting.OIDC_CLIENT_SECRET, "client-secret",
            Setting.OIDC_REDIRECT_URL, "http://localhost:8080/auth/callback",
            Setting.OIDC_ALLOWED_EMAILS, "admin@example.com"));
    String tunnelId;

    @BeforeEach
    void createTunnel() {
        tunnelId = ServiceRequests.createTunnel(running.api());
    }

    private ApiClient.Response create(String auth) {
        return ServiceRequests.createService(running.api(), tunnelId, HTTP + ",\"auth\":" + auth + "}");
    }

    /** The service as {@code GET /api/tunnels/{id}/services} lists it. */
    private JsonNode listed(String id) {
        for (JsonNode service : running.api().get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (service.get("id").asText().equals(id)) {
                return service;
            }
        }
        throw new AssertionError("service " + id + " is not listed");
    }

    @Test
    void emptyAllowListsAreRefusedUnlessAllowAllSaysSo() {
        for (String auth : new String[] {"{\"type\":\"oidc\"}", "{\"type\":\"oidc\",\"allowed_emails\":[],\"allowed_groups\":[]}",
                "{\"type\":\"oidc\",\"allowed_emails\":null,\"allow_all\":false}"}) {
            assertInvalid(create(auth), "auth", "every user of the identity provider could sign in");
            assertThat(create(auth).json().get("message").asText()).contains("\"allow_all\": true");
        }
        assertThat(running.api().get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();

        ApiClient.Response created = create("{\"type\":\"oidc\",\"allow_all\":true}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.json().get("auth").toString()).isEqualTo(EVERYONE);
        String id = created.json().get("id").asText();
        assertThat(listed(id).get("auth").toString()).isEqualTo(EVERYONE);
    }

    @Test
    void allowAllWithAnAllowListIsRefusedAsContradictory() {
        assertInvalid(create("{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"],\"allow_all\":true}"), "auth",
                "cannot be combined with allowed_emails or allowed_groups");
        assertInvalid(create("{\"type\":\"oidc\",\"allowed_groups\":[\"staff\"],\"allow_all\":true}"), "auth",
                "cannot be combined");
        assertInvalid(create("{\"type\":\"oidc\",\"allow_all\":\"yes\"}"), "auth", "allow_all must be true or false");
    }

    @Test
    void anAllowListAloneNeedsNoAllowAllAndComesBackWithItOff() {
        ApiClient.Response created = create("{\"type\":\"oidc\",\"allowed_emails\":[\"Alice@Example.com\"]}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.json().get("auth").toString()).isEqualTo(
                "{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"],\"allowed_groups\":[],\"allow_all\":false}");
    }

    @Test
    void patchRefusesEmptyListsWithoutAllowAllAndRoundTripsIt() {
        String id = create("{\"type\":\"oidc\",\"allowed_emails\":[\"alice@example.com\"]}").json().get("id").asText();

        assertInvalid(running.api().patch("/api/services/" + id, "{\"auth\":{\"type\":\"oidc\",\"allowed_emails\":[]}}"), "auth",
                "set \"allow_all\": true");
        assertThat(listed(id).get("auth").get("allowed_emails").toString())
                .isEqualTo("[\"alice@example.com\"]");

        ApiClient.Response opened = running.api().patch("/api/services/" + id, "{\"auth\":" + EVERYONE + "}");
        assertThat(opened.status()).as(opened.toString()).isEqualTo(200);
        assertThat(opened.json().get("id").asText()).isEqualTo(id);
        assertThat(opened.json().get("auth").toString()).isEqualTo(EVERYONE);

        // the whole object sent back as it came, and a PATCH of another field, keep allow_all
        JsonNode whole = listed(id);
        ApiClient.Response same = running.api().patch("/api/services/" + id, whole.toString());
        assertThat(same.status()).as(same.toString()).isEqualTo(200);
        assertThat(same.json().get("auth").toString()).isEqualTo(EVERYONE);
        assertThat(running.api().patch("/api/services/" + id, "{\"target_addr\":\"localhost:3001\"}").json().get("auth").toString())
                .isEqualTo(EVERYONE);

        ApiClient.Response grouped = running.api().patch("/api/services/" + id,
                "{\"auth\":{\"type\":\"oidc\",\"allowed_groups\":[\"staff\"],\"allow_all\":false}}");
        assertThat(grouped.status()).as(grouped.toString()).isEqualTo(200);
        assertThat(grouped.json().get("auth").toString())
                .isEqualTo("{\"type\":\"oidc\",\"allowed_emails\":[],\"allowed_groups\":[\"staff\"],\"allow_all\":false}");
    }
}
