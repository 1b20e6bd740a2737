package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's curl examples addressed to the management API (port 8080), sent as written, in order, to a real
 * server on loopback with its SQLite file: each answers with the status it implies and echoes the fields it sent.
 * Only what cannot run here is changed: the host and port, the admin token, the ids the earlier examples got, and a
 * tcp {@code listen_addr}, moved to a free loopback port.
 */
class ReadmeApiExamplesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern API_URL = Pattern.compile("https?://[^/]+:8080(/.*)");
    /** {@code TUNNEL_ID}, {@code $TUNNEL_ID}: the id the last example creating one of those got. */
    private static final Pattern ID_PLACEHOLDER = Pattern.compile("\\$?([A-Z]+)_ID");
    private static final Pattern SNAKE_CASE = Pattern.compile("[a-z0-9]+(_[a-z0-9]+)*");

    @TempDir
    Path dataDir;

    @Test
    void everyApiCurlExampleOfTheReadmeIsAnsweredWithTheFieldsItSent() throws Exception {
        List<CurlExample> examples = CurlExample.parseAll(Files.readString(ROOT.resolve("README.md")));
        // The gating example sets oidc auth, which needs the server's OIDC provider (not asked until a sign-in).
        PicoTunnelServer server = ApiTestServer.start(dataDir, Map.of(
                Setting.OIDC_ISSUER, "https://idp.invalid",
                Setting.OIDC_CLIENT_ID, "picotunnel",
                Setting.OIDC_CLIENT_SECRET, "client-secret",
                Setting.OIDC_REDIRECT_URL, "http://localhost:8080/auth/callback",
                Setting.OIDC_ALLOWED_EMAILS, "admin@example.com"));
        Map<String, String> createdIds = new HashMap<>();
        Set<String> methodsRun = new TreeSet<>();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            for (CurlExample example : examples) {
                Matcher api = API_URL.matcher(example.url());
                if (!api.matches()) {
                    continue; // a tcp service's port: the walk-through (ReadmeWalkthroughIT) reaches it
                }
                JsonNode sent = example.body() == null ? null : onLoopback(JSON.readTree(example.body()));
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.apiPort()
                                + withIds(api.group(1), createdIds, example)))
                        .timeout(Duration.ofSeconds(10))
                        .method(example.method(), sent == null ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(sent.toString()));
                example.headers().forEach((name, value) -> request.header(name,
                        value.replace("$PICOTUNNEL_ADMIN_TOKEN", server.adminToken())));
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());

                assertThat(response.statusCode()).as("%s answered %s", example, response.body())
                        .isEqualTo(expectedStatus(example.method()));
                JsonNode answer = JSON.readTree(response.body());
                assertSnakeCase(answer, example);
                if (sent != null) {
                    assertContains(answer, sent, example + ": the answer's .");
                }
                if (!example.jqFields().isEmpty()) {
                    assertThat(answer.fieldNames()).toIterable().as("%s: the fields jq reads", example)
                            .containsAll(example.jqFields());
                }
                if (example.method().equals("POST") && answer.hasNonNull("id")) {
                    String[] path = api.group(1).split("/");
                    String collection = path[path.length - 1].toUpperCase();
                    createdIds.put(collection.substring(0, collection.length() - 1), answer.get("id").asText());
                }
                methodsRun.add(example.method());
            }
        } finally {
            server.stop();
        }
        assertThat(methodsRun).as("the README's examples were found").contains("GET", "POST", "PATCH");
    }

    private static int expectedStatus(String method) {
        return switch (method) {
            case "POST" -> 201;
            case "DELETE" -> 204;
            default -> 200;
        };
    }

    private static String withIds(String path, Map<String, String> createdIds, CurlExample example) {
        Matcher placeholder = ID_PLACEHOLDER.matcher(path);
        StringBuilder resolved = new StringBuilder();
        while (placeholder.find()) {
            String id = createdIds.get(placeholder.group(1));
            assertThat(id).as("%s: no example before it created a %s", example, placeholder.group(1)).isNotNull();
            placeholder.appendReplacement(resolved, id);
        }
        return placeholder.appendTail(resolved).toString();
    }

    /** A tcp service's {@code listen_addr} on a free loopback port: tests listen on loopback only. */
    private static JsonNode onLoopback(JsonNode body) {
        if (body instanceof ObjectNode object && object.hasNonNull("listen_addr")) {
            object.put("listen_addr", "127.0.0.1:" + Ports.freePort());
        }
        return body;
    }

    /** Every field {@code sent} holds is in {@code answer} with the same value (objects may have more fields). */
    private static void assertContains(JsonNode answer, JsonNode sent, String where) {
        if (sent.isObject()) {
            assertThat(answer.isObject()).as("%s is an object: %s", where, answer).isTrue();
            for (Iterator<String> names = sent.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                assertThat(answer.has(name)).as("%s%s is missing: %s", where, name, answer).isTrue();
                assertContains(answer.get(name), sent.get(name), where + name + ".");
            }
        } else if (sent.isArray()) {
            assertThat(answer.isArray()).as("%s is an array: %s", where, answer).isTrue();
            assertThat(answer.size()).as("%s size: %s", where, answer).isEqualTo(sent.size());
            for (int i = 0; i < sent.size(); i++) {
                assertContains(answer.get(i), sent.get(i), where + i + ".");
            }
        } else if (where.contains(".ip_") && !sent.asText().contains("/")) {
            // docs/api.md: an address in ip_allow or ip_deny comes back as its /32 (IPv4) or /128 (IPv6) range.
            assertThat(answer.asText()).as(where).isIn(sent.asText() + "/32", sent.asText() + "/128");
        } else {
            assertThat(answer).as(where).isEqualTo(sent);
        }
    }

    private static void assertSnakeCase(JsonNode node, CurlExample example) {
        if (node.isObject()) {
            node.properties().forEach(field -> {
                assertThat(field.getKey()).as("%s: a field name", example).matches(SNAKE_CASE);
                assertSnakeCase(field.getValue(), example);
            });
        } else if (node.isArray()) {
            node.forEach(element -> assertSnakeCase(element, example));
        }
    }
}
