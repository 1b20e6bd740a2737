package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class TunnelApiTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    private JsonNode createTunnel(String name) {
        ApiClient.Response created = running.api().post("/api/tunnels", "{\"name\": \"" + name + "\"}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        return created.json();
    }

    @Test
    void listIsAnEmptyArrayAtFirst() {
        ApiClient.Response list = running.api().get("/api/tunnels");
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.header("Content-Type")).startsWith("application/json");
        assertThat(list.json().isArray()).isTrue();
        assertThat(list.json()).isEmpty();
    }

    @Test
    void createAnswers201WithIdTokenTimestampsAndPresence() {
        JsonNode tunnel = createTunnel("my-app");

        assertThat(tunnel.get("id").asText()).matches("[0-9a-f]{16}");
        assertThat(tunnel.get("name").asText()).isEqualTo("my-app");
        assertThat(tunnel.get("token").asText()).matches("[0-9a-f]{64}");
        OffsetDateTime created = OffsetDateTime.parse(tunnel.get("created_at").asText());
        assertThat(created.getOffset()).isEqualTo(ZoneOffset.UTC);
        assertThat(tunnel.get("created_at").asText()).endsWith("Z");
        assertThat(tunnel.get("updated_at").asText()).isEqualTo(tunnel.get("created_at").asText());
        assertThat(tunnel.get("connected").asBoolean()).isFalse();
        assertThat(tunnel.get("connected_since").isNull()).isTrue();
        assertThat(tunnel.get("last_seen_at").isNull()).isTrue();
    }

    @Test
    void createdTunnelsAreListedAndFetchedById() {
        JsonNode first = createTunnel("first");
        JsonNode second = createTunnel("second");

        JsonNode list = running.api().get("/api/tunnels").json();
        assertThat(list).extracting(node -> node.get("id").asText())
                .containsExactly(first.get("id").asText(), second.get("id").asText());

        ApiClient.Response fetched = running.api().get("/api/tunnels/" + second.get("id").asText());
        assertThat(fetched.status()).isEqualTo(200);
        assertThat(fetched.json()).isEqualTo(((com.fasterxml.jackson.databind.node.ObjectNode) second.deepCopy()).putNull("token"));
    }

    @Test
    void theTokenIsInTheAnswersToCreateAndRegenerateOnly() {
        JsonNode created = createTunnel("once");
        String id = created.get("id").asText();
        assertThat(created.get("token").asText()).matches("[0-9a-f]{64}");

        assertThat(running.api().get("/api/tunnels/" + id).json().get("token").isNull()).isTrue();
        assertThat(running.api().get("/api/tunnels").json()).allSatisfy(t -> assertThat(t.get("token").isNull()).isTrue());
        assertThat(running.api().patch("/api/tunnels/" + id, "{\"name\": \"renamed\"}").json().get("token").isNull()).isTrue();
        JsonNode regenerated = running.api().post("/api/tunnels/" + id + "/regenerate", null).json();
        assertThat(regenerated.get("token").asText()).matches("[0-9a-f]{64}").isNotEqualTo(created.get("token").asText());
        assertThat(running.api().get("/api/tunnels/" + id).json().get("token").isNull()).isTrue();
    }

    @Test
    void eachTunnelGetsItsOwnIdAndToken() {
        JsonNode first = createTunnel("a");
        JsonNode second = createTunnel("a");
        assertThat(first.get("id")).isNotEqualTo(second.get("id"));
        assertThat(first.get("token")).isNotEqualTo(second.get("token"));
    }

    @Test
    void unknownTunnelIdIs404WithJsonError() {
        for (ApiClient.Response response : new ApiClient.Response[] {
                running.api().get("/api/tunnels/0123456789abcdef"),
                running.api().patch("/api/tunnels/0123456789abcdef", "{\"name\": \"x\"}"),
                running.api().delete("/api/tunnels/0123456789abcdef"),
                running.api().post("/api/tunnels/0123456789abcdef/regenerate", null)}) {
            assertThat(response.status()).as(response.toString()).isEqualTo(404);
            assertThat(response.json().get("error").asText()).isEqualTo("not_found");
            assertThat(response.json().get("message").asText()).contains("0123456789abcdef");
        }
    }

    @Test
    void patchRenamesAndAnswersTheWholeTunnel() {
        JsonNode tunnel = createTunnel("old");
        String id = tunnel.get("id").asText();

        ApiClient.Response patched = running.api().patch("/api/tunnels/" + id, "{\"name\": \"  new name  \"}");

        assertThat(patched.status()).isEqualTo(200);
        assertThat(patched.json().get("name").asText()).isEqualTo("new name");
        assertThat(patched.json().get("token").isNull()).isTrue();
        assertThat(patched.json().get("created_at")).isEqualTo(tunnel.get("created_at"));
        assertThat(patched.json().get("updated_at").asText()).isGreaterThanOrEqualTo(tunnel.get("updated_at").asText());
        assertThat(running.api().get("/api/tunnels/" + id).json().get("name").asText()).isEqualTo("new name");
    }

    @Test
    void patchAcceptsTheObjectItReceivedWithReadOnlyFieldsIgnored() {
        JsonNode tunnel = createTunnel("echo");
        String id = tunnel.get("id").asText();
        String echoed = tunnel.toString().replace("\"name\":\"echo\"", "\"name\":\"echoed\"")
                .replace(tunnel.get("token").asText(), "f".repeat(64));

        ApiClient.Response patched = running.api().patch("/api/tunnels/" + id, echoed);

        assertThat(patched.status()).as(patched.toString()).isEqualTo(200);
        assertThat(patched.json().get("name").asText()).isEqualTo("echoed");
        assertThat(patched.json().get("token").isNull()).isTrue();
        assertThat(running.server().store().findTunnelByToken(tunnel.get("token").asText())).isPresent();
    }

    @Test
    void nameIsRequiredAndValidated() {
        ApiClient.Response missing = running.api().post("/api/tunnels", "{}");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.json().get("field").asText()).isEqualTo("name");
        assertThat(missing.json().get("message").asText()).startsWith("name");

        ApiClient.Response blank = running.api().post("/api/tunnels", "{\"name\": \"   \"}");
        assertThat(blank.status()).isEqualTo(400);

        ApiClient.Response wrongType = running.api().post("/api/tunnels", "{\"name\": 42}");
        assertThat(wrongType.status()).isEqualTo(400);
        assertThat(wrongType.json().get("message").asText()).isEqualTo("name: must be a string");

        ApiClient.Response tooLong = running.api().post("/api/tunnels", "{\"name\": \"" + "x".repeat(101) + "\"}");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.json().get("field").asText()).isEqualTo("name");

        String id = createTunnel("ok").get("id").asText();
        ApiClient.Response renamedToNull = running.api().patch("/api/tunnels/" + id, "{\"name\": null}");
        assertThat(renamedToNull.status()).isEqualTo(400);
    }

    @Test
    void namesWithInvisibleFormattingOrControlCharactersAreRefused() {
        // Right-to-left override, zero-width space, byte order mark, line separator, left-to-right isolate, NEL, BEL:
        // a name with one looks like another name (U+202E before "exe.txt" shows it as "txt.exe").
        String id = createTunnel("ok").get("id").asText();
        for (String hidden : new String[] {"\\u202E", "\\u200B", "\\uFEFF", "\\u2028", "\\u2066", "\\u0085", "\\u0007"}) {
            String name = "my" + hidden + "app";
            ApiClient.Response created = running.api().post("/api/tunnels", "{\"name\": \"" + name + "\"}");
            ServiceRequests.assertInvalid(created, "name", "invisible formatting character U+");
            ServiceRequests.assertInvalid(running.api().patch("/api/tunnels/" + id, "{\"name\": \"" + name + "\"}"), "name",
                    "invisible formatting character U+");
        }
        assertThat(running.api().get("/api/tunnels").json()).hasSize(1);
        // Letters, marks, symbols and spaces of any script are names.
        assertThat(createTunnel("café – 日本語 🚀").get("name").asText()).isEqualTo("café – 日本語 🚀");
    }

    @Test
    void namesMayHaveTheJoinersAndTagsOfOrdinarySpellingButNoneElsewhere() {
        // Persian plural with a zero-width non-joiner, Sinhala "Sri" with a joiner after the virama, the emoji
        // "woman technologist" (joiner between emoji), a skin tone and a presentation selector before a joiner, and
        // Scotland's flag (U+1F3F4, tags "gbsct", cancel tag): as the JSON escapes them and as the API returns them.
        Map<String, String> names = Map.of(
                "\\u0633\\u0631\\u0648\\u06CC\\u0633\\u200C\\u0647\\u0627", "سرویس\u200Cها",
                "\\u0DC1\\u0DCA\\u200D\\u0DBB\\u0DD3", "ශ්\u200Dරී",
                "\\uD83D\\uDC69\\u200D\\uD83D\\uDCBB", "👩\u200D💻",
                "ops \\uD83D\\uDC69\\uD83C\\uDFFD\\u200D\\uD83D\\uDCBB \\u2764\\uFE0F\\u200D\\uD83D\\uDD25",
                "ops 👩🏽\u200D💻 ❤\uFE0F\u200D🔥",
                "\\uD83C\\uDFF4\\uDB40\\uDC67\\uDB40\\uDC62\\uDB40\\uDC73\\uDB40\\uDC63\\uDB40\\uDC74\\uDB40\\uDC7F",
                "\uD83C\uDFF4\uDB40\uDC67\uDB40\uDC62\uDB40\uDC73\uDB40\uDC63\uDB40\uDC74\uDB40\uDC7F");
        names.forEach((json, name) -> assertThat(createTunnel(json).get("name").asText()).isEqualTo(name));

        // A joiner at the start or end, next to a space or a digit, between letter and emoji, twice; a tag without
        // the flag or without its cancel tag; and the other invisible characters next to letters as before.
        String id = createTunnel("ok").get("id").asText();
        for (String name : new String[] {"\\u200Capp", "app\\u200D", "my \\u200Capp", "my\\u200D app", "1\\u200C2",
                "a\\u200D\\uD83D\\uDCBB", "a\\u200C\\u200Cb", "a\\uDB40\\uDC67\\uDB40\\uDC7F",
                "\\uD83C\\uDFF4\\uDB40\\uDC67\\uDB40\\uDC62", "\\uD83C\\uDFF4\\uDB40\\uDC7F", "a\\u200Bb",
                "a\\u2060b", "a\\uFEFFb", "a\\u202Eb", "a\\u00ADb"}) {
            ServiceRequests.assertInvalid(running.api().post("/api/tunnels", "{\"name\": \"" + name + "\"}"), "name",
                    "invisible formatting character U+");
            ServiceRequests.assertInvalid(running.api().patch("/api/tunnels/" + id, "{\"name\": \"" + name + "\"}"), "name",
                    "invisible formatting character U+");
        }
        assertThat(running.api().get("/api/tunnels").json()).hasSize(names.size() + 1);
    }

    @Test
    void regenerateGivesANewTokenAndTheOldOneStopsWorking() {
        JsonNode tunnel = createTunnel("rotate");
        String id = tunnel.get("id").asText();
        String oldToken = tunnel.get("token").asText();

        ApiClient.Response regenerated = running.api().post("/api/tunnels/" + id + "/regenerate", null);

        assertThat(regenerated.status()).isEqualTo(200);
        String newToken = regenerated.json().get("token").asText();
        assertThat(newToken).matches("[0-9a-f]{64}").isNotEqualTo(oldToken);
        assertThat(regenerated.json().get("id").asText()).isEqualTo(id);
        assertThat(running.server().store().findTunnelByToken(oldToken)).isEmpty();
        assertThat(running.server().store().findTunnelByToken(newToken)).get().extracting(t -> t.id()).isEqualTo(id);
        assertThat(running.api().get("/api/tunnels/" + id).json().get("token").isNull()).isTrue();
    }

    @Test
    void deleteAnswers204AndRemovesTheTunnelWithItsServices() {
        String id = createTunnel("gone").get("id").asText();
        ApiClient.Response service = running.api().post("/api/tunnels/" + id + "/services",
                "{\"type\": \"tcp\", \"listen_addr\": \":20022\", \"target_addr\": \"localhost:22\"}");
        assertThat(service.status()).isEqualTo(201);

        ApiClient.Response deleted = running.api().delete("/api/tunnels/" + id);

        assertThat(deleted.status()).isEqualTo(204);
        assertThat(deleted.raw().body()).isEmpty();
        assertThat(running.api().get("/api/tunnels/" + id).status()).isEqualTo(404);
        assertThat(running.api().get("/api/tunnels/" + id + "/services").status()).isEqualTo(404);
        assertThat(running.server().store().service(service.json().get("id").asText())).isEmpty();
        assertThat(running.api().delete("/api/tunnels/" + id).status()).isEqualTo(404);
    }
}
