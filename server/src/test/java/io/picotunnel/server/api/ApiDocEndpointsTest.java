package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.PicoTunnelServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/api.md's endpoint table, row by row, against a real server on loopback with its SQLite file: each path
 * answers the status its row says, a list as a bare JSON array, an object with the fields the doc lists for it
 * (exactly those of a {@code {status, timestamp, ...}} in the row; at least those of the "Tunnel:" and "Service:"
 * lists, which more paragraphs extend), and a JSON body the row shows is accepted as written.
 */
class ApiDocEndpointsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ROW = Pattern.compile("(?m)^\\| `(GET|POST|PATCH|DELETE) ([^`]+)` *\\|([^|]*)\\|([^|]*)\\|");
    private static final Pattern STATUS = Pattern.compile("\\b([1-5]\\d\\d)\\b");
    private static final Pattern FIELD_LIST = Pattern.compile("`\\{([a-z_, ]+)}`");
    private static final Pattern JSON_BODY = Pattern.compile("`(\\{\".*?})`");
    /** Rows whose body is described, not shown: the least the endpoint takes. */
    private static final Map<String, String> DESCRIBED_BODIES = Map.of(
            "service fields", "{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:3000\"}",
            "the fields to change", "{\"enabled\": true}");

    record Row(String method, String path, String success, String body) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    @TempDir
    Path dataDir;

    @Test
    void everyEndpointOfTheTableAnswersAsItsRowSays() throws Exception {
        String doc = Files.readString(ROOT.resolve("docs/api.md"));
        List<Row> rows = new ArrayList<>();
        Matcher row = ROW.matcher(doc);
        while (row.find()) {
            rows.add(new Row(row.group(1), row.group(2).strip(), row.group(3).strip(), row.group(4).strip()));
        }
        assertThat(rows).as("the endpoint table of docs/api.md").hasSizeGreaterThan(15);
        // Deletions last, the service's before its tunnel's, so that every other row has something to act on.
        List<Row> ordered = new ArrayList<>(rows.stream().filter(r -> !r.method().equals("DELETE")).toList());
        ordered.addAll(rows.stream().filter(r -> r.method().equals("DELETE")).toList().reversed());

        Map<String, Set<String>> objectFields = Map.of(
                "tunnel", fieldList(doc, "Tunnel"), "service", fieldList(doc, "Service"));
        Map<String, String> ids = new HashMap<>();
        PicoTunnelServer server = ApiTestServer.start(dataDir);
        try (ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            for (Row endpoint : ordered) {
                String path = concrete(endpoint.path(), ids);
                String body = body(endpoint);
                ApiClient.Response response = api.send(endpoint.method(), path,
                        body == null ? null : "application/json", body);
                Matcher status = STATUS.matcher(endpoint.success());
                assertThat(status.find()).as("%s: a status in %s", endpoint, endpoint.success()).isTrue();
                assertThat(response.status()).as("%s (%s) answered %s", endpoint, path, response)
                        .isEqualTo(Integer.parseInt(status.group(1)));
                if (response.status() == 204 || !String.valueOf(response.header("Content-Type")).contains("json")) {
                    continue;
                }
                JsonNode answer = response.json();
                Set<String> documented = documentedFields(endpoint.success(), objectFields);
                if (endpoint.success().contains("array") || endpoint.success().contains("`[]`")) {
                    assertThat(answer.isArray()).as("%s answers a bare array: %s", endpoint, answer).isTrue();
                } else if (FIELD_LIST.matcher(endpoint.success()).find()) {
                    // A row listing its fields lists all of them.
                    assertThat(answer.fieldNames()).toIterable().as("%s: the fields its row lists", endpoint)
                            .containsExactlyInAnyOrderElementsOf(documented);
                } else if (!documented.isEmpty()) {
                    assertThat(answer.fieldNames()).toIterable().as("%s: the fields docs/api.md lists", endpoint)
                            .containsAll(documented);
                }
                if (endpoint.method().equals("POST") && answer.hasNonNull("id")) {
                    ids.put(path.substring(path.lastIndexOf('/') + 1), answer.get("id").asText());
                }
                if (body != null && endpoint.body().startsWith("`{")) {
                    JsonNode sent = JSON.readTree(body);
                    sent.properties().forEach(field -> assertThat(answer.get(field.getKey()))
                            .as("%s: the answer's %s", endpoint, field.getKey()).isEqualTo(field.getValue()));
                }
            }
        } finally {
            server.stop();
        }
    }

    /** The fields the row lists in {@code {a, b}}, or those of the object it names ("201 tunnel"). */
    private static Set<String> documentedFields(String success, Map<String, Set<String>> objectFields) {
        Matcher list = FIELD_LIST.matcher(success);
        if (list.find()) {
            return new LinkedHashSet<>(List.of(list.group(1).split(",\\s*")));
        }
        Matcher named = Pattern.compile("^\\d{3} (?:whole )?(tunnel|service)\\b").matcher(success);
        return named.find() ? objectFields.get(named.group(1)) : Set.of();
    }

    /** The fields the doc lists after "Tunnel: " or "Service: ", a list that may run over lines. */
    private static Set<String> fieldList(String doc, String object) {
        Matcher list = Pattern.compile("(?m)^" + object + ": `\\{([^}]*)}`").matcher(doc);
        assertThat(list.find()).as("docs/api.md lists the fields of a %s", object).isTrue();
        return new LinkedHashSet<>(List.of(list.group(1).strip().split(",\\s*")));
    }

    /** {@code {id}} after tunnels or services is the id the POST of that collection got; N and S are examples. */
    private static String concrete(String path, Map<String, String> ids) {
        Matcher id = Pattern.compile("(tunnels|services)/\\{id}").matcher(path);
        StringBuilder resolved = new StringBuilder();
        while (id.find()) {
            String created = ids.get(id.group(1));
            assertThat(created).as("%s: no row before it created one of the %s", path, id.group(1)).isNotNull();
            id.appendReplacement(resolved, id.group(1) + "/" + created);
        }
        String concrete = id.appendTail(resolved).toString().replaceAll("\\[[^]]*]", "").replace("limit=N", "limit=10");
        assertThat(concrete).as("%s: a placeholder this test cannot fill", path).doesNotContain("{", "}");
        return concrete;
    }

    private static String body(Row row) {
        Matcher shown = JSON_BODY.matcher(row.body());
        if (shown.find()) {
            return shown.group(1);
        }
        return DESCRIBED_BODIES.get(row.body());
    }
}
