package io.picotunnel.server.api;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/** A value from a request's body that a 400 quotes has its hidden characters written out, and a long one is cut. */
class ApiRefusedValuesTest {

    private static final String HTTP = "{\"type\":\"http\",\"domain\":\"app.example.com\",\"target_addr\":\"localhost:3000\"";
    /** A right-to-left override in JSON, then "x". */
    private static final String OVERRIDE = "\\u202ex";

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();
    String tunnelId;

    @BeforeEach
    void createTunnel() {
        tunnelId = running.api().post("/api/tunnels", "{\"name\": \"refused\"}").json().get("id").asText();
    }

    @Test
    void unknownNamesAndChoicesAreQuotedWithTheirHiddenCharactersWrittenOut() {
        String services = "/api/tunnels/" + tunnelId + "/services";
        String[][] cases = {
            {"/api/tunnels", "{\"name\":\"a\",\"" + OVERRIDE + "\":1}", "unknown field '\\u202ex'"},
            {services, "{\"type\":\"" + OVERRIDE + "\"}", "unknown type '\\u202ex'"},
            {services, HTTP + ",\"tls_mode\":\"" + OVERRIDE + "\"}", "unknown mode '\\u202ex'"},
            {services, HTTP + ",\"auth\":{\"type\":\"" + OVERRIDE + "\"}}", "unknown type '\\u202ex'"},
            {services, HTTP + ",\"rate_limit\":{\"per_second\":1,\"" + OVERRIDE + "\":2}}", "unknown field '\\u202ex'"},
        };
        for (String[] c : cases) {
            ApiClient.Response answer = running.api().post(c[0], c[1]);
            assertThat(answer.status()).as(c[1] + ": " + answer).isEqualTo(400);
            assertThat(answer.json().get("message").asText()).as(c[1]).contains(c[2]).doesNotContain("\u202e");
        }
    }

    @Test
    void aLongUnknownTypeIsCut() {
        ApiClient.Response answer = running.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"" + "u".repeat(5000) + "\"}");

        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.json().get("message").asText()).contains("...(5000 chars)").doesNotContain("u".repeat(201));
    }

    @Test
    void aLongEntryOfAllowedEmailsOrGroupsIsCut() {
        for (String field : new String[] {"allowed_emails", "allowed_groups"}) {
            ApiClient.Response answer = running.api().post("/api/tunnels/" + tunnelId + "/services",
                    HTTP + ",\"auth\":{\"type\":\"oidc\",\"" + field + "\":[\"" + "u".repeat(5000) + "\"]}}");

            assertThat(answer.status()).as(field + ": " + answer).isEqualTo(400);
            assertThat(answer.json().get("message").asText()).as(field)
                    .contains("...(5000 chars)' is not").doesNotContain("u".repeat(201));
        }
    }

    @Test
    void anAddressBlockIsQuotedWithItsHiddenCharactersWrittenOutAndCut() {
        String services = "/api/tunnels/" + tunnelId + "/services";
        String[][] cases = {
            {OVERRIDE, "'\\u202ex' is not an IPv4 or IPv6 address block"},
            {"10.0.0.0/" + OVERRIDE, "'10.0.0.0/\\u202ex' has an invalid prefix length"},
            {"u".repeat(5000), "...(5000 chars)' is not an IPv4 or IPv6 address block"},
        };
        for (String[] c : cases) {
            ApiClient.Response answer = running.api().post(services, HTTP + ",\"ip_allow\":[\"" + c[0] + "\"]}");
            assertThat(answer.status()).as(c[0] + ": " + answer).isEqualTo(400);
            assertThat(answer.json().get("message").asText()).as(c[0]).contains(c[1])
                    .doesNotContain("\u202e").doesNotContain("u".repeat(201));
        }
    }

    @Test
    void aLongDomainIsCut() {
        // One label too long for IDNA, then a name of short labels too long for DNS: the two ways a domain is refused.
        for (String domain : new String[] {"u".repeat(5000), "u.".repeat(2500) + "com"}) {
            ApiClient.Response answer = running.api().post("/api/tunnels/" + tunnelId + "/services",
                    "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\"localhost:3000\"}");

            assertThat(answer.status()).as(answer.toString()).isEqualTo(400);
            assertThat(answer.json().get("message").asText())
                    .contains("...(" + domain.length() + " chars)' is not a valid host name")
                    .doesNotContain("u".repeat(201)).doesNotContain("u.".repeat(101));
        }
    }
}
