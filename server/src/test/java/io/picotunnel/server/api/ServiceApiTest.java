package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.RecordingListener;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.picotunnel.server.api.ServiceRequests.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

class ServiceApiTest {

    @TempDir
    Path dataDir;
    PicoTunnelServer server;
    ApiClient api;
    RecordingListener listener = new RecordingListener();
    String tunnelId;

    @BeforeEach
    void start() {
        server = ApiTestServer.start(dataDir, listener);
        api = new ApiClient(server.apiPort(), server.adminToken());
        tunnelId = ServiceRequests.createTunnel(api);
    }

    @AfterEach
    void stop() {
        api.close();
        server.stop();
    }

    private ApiClient.Response create(String json) {
        return ServiceRequests.createService(api, tunnelId, json);
    }

    private JsonNode created(String json) {
        ApiClient.Response response = create(json);
        assertThat(response.status()).as(response.toString()).isEqualTo(201);
        return response.json();
    }

    @Test
    void httpServiceGetsDefaultsAndALowerCaseDomain() {
        JsonNode service = created("{\"type\": \"http\", \"domain\": \"MyApp.Example.com\", \"target_addr\": \"localhost:8080\"}");

        assertThat(service.get("id").asText()).matches("[0-9a-f]{16}");
        assertThat(service.get("tunnel_id").asText()).isEqualTo(tunnelId);
        assertThat(service.get("type").asText()).isEqualTo("http");
        assertThat(service.get("domain").asText()).isEqualTo("myapp.example.com");
        assertThat(service.get("path_prefix").asText()).isEqualTo("/");
        assertThat(service.get("tls_mode").asText()).isEqualTo("terminate");
        assertThat(service.get("listen_addr").isNull()).isTrue();
        assertThat(service.get("target_addr").asText()).isEqualTo("localhost:8080");
        assertThat(service.get("enabled").asBoolean()).isTrue();
        assertThat(service.get("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    }

    @Test
    void tcpServiceKeepsItsListenAddress() {
        JsonNode service = created("{\"type\": \"tcp\", \"listen_addr\": \"0.0.0.0:2222\", \"target_addr\": \"localhost:22\","
                + " \"enabled\": false}");

        assertThat(service.get("listen_addr").asText()).isEqualTo("0.0.0.0:2222");
        assertThat(service.get("domain").isNull()).isTrue();
        assertThat(service.get("path_prefix").isNull()).isTrue();
        assertThat(service.get("tls_mode").isNull()).isTrue();
        assertThat(service.get("enabled").asBoolean()).isFalse();
    }

    @Test
    void wildcardDomainsPassthroughAndIpv6TargetsAreAccepted() {
        assertThat(created("{\"type\": \"http\", \"domain\": \"*.example.com\", \"target_addr\": \"[::1]:80\"}")
                .get("target_addr").asText()).isEqualTo("[::1]:80");
        assertThat(created("{\"type\": \"http\", \"domain\": \"tls.example.com\", \"tls_mode\": \"passthrough\","
                + " \"target_addr\": \"10.0.0.5:443\"}").get("tls_mode").asText()).isEqualTo("passthrough");
        assertThat(created("{\"type\": \"tcp\", \"listen_addr\": \":5432\", \"target_addr\": \"db:5432\"}")
                .get("listen_addr").asText()).isEqualTo(":5432");
    }

    @Test
    void servicesOfATunnelAreListedInCreationOrder() {
        String first = created("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:1\"}").get("id").asText();
        String second = created("{\"type\": \"tcp\", \"listen_addr\": \":20001\", \"target_addr\": \"localhost:2\"}").get("id").asText();
        String otherTunnel = api.post("/api/tunnels", "{\"name\": \"other\"}").json().get("id").asText();
        api.post("/api/tunnels/" + otherTunnel + "/services",
                "{\"type\": \"http\", \"domain\": \"b.example.com\", \"target_addr\": \"localhost:3\"}");

        ApiClient.Response list = api.get("/api/tunnels/" + tunnelId + "/services");

        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json()).extracting(node -> node.get("id").asText()).containsExactly(first, second);
        assertThat(api.get("/api/tunnels/" + otherTunnel + "/services").json()).hasSize(1);
    }

    @Test
    void unknownTunnelIs404ForListAndCreate() {
        assertThat(api.get("/api/tunnels/ffffffffffffffff/services").status()).isEqualTo(404);
        ApiClient.Response create = api.post("/api/tunnels/ffffffffffffffff/services",
                "{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:1\"}");
        assertThat(create.status()).isEqualTo(404);
        assertThat(create.json().get("error").asText()).isEqualTo("not_found");
    }

    @Test
    void badFieldsAre400NamingTheField() {
        assertInvalid(create("{\"domain\": \"a.example.com\", \"target_addr\": \"localhost:1\"}"), "type", "required");
        assertInvalid(create("{\"type\": \"udp\", \"target_addr\": \"localhost:1\"}"), "type", "unknown type 'udp'");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\"}"), "target_addr", "required");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost\"}"),
                "target_addr", "host:port");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \":8080\"}"),
                "target_addr", "no host");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:70000\"}"),
                "target_addr", "out of range");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:0\"}"),
                "target_addr", "out of range");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"bad_host!:80\"}"),
                "target_addr", "invalid host name");
        assertInvalid(create("{\"type\": \"http\", \"target_addr\": \"localhost:1\"}"), "domain", "required");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"bad_domain!.com\", \"target_addr\": \"localhost:1\"}"),
                "domain", "not a valid host name");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"*.*.example.com\", \"target_addr\": \"localhost:1\"}"),
                "domain", "not a valid host name");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"path_prefix\": \"api\","
                + " \"target_addr\": \"localhost:1\"}"), "path_prefix", "must start with \"/\"");
        // The proxy answers a request path with such an escape 400: the service could never be reached.
        for (String prefix : new String[] {"/%zz", "/api/%", "/%4", "/a%2g"}) {
            assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"path_prefix\": \"" + prefix + "\","
                    + " \"target_addr\": \"localhost:1\"}"), "path_prefix", "not followed by two hex digits");
        }
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"path_prefix\": \"/adm\\u200Bin\","
                + " \"target_addr\": \"localhost:1\"}"), "path_prefix", "invisible formatting character U+200B");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"path_prefix\": \"/\\u202Enimda\","
                + " \"target_addr\": \"localhost:1\"}"), "path_prefix", "invisible formatting character U+202E");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"health_path\": \"/health\\uFEFF\","
                + " \"target_addr\": \"localhost:1\"}"), "health_path", "invisible formatting character U+FEFF");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"tls_mode\": \"mirror\","
                + " \"target_addr\": \"localhost:1\"}"), "tls_mode", "unknown mode");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"tls_mode\": \"passthrough\","
                + " \"path_prefix\": \"/api\", \"target_addr\": \"localhost:1\"}"), "path_prefix", "passthrough");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com\", \"listen_addr\": \":1\","
                + " \"target_addr\": \"localhost:1\"}"), "listen_addr", "tcp services only");
        assertInvalid(create("{\"type\": \"tcp\", \"target_addr\": \"localhost:1\"}"), "listen_addr", "required");
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \"0.0.0.0:99999\", \"target_addr\": \"localhost:1\"}"),
                "listen_addr", "out of range");
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \"2222\", \"target_addr\": \"localhost:1\"}"),
                "listen_addr", "host:port");
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \":2222\", \"domain\": \"a.example.com\","
                + " \"target_addr\": \"localhost:1\"}"), "domain", "http services only");
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \":2222\", \"target_addr\": \"localhost:1\","
                + " \"enabled\": \"yes\"}"), "enabled", "true or false");

        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
        assertThat(listener.changes).isEmpty();
    }

    @Test
    void anIpAddressOrAWildcardOverATopLevelDomainIsNoDomain() {
        for (String notADomain : new String[] {"1.2.3.4", "app.123", "7", "*.1.2.3.4", "app.0x7f", "0x7f000001",
                "App.0X7F", "*.example.0xff", "app.0x"}) {
            assertInvalid(create("{\"type\": \"http\", \"domain\": \"" + notADomain + "\", \"target_addr\": \"localhost:1\"}"),
                    "domain", "IP address");
        }
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"*.com\", \"target_addr\": \"localhost:1\"}"),
                "domain", "a wildcard needs a name of two labels or more");
        String id = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:1\"}")
                .get("id").asText();
        assertInvalid(api.patch("/api/services/" + id, "{\"domain\": \"*.com\"}"), "domain", "every name under .com");
        assertInvalid(api.patch("/api/services/" + id, "{\"domain\": \"10.0.0.1\"}"), "domain", "IP address");
        assertInvalid(api.patch("/api/services/" + id, "{\"domain\": \"app.0x7f\"}"), "domain", "IP address");

        for (String domain : new String[] {"intranet", "localhost", "*.example.com", "*.intranet.lan", "123.example.com",
                "1-2-3-4.example.com", "app.example.x1", "app.0xfg", "0x7f.example.com", "app.x7f"}) {
            created("{\"type\": \"http\", \"domain\": \"" + domain + "\", \"target_addr\": \"localhost:1\"}");
        }
    }

    @Test
    void aDomainOrTargetBeyondAsciiIsStoredAndAnsweredInItsXnForm() {
        JsonNode service = created("{\"type\": \"http\", \"domain\": \"B\u00fccher.localhost\","
                + " \"target_addr\": \"b\u00fccher.lan:8080\"}");

        assertThat(service.get("domain").asText()).isEqualTo("xn--bcher-kva.localhost");
        assertThat(service.get("target_addr").asText()).isEqualTo("xn--bcher-kva.lan:8080");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json().get(0)).isEqualTo(service);
        assertThat(created("{\"type\": \"http\", \"domain\": \"*.stra\u00dfe.example\", \"target_addr\": \"localhost:1\"}")
                .get("domain").asText()).isEqualTo("*.xn--strae-oqa.example");
        // Ideographic full stops separate labels as dots do.
        assertThat(created("{\"type\": \"http\", \"domain\": \"\u4f8b\u3002example\", \"target_addr\": \"localhost:1\"}")
                .get("domain").asText()).isEqualTo("xn--fsq.example");
        ApiClient.Response patched = api.patch("/api/services/" + service.get("id").asText(),
                "{\"domain\": \"fa\u00df.localhost\"}");
        assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
        assertThat(patched.json().get("domain").asText()).isEqualTo("xn--fa-hia.localhost");
        assertThat(created("{\"type\": \"tcp\", \"listen_addr\": \":20002\", \"target_addr\": \"stra\u00dfe.lan:22\"}")
                .get("target_addr").asText()).isEqualTo("xn--strae-oqa.lan:22");
    }

    @Test
    void aDomainInUnicodeAndTheSameInItsXnFormAreOneDomain() {
        created("{\"type\": \"http\", \"domain\": \"b\u00fccher.localhost\", \"target_addr\": \"localhost:1\"}");
        created("{\"type\": \"http\", \"domain\": \"xn--strae-oqa.localhost\", \"target_addr\": \"localhost:2\"}");

        for (String same : new String[] {"xn--bcher-kva.localhost", "B\u00dcCHER.localhost", "stra\u00dfe.localhost"}) {
            ApiClient.Response duplicate = create("{\"type\": \"http\", \"domain\": \"" + same + "\","
                    + " \"target_addr\": \"localhost:3\"}");
            assertThat(duplicate.status()).as(same + ": " + duplicate).isEqualTo(409);
            assertThat(duplicate.json().get("error").asText()).isEqualTo("conflict");
            assertThat(duplicate.json().get("field").asText()).isEqualTo("domain");
        }
        // straße is not strasse: IDNA2008 keeps the sharp s.
        assertThat(created("{\"type\": \"http\", \"domain\": \"strasse.localhost\", \"target_addr\": \"localhost:4\"}")
                .get("domain").asText()).isEqualTo("strasse.localhost");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(3);
    }

    @Test
    void aNameBeyondAsciiThatCannotBeConvertedIs400SayingWhy() {
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a\u200db.example\", \"target_addr\": \"localhost:1\"}"),
                "domain", "U+200D ZERO WIDTH JOINER");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a\u200cb.example\", \"target_addr\": \"localhost:1\"}"),
                "domain", "give the name in its xn-- form");
        // U+1E9E, capital sharp s, is newer than the Unicode 3.2 that Java's IDN knows.
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"\u1e9e.example\", \"target_addr\": \"localhost:1\"}"),
                "domain", "Unicode 3.2");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"b\u00fc cher.example\", \"target_addr\": \"localhost:1\"}"),
                "domain", "U+0020 SPACE");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"app.example\", \"target_addr\": \"b\u00fc_cher.lan:80\"}"),
                "target_addr", "'_' (U+005F LOW LINE)");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"app.example\", \"target_addr\": \"a\u200db.lan:80\"}"),
                "target_addr", "U+200D ZERO WIDTH JOINER");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
    }

    @Test
    void aServiceStoredWithAWildcardOverATopLevelDomainStaysEditable() throws Exception {
        Service stored = server.store().createService(new Service(null, tunnelId, ServiceType.HTTP, "*.com", "/",
                TlsMode.TERMINATE, null, "localhost:1", true, null)).orElseThrow();

        ApiClient.Response disabled = api.patch("/api/services/" + stored.id(), "{\"enabled\": false}");

        assertThat(disabled.status()).as(disabled.toString()).isEqualTo(200);
        assertThat(disabled.json().get("domain").asText()).isEqualTo("*.com");
    }

    @Test
    void duplicateDomainAndPathIs409() {
        created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:1\"}");
        created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/api\", \"target_addr\": \"localhost:2\"}");

        ApiClient.Response duplicate = create("{\"type\": \"http\", \"domain\": \"APP.example.com\", \"path_prefix\": \"/api\","
                + " \"target_addr\": \"localhost:3\"}");

        assertThat(duplicate.status()).isEqualTo(409);
        assertThat(duplicate.json().get("error").asText()).isEqualTo("conflict");
        assertThat(duplicate.json().get("message").asText()).contains("app.example.com").contains("/api");
        assertThat(duplicate.json().get("field").asText()).isEqualTo("domain");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(2);
    }

    @Test
    void aPathPrefixOutsideAsciiIsStoredPercentEncodedAsBrowsersSendIt() {
        // Browsers send /café as /caf%C3%A9, which the proxy routes in that form: stored as typed, the prefix would
        // never match, and /caf%C3%A9 would be refused as read as another service's path (decoded).
        JsonNode cafe = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/café/ü\","
                + " \"target_addr\": \"localhost:1\"}");
        assertThat(cafe.get("path_prefix").asText()).isEqualTo("/caf%C3%A9/%C3%BC");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json().get(0).get("path_prefix").asText())
                .isEqualTo("/caf%C3%A9/%C3%BC");
        // The same prefix typed either way is the same route.
        ApiClient.Response duplicate = create("{\"type\": \"http\", \"domain\": \"app.example.com\","
                + " \"path_prefix\": \"/caf%C3%A9/%C3%BC\", \"target_addr\": \"localhost:2\"}");
        assertThat(duplicate.status()).as(duplicate.toString()).isEqualTo(409);
        // Four UTF-8 bytes per emoji: PATCH too, and the length counts once encoded.
        String id = created("{\"type\": \"http\", \"domain\": \"b.example.com\", \"target_addr\": \"localhost:1\"}")
                .get("id").asText();
        ApiClient.Response patched = api.patch("/api/services/" + id, "{\"path_prefix\": \"/\\uD83D\\uDE80x\"}");
        assertThat(patched.json().get("path_prefix").asText()).as(patched.toString()).isEqualTo("/%F0%9F%9A%80x");
        assertInvalid(api.patch("/api/services/" + id, "{\"path_prefix\": \"/" + "é".repeat(200) + "\"}"),
                "path_prefix", "once percent-encoded as browsers send it (1201)");
    }

    @Test
    void asciiCharactersBrowsersPercentEncodeAreStoredPercentEncodedToo() {
        // A browser sends /a b/<x>/"q"/`t`/{id}/^ as below (WHATWG path percent-encode set): stored as typed, the
        // prefix would never match its requests. Other ASCII characters stay as typed.
        JsonNode created = created("{\"type\": \"http\", \"domain\": \"app.example.com\","
                + " \"path_prefix\": \"/a b/<x>/\\\"q\\\"/`t`/{id}/^/é|[]!$&'()*+,;=:@~%2F\", \"target_addr\": \"localhost:1\"}");
        assertThat(created.get("path_prefix").asText())
                .isEqualTo("/a%20b/%3Cx%3E/%22q%22/%60t%60/%7Bid%7D/%5E/%C3%A9|[]!$&'()*+,;=:@~%2F");
        // Typed encoded (in either case) it is the same route.
        ApiClient.Response duplicate = create("{\"type\": \"http\", \"domain\": \"app.example.com\","
                + " \"path_prefix\": \"/a%20b/%3cx%3e/%22q%22/%60t%60/%7bid%7d/%5e/%c3%a9|[]!$&'()*+,;=:@~%2f\","
                + " \"target_addr\": \"localhost:2\"}");
        assertThat(duplicate.status()).as(duplicate.toString()).isEqualTo(409);
        // PATCH too, and the length counts once encoded; controls, '?' and '#' are still refused.
        String id = created("{\"type\": \"http\", \"domain\": \"b.example.com\", \"target_addr\": \"localhost:1\"}")
                .get("id").asText();
        ApiClient.Response patched = api.patch("/api/services/" + id, "{\"path_prefix\": \"/{x}\"}");
        assertThat(patched.json().get("path_prefix").asText()).as(patched.toString()).isEqualTo("/%7Bx%7D");
        assertInvalid(api.patch("/api/services/" + id, "{\"path_prefix\": \"/" + "<".repeat(400) + "\"}"),
                "path_prefix", "once percent-encoded as browsers send it (1201)");
        for (String refused : List.of("/a\\tb", "/a?b", "/a#b", "/a\\u007fb")) {
            assertInvalid(api.patch("/api/services/" + id, "{\"path_prefix\": \"" + refused + "\"}"),
                    "path_prefix", "must not contain control characters, '?' or '#'");
        }
    }

    @Test
    void prefixesThatRouteTheSameAreADuplicate() {
        created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/caf%C3%A9\","
                + " \"target_addr\": \"localhost:1\"}");
        created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/api\","
                + " \"target_addr\": \"localhost:2\"}");
        // Routing compares prefixes in normal form (hex case, unreserved characters decoded, dot segments, trailing
        // slashes): each of these is one of the two above.
        for (String same : List.of("/caf%c3%a9", "/café/", "/%61pi", "/api/", "/x/../api", "/./api")) {
            ApiClient.Response duplicate = create("{\"type\": \"http\", \"domain\": \"app.example.com\","
                    + " \"path_prefix\": \"" + same + "\", \"target_addr\": \"localhost:3\"}");
            assertThat(duplicate.status()).as(same + ": " + duplicate).isEqualTo(409);
            assertThat(duplicate.json().get("error").asText()).isEqualTo("conflict");
            assertThat(duplicate.json().get("message").asText()).as(same).contains("routes the same requests");
        }
        // PATCH too; a prefix that routes differently is fine.
        String id = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/apix\","
                + " \"target_addr\": \"localhost:4\"}").get("id").asText();
        assertThat(api.patch("/api/services/" + id, "{\"path_prefix\": \"/%61pi\"}").status()).isEqualTo(409);
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(3);
    }

    @Test
    void passthroughServiceNeedsItsDomainToItself() {
        created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"path_prefix\": \"/api\", \"target_addr\": \"localhost:1\"}");

        ApiClient.Response passthrough = create("{\"type\": \"http\", \"domain\": \"app.example.com\", \"tls_mode\": \"passthrough\","
                + " \"target_addr\": \"localhost:443\"}");

        assertThat(passthrough.status()).isEqualTo(409);
        assertThat(passthrough.json().get("message").asText()).contains("passthrough");
    }

    @Test
    void overlappingListenAddressIs409() {
        created("{\"type\": \"tcp\", \"listen_addr\": \"127.0.0.1:20022\", \"target_addr\": \"localhost:22\"}");

        for (String clash : new String[] {"127.0.0.1:20022", ":20022", "0.0.0.0:20022"}) {
            ApiClient.Response duplicate = create("{\"type\": \"tcp\", \"listen_addr\": \"" + clash + "\", \"target_addr\": \"localhost:23\"}");
            assertThat(duplicate.status()).as(clash).isEqualTo(409);
            assertThat(duplicate.json().get("field").asText()).isEqualTo("listen_addr");
            assertThat(duplicate.json().get("message").asText()).contains("127.0.0.1:20022");
        }
        created("{\"type\": \"tcp\", \"listen_addr\": \"127.0.0.2:20022\", \"target_addr\": \"localhost:24\"}");
    }

    @Test
    void aListenAddressWhoseNameDoesNotResolveIs409SayingSo() {
        // Netty's UnresolvedAddressException has no message: the answer read "cannot listen on ...: null".
        ApiClient.Response refused = create("{\"type\": \"tcp\", \"listen_addr\": \"nowhere.invalid:"
                + Ports.freePort() + "\", \"target_addr\": \"localhost:22\"}");

        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("field").asText()).isEqualTo("listen_addr");
        assertThat(refused.json().get("message").asText()).contains("nowhere.invalid").contains("does not resolve")
                .doesNotContain("null");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
    }

    @Test
    void aTcpServiceCannotTakeOneOfTheServersOwnPorts() {
        stop();
        int httpPort = Ports.freePort();
        server = ApiTestServer.start(dataDir, Map.of(Setting.HTTP_ADDR, "127.0.0.1:" + httpPort), listener);
        api = new ApiClient(server.apiPort(), server.adminToken());
        tunnelId = ServiceRequests.createTunnel(api);

        ApiClient.Response taken = create("{\"type\": \"tcp\", \"listen_addr\": \":" + httpPort + "\", \"target_addr\": \"localhost:80\"}");

        assertThat(taken.status()).isEqualTo(409);
        assertThat(taken.json().get("field").asText()).isEqualTo("listen_addr");
        assertThat(taken.json().get("message").asText()).contains("--http-addr");
        assertThat(listener.changes).isEmpty();
    }

    @Test
    void patchChangesGivenFieldsAndAnswersTheWholeService() {
        JsonNode service = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:1\"}");
        String id = service.get("id").asText();

        ApiClient.Response patched = api.patch("/api/services/" + id, "{\"target_addr\": \"localhost:9000\", \"enabled\": false,"
                + " \"path_prefix\": \"/v2\"}");

        assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
        JsonNode json = patched.json();
        assertThat(json.get("target_addr").asText()).isEqualTo("localhost:9000");
        assertThat(json.get("enabled").asBoolean()).isFalse();
        assertThat(json.get("path_prefix").asText()).isEqualTo("/v2");
        assertThat(json.get("domain").asText()).isEqualTo("app.example.com");
        assertThat(json.get("created_at")).isEqualTo(service.get("created_at"));
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json().get(0)).isEqualTo(json);

        ApiClient.Response reset = api.patch("/api/services/" + id, "{\"path_prefix\": null}");
        assertThat(reset.json().get("path_prefix").asText()).isEqualTo("/");
    }

    @Test
    void httpsRedirectIsOffByDefaultSettableOnHttpServicesAndStored() {
        JsonNode plain = created("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:1\"}");
        assertThat(plain.get("https_redirect").asBoolean()).isFalse();
        JsonNode redirecting = created("{\"type\": \"http\", \"domain\": \"b.example.com\", \"target_addr\": \"localhost:1\","
                + " \"https_redirect\": true}");
        assertThat(redirecting.get("https_redirect").asBoolean()).isTrue();
        ApiClient.Response patched = api.patch("/api/services/" + plain.get("id").asText(), "{\"https_redirect\": true}");
        assertThat(patched.json().get("https_redirect").asBoolean()).isTrue();
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \":20024\", \"target_addr\": \"localhost:22\","
                + " \"https_redirect\": true}"), "https_redirect", "http services only");

        api.close();
        server.stop();
        server = ApiTestServer.start(dataDir, listener);
        api = new ApiClient(server.apiPort(), server.adminToken());

        JsonNode stored = api.get("/api/tunnels/" + tunnelId + "/services").json();
        assertThat(stored.get(0).get("https_redirect").asBoolean()).isTrue();
        assertThat(stored.get(1).get("https_redirect").asBoolean()).isTrue();
    }

    @Test
    void aTargetNamedAsDockerNamesContainersWithAnUnderscoreIsAcceptedButADomainIsNot() {
        JsonNode http = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"My_App:8080\"}");
        assertThat(http.get("target_addr").asText()).isEqualTo("my_app:8080");
        JsonNode tcp = created("{\"type\": \"tcp\", \"listen_addr\": \":20030\", \"target_addr\": \"project_db_1:5432\"}");
        assertThat(tcp.get("target_addr").asText()).isEqualTo("project_db_1:5432");

        ApiClient.Response patched = api.patch("/api/services/" + tcp.get("id").asText(),
                "{\"target_addr\": \"project_db_2.compose_default:5432\"}");
        assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
        assertThat(patched.json().get("target_addr").asText()).isEqualTo("project_db_2.compose_default:5432");

        assertInvalid(create("{\"type\": \"http\", \"domain\": \"my_app.example.com\", \"target_addr\": \"localhost:1\"}"),
                "domain", "'_' may be in a target's host name");
        assertInvalid(create("{\"type\": \"tcp\", \"listen_addr\": \"my_host:20031\", \"target_addr\": \"localhost:1\"}"),
                "listen_addr", "not in an address to listen on");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"_-:80\"}"),
                "target_addr", "invalid host name");
    }

    /** The address bar, cloudflared's --url and ngrok's URLs teach a domain with its scheme and port. */
    @Test
    void aDomainWithASchemeOrAPortIsToldWhichPartItTakesNotWithTheNameToWrite() {
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"a.example.com:8000\", \"target_addr\": \"localhost:1\"}"),
                "domain", "'a.example.com:8000' has a port; a domain takes no port: the port is the proxy's"
                        + " (--http-addr, --https-addr); write 'a.example.com'");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"https://a.example.com\", \"target_addr\": \"localhost:1\"}"),
                "domain", "'https://a.example.com' is a URL, not a domain; write 'a.example.com'");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"http://*.example.com:8000/app?x=1\","
                        + " \"target_addr\": \"localhost:1\"}"),
                "domain", "'http://*.example.com:8000/app?x=1' is a URL, not a domain; a domain takes no port: the port"
                        + " is the proxy's (--http-addr, --https-addr); write '*.example.com'");
        ApiClient.Response patched = api.patch("/api/services/" + created(
                "{\"type\": \"http\", \"domain\": \"b.example.com\", \"target_addr\": \"localhost:1\"}").get("id").asText(),
                "{\"domain\": \"https://b.example.com/\"}");
        assertInvalid(patched, "domain", "'https://b.example.com/' is a URL, not a domain; write 'b.example.com'");
        assertInvalid(create("{\"type\": \"http\", \"domain\": \"bad_domain!.com:80\", \"target_addr\": \"localhost:1\"}"),
                "domain", "not a valid host name");
    }

    @Test
    void patchAcceptsTheObjectItReceived() {
        JsonNode service = created("{\"type\": \"tcp\", \"listen_addr\": \":20023\", \"target_addr\": \"localhost:22\"}");
        String echoed = service.toString().replace("localhost:22", "localhost:2022");

        ApiClient.Response patched = api.patch("/api/services/" + service.get("id").asText(), echoed);

        assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
        assertThat(patched.json().get("target_addr").asText()).isEqualTo("localhost:2022");
    }

    @Test
    void patchValidatesAndKeepsTheServiceOnError() {
        JsonNode service = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:1\"}");
        created("{\"type\": \"http\", \"domain\": \"other.example.com\", \"target_addr\": \"localhost:2\"}");
        String id = service.get("id").asText();

        assertInvalid(api.patch("/api/services/" + id, "{\"target_addr\": \"nope\"}"), "target_addr", "host:port");
        assertInvalid(api.patch("/api/services/" + id, "{\"type\": \"tcp\"}"), "type", "cannot be changed");
        ApiClient.Response conflict = api.patch("/api/services/" + id, "{\"domain\": \"other.example.com\"}");
        assertThat(conflict.status()).isEqualTo(409);
        assertThat(conflict.json().get("field").asText()).isEqualTo("domain");

        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json().get(0)).isEqualTo(service);
        assertThat(api.patch("/api/services/ffffffffffffffff", "{\"enabled\": true}").status()).isEqualTo(404);
    }

    @Test
    void deleteAnswers204ThenTheServiceIsGone() {
        String id = created("{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:1\"}").get("id").asText();

        ApiClient.Response deleted = api.delete("/api/services/" + id);

        assertThat(deleted.status()).isEqualTo(204);
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
        assertThat(api.delete("/api/services/" + id).status()).isEqualTo(404);
        assertThat(api.patch("/api/services/" + id, "{}").status()).isEqualTo(404);
    }

    @Test
    void listenersAreToldOfEveryChange() {
        String id = created("{\"type\": \"tcp\", \"listen_addr\": \":20024\", \"target_addr\": \"localhost:22\"}").get("id").asText();
        api.patch("/api/services/" + id, "{\"target_addr\": \"localhost:23\"}");
        api.delete("/api/services/" + id);

        assertThat(listener.changes).hasSize(3);
        assertThat(listener.changes.get(0).isCreate()).isTrue();
        assertThat(listener.changes.get(0).after().id()).isEqualTo(id);
        assertThat(listener.changes.get(1).before().targetAddr()).isEqualTo("localhost:22");
        assertThat(listener.changes.get(1).after().targetAddr()).isEqualTo("localhost:23");
        assertThat(listener.changes.get(2).isDelete()).isTrue();
        assertThat(listener.changes.get(2).before().id()).isEqualTo(id);
    }

    @Test
    void deletingATunnelTellsListenersOfEachServiceRemoved() {
        String first = created("{\"type\": \"tcp\", \"listen_addr\": \":20025\", \"target_addr\": \"localhost:22\"}").get("id").asText();
        String second = created("{\"type\": \"http\", \"domain\": \"a.example.com\", \"target_addr\": \"localhost:1\"}").get("id").asText();
        listener.changes.clear();

        assertThat(api.delete("/api/tunnels/" + tunnelId).status()).isEqualTo(204);

        assertThat(listener.changes).allMatch(RecordingListener.Change::isDelete)
                .extracting(change -> change.before().id()).containsExactlyInAnyOrder(first, second);
    }

    @Test
    void aRefusingListenerGives409AndLeavesNothingHalfCreated() {
        listener.refuse(change -> change.after() != null && change.after().listenAddr() != null
                && change.after().listenAddr().endsWith(":20026"), "port 20026 is already in use");

        ApiClient.Response refused = create("{\"type\": \"tcp\", \"listen_addr\": \":20026\", \"target_addr\": \"localhost:22\"}");

        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().get("message").asText()).isEqualTo("port 20026 is already in use");
        assertThat(api.get("/api/tunnels/" + tunnelId + "/services").json()).isEmpty();
        assertThat(server.store().services()).isEmpty();
        assertThat(listener.changes).isEmpty();

        String id = created("{\"type\": \"tcp\", \"listen_addr\": \":20027\", \"target_addr\": \"localhost:22\"}").get("id").asText();
        ApiClient.Response refusedUpdate = api.patch("/api/services/" + id, "{\"listen_addr\": \":20026\"}");
        assertThat(refusedUpdate.status()).isEqualTo(409);
        assertThat(server.store().service(id)).get().extracting(s -> s.listenAddr()).isEqualTo(":20027");
    }

    @Test
    void aRefusalByOneListenerIsUndoneInTheListenersAlreadyTold() {
        stop();
        RecordingListener accepting = new RecordingListener();
        RecordingListener refusing = new RecordingListener();
        refusing.refuse(change -> change.isCreate(), "no");
        server = ApiTestServer.start(dataDir, accepting, refusing);
        api = new ApiClient(server.apiPort(), server.adminToken());

        ApiClient.Response refused = create("{\"type\": \"tcp\", \"listen_addr\": \":20028\", \"target_addr\": \"localhost:22\"}");

        assertThat(refused.status()).isEqualTo(409);
        assertThat(accepting.changes).hasSize(2);
        assertThat(accepting.changes.get(0).isCreate()).isTrue();
        assertThat(accepting.changes.get(1).isDelete()).isTrue();
        assertThat(accepting.changes.get(1).before()).isEqualTo(accepting.changes.get(0).after());
        assertThat(server.store().services()).isEmpty();
    }

    @Test
    void aRefusedTunnelDeletionKeepsTheTunnelAndItsServices() {
        String id = created("{\"type\": \"tcp\", \"listen_addr\": \":20029\", \"target_addr\": \"localhost:22\"}").get("id").asText();
        listener.refuse(RecordingListener.Change::isDelete, "cannot release the port");

        ApiClient.Response refused = api.delete("/api/tunnels/" + tunnelId);

        assertThat(refused.status()).isEqualTo(409);
        assertThat(api.get("/api/tunnels/" + tunnelId).status()).isEqualTo(200);
        assertThat(server.store().service(id)).isPresent();
    }
}
