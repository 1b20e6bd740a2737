package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static io.picotunnel.server.api.ServiceRequests.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

/** The access fields of services in the API: auth, ip_allow, ip_deny, rate_limit. */
class ServiceAccessApiTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();
    String tunnelId;

    @BeforeEach
    void createTunnel() {
        tunnelId = ServiceRequests.createTunnel(running.api());
    }

    private ApiClient.Response create(String json) {
        return ServiceRequests.createService(running.api(), tunnelId, json);
    }

    /**
     * An http service created with {@code field} set to {@code value} (JSON) is refused: a 400 naming that field,
     * whose message says {@code messagePart}.
     */
    private void assertRefused(String field, String value, String messagePart) {
        assertInvalid(create(HTTP + ",\"" + field + "\":" + value + "}"), field, messagePart);
    }

    private static final String HTTP = "{\"type\":\"http\",\"domain\":\"app.example.com\",\"target_addr\":\"localhost:3000\"";
    /**
     * The start of a tcp service's JSON, listening on a port free just now: picked at each use, not once per class,
     * so that no other process has had the time since class loading to take it.
     */
    private static String tcp() {
        return "{\"type\":\"tcp\",\"listen_addr\":\"" + Ports.freeLoopbackAddress() + "\",\"target_addr\":\"localhost:22\"";
    }

    private static final String PASSTHROUGH = "{\"type\":\"http\",\"domain\":\"tls.example.com\",\"tls_mode\":\"passthrough\","
            + "\"target_addr\":\"localhost:8443\"";

    @Test
    void newServiceIsOpenByDefault() {
        JsonNode service = create(HTTP + "}").json();

        assertThat(service.get("auth").toString()).isEqualTo("{\"type\":\"none\"}");
        assertThat(service.get("ip_allow").toString()).isEqualTo("[]");
        assertThat(service.get("ip_deny").toString()).isEqualTo("[]");
        assertThat(service.get("rate_limit").isNull()).isTrue();
    }

    @Test
    void accessFieldsAreStoredNormalisedAndClearedWithNull() {
        JsonNode service = create(HTTP + ",\"ip_allow\":[\"10.0.0.0/8\",\"2001:DB8::/32\",\"192.0.2.7\"],"
                + "\"ip_deny\":[\"10.1.0.0/16\"],\"rate_limit\":{\"per_second\":5,\"burst\":20}}").json();

        assertThat(service.get("ip_allow").toString()).isEqualTo("[\"10.0.0.0/8\",\"2001:db8::/32\",\"192.0.2.7/32\"]");
        assertThat(service.get("ip_deny").toString()).isEqualTo("[\"10.1.0.0/16\"]");
        assertThat(service.get("rate_limit").toString()).isEqualTo("{\"per_second\":5,\"burst\":20}");

        String id = service.get("id").asText();
        JsonNode cleared = running.api().patch("/api/services/" + id, "{\"ip_allow\":null,\"rate_limit\":null}").json();
        assertThat(cleared.get("ip_allow").toString()).isEqualTo("[]");
        assertThat(cleared.get("ip_deny").toString()).isEqualTo("[\"10.1.0.0/16\"]");
        assertThat(cleared.get("rate_limit").isNull()).isTrue();
        JsonNode listed = running.api().get("/api/tunnels/" + tunnelId + "/services").json().get(0);
        assertThat(listed.get("ip_deny").toString()).isEqualTo("[\"10.1.0.0/16\"]");
    }

    @Test
    void invalidAddressBlocksAreRefusedWithTheEntryNamed() {
        assertRefused("ip_allow", "[\"example.com\"]", "example.com");
        assertRefused("ip_deny", "[\"10.0.0.1/8\"]", "did you mean 10.0.0.0/8");
        assertRefused("ip_allow", "[\"10.0.0.0/33\"]", "prefix length");
        assertRefused("ip_allow", "\"10.0.0.0/8\"", "must be a list");
    }

    /**
     * "192.168.1" meant the block 192.168.1.0/24 to its writer; Java, like inet_aton, reads it as the address
     * 192.168.0.1, which was stored and shown as "192.168.0.1/32". Leading zeros are read as decimal here and as
     * octal by inet_aton. Both are refused, as is a name made of hex digits and dots, which was looked up in DNS.
     */
    @Test
    void shortenedOrZeroPaddedIpv4AndHexLookingNamesAreRefusedNotReadAsOtherAddresses() {
        assertRefused("ip_deny", "[\"192.168.1\"]", "192.168.1");
        assertRefused("ip_allow", "[\"10.1/16\"]", "four numbers");
        assertRefused("ip_allow", "[\"010.0.0.1\"]", "leading zeros");
        assertRefused("ip_deny", "[\"cafe.de\"]", "cafe.de");
        assertThat(running.api().get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
    }

    @Test
    void invalidRateLimitsAreRefused() {
        assertRefused("rate_limit", "{\"per_second\":0}", "per_second");
        assertRefused("rate_limit", "{\"per_second\":1,\"burst\":0}", "burst");
        assertRefused("rate_limit", "{\"per_second\":1,\"bursts\":2}", "unknown field 'bursts'");
        assertRefused("rate_limit", "5", "per_second");
    }

    @Test
    void aRateGivenButOutOfRangeIsSaidSoNotSaidToBeMissing() {
        JsonNode created = create(HTTP + "}").json();
        String id = created.get("id").asText();
        ApiClient.Response negative = running.api().patch("/api/services/" + id, "{\"rate_limit\":{\"per_second\":-1}}");
        assertInvalid(negative, "rate_limit", "per_second -1 is refused: it must be a number above 0");
        assertThat(negative.json().get("message").asText()).doesNotContain("required");
        assertInvalid(running.api().patch("/api/services/" + id, "{\"rate_limit\":{\"per_second\":\"5\"}}"), "rate_limit",
                "per_second \"5\" is refused");
        assertRefused("rate_limit", "{\"burst\":3}", "per_second is required: it must be a number above 0");
        assertThat(running.api().get("/api/tunnels/" + tunnelId + "/services").json().get(0).get("rate_limit").isNull()).isTrue();
    }

    @Test
    void aBurstBeyondTheRangeOfALongIsRefusedNotWrappedAround() {
        // 2^64 + 1 was read as a long, 1, and stored as burst 1 with a 201.
        ApiClient.Response created = create(HTTP + ",\"rate_limit\":{\"per_second\":1,\"burst\":18446744073709551617}}");
        assertInvalid(created, "rate_limit", "burst");
        assertThat(running.api().get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
    }

    @Test
    void userNamesEmailsAndGroupsWithInvisibleFormattingCharactersAreRefused() {
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"op\\u202Es\",\"password\":\"long enough\"}",
                "username must not contain the control or invisible formatting character U+202E");
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"op\\u0085s\",\"password\":\"long enough\"}", "U+0085");
        assertRefused("auth", "{\"type\":\"oidc\",\"allowed_emails\":[\"al\\u200Bice@example.com\"]}",
                "allowed_emails: an entry contains the control or invisible formatting character U+200B");
        assertRefused("auth", "{\"type\":\"oidc\",\"allowed_groups\":[\"sta\\u2067ff\"]}",
                "allowed_groups: an entry contains the control or invisible formatting character U+2067");
        // The joiners a tunnel name may have between letters are refused in identifiers: "ad\u200Cmin" is not "admin".
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"ad\\u200Cmin\",\"password\":\"long enough\"}",
                "username must not contain the control or invisible formatting character U+200C");
        assertRefused("auth", "{\"type\":\"oidc\",\"allowed_groups\":[\"sta\\u200Dff\"]}",
                "allowed_groups: an entry contains the control or invisible formatting character U+200D");
        assertThat(create(HTTP + ",\"auth\":{\"type\":\"basic\",\"username\":\"Zoë\",\"password\":\"long enough\"}}")
                .status()).isEqualTo(201);
    }

    @Test
    void invalidAuthIsRefused() {
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"ops\"}", "password is required");
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"short\"}", "at least 8");
        assertRefused("auth", "{\"type\":\"basic\",\"username\":\"a:b\",\"password\":\"long enough\"}", "':'");
        assertRefused("auth", "{\"type\":\"magic\"}", "unknown type 'magic'");
        assertRefused("auth", "{\"type\":\"oidc\",\"allowed_emails\":[\"not-an-email\"]}", "not-an-email");
    }

    @Test
    void oidcAuthNeedsTheServersOidcProvider() {
        assertRefused("auth", "{\"type\":\"oidc\",\"allowed_emails\":[\"a@example.com\"]}", "PICOTUNNEL_OIDC_ISSUER");
    }

    @Test
    void tcpServicesTakeIpListsAndRateLimitsButNoAuth() {
        assertInvalid(create(tcp() + ",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"long enough\"}}"),
                "auth", "http services only");
        JsonNode ok = TcpServicePorts.create(running.api(), tunnelId, port -> "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + port
                + "\",\"target_addr\":\"localhost:22\",\"ip_deny\":[\"192.0.2.0/24\"],\"rate_limit\":{\"per_second\":2}}")
                .service();
        assertThat(ok.get("rate_limit").toString()).isEqualTo("{\"per_second\":2,\"burst\":2}");
    }

    @Test
    void passthroughServicesTakeOnlyIpAllowAndRateLimit() {
        assertInvalid(create(PASSTHROUGH + ",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"long enough\"}}"),
                "auth", "passthrough");
        assertInvalid(create(PASSTHROUGH + ",\"ip_deny\":[\"192.0.2.0/24\"]}"), "ip_deny", "passthrough");
        ApiClient.Response ok = create(PASSTHROUGH + ",\"ip_allow\":[\"192.0.2.0/24\"],\"rate_limit\":{\"per_second\":1,\"burst\":5}}");
        assertThat(ok.status()).as(ok.toString()).isEqualTo(201);

        // switching a terminated service with basic auth to passthrough is refused too
        String id = create(HTTP + ",\"auth\":{\"type\":\"basic\",\"username\":\"ops\",\"password\":\"long enough\"}}")
                .json().get("id").asText();
        assertInvalid(running.api().patch("/api/services/" + id, "{\"tls_mode\":\"passthrough\"}"), "auth", "passthrough");
    }
}
