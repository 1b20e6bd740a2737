package io.picotunnel.server.auth;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AdminAuthTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer start(Map<Setting, String> settings, ByteArrayOutputStream console) {
        return PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, settings),
                new PrintStream(console, true, StandardCharsets.UTF_8));
    }

    @Test
    void apiNeedsTheAdminTokenButHealthDoesNot() {
        try (PicoTunnelServer server = start(Map.of(), new ByteArrayOutputStream());
             ApiClient anonymous = new ApiClient(server.apiPort(), null)) {
            ApiClient.Response missing = anonymous.get("/api/tunnels");
            assertThat(missing.status()).isEqualTo(401);
            assertThat(missing.json().get("error").asText()).isEqualTo("unauthorized");
            assertThat(missing.json().get("message").asText()).contains("Authorization: Bearer");
            assertThat(missing.header("WWW-Authenticate")).startsWith("Bearer");

            ApiClient.Response wrong = anonymous.withToken("0".repeat(64)).post("/api/tunnels", "{\"name\": \"x\"}");
            assertThat(wrong.status()).isEqualTo(401);
            assertThat(server.store().tunnels()).isEmpty();

            ApiClient.Response prefix = anonymous.withToken(server.adminToken().substring(0, 32)).get("/api/tunnels");
            assertThat(prefix.status()).isEqualTo(401);

            assertThat(anonymous.get("/health").status()).isEqualTo(200);
            assertThat(anonymous.withToken(server.adminToken()).get("/api/tunnels").status()).isEqualTo(200);
        }
    }

    @Test
    void generatedTokenIsStoredOwnerOnlyPrintedOnceAndReusedAfterRestart() throws IOException {
        ByteArrayOutputStream firstConsole = new ByteArrayOutputStream();
        String token;
        try (PicoTunnelServer server = start(Map.of(), firstConsole)) {
            token = server.adminToken();
        }
        Path file = dataDir.resolve("admin-token");
        assertThat(token).matches("[0-9a-f]{64}");
        assertThat(Files.readString(file).strip()).isEqualTo(token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(firstConsole.toString(StandardCharsets.UTF_8)).containsOnlyOnce(token);

        ByteArrayOutputStream secondConsole = new ByteArrayOutputStream();
        try (PicoTunnelServer server = start(Map.of(), secondConsole);
             ApiClient api = new ApiClient(server.apiPort(), token)) {
            assertThat(server.adminToken()).isEqualTo(token);
            assertThat(api.get("/api/tunnels").status()).isEqualTo(200);
        }
        assertThat(secondConsole.toString(StandardCharsets.UTF_8)).doesNotContain(token);
    }

    @Test
    void dataDirectoryAndDatabaseAreOwnerOnly() throws IOException {
        Path nested = dataDir.resolve("nested");
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(nested),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
            server.store().createTunnel("x");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested.resolve("picotunnel.db"))))
                    .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested.resolve("picotunnel.db-wal"))))
                    .isEqualTo("rw-------");
        }
    }

    @Test
    void configuredTokenIsUsedAndNothingIsGenerated() {
        String configured = "operator-chosen-token-0123456789";
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (PicoTunnelServer server = start(Map.of(Setting.ADMIN_TOKEN, configured), console);
             ApiClient api = new ApiClient(server.apiPort(), configured)) {
            assertThat(api.get("/api/tunnels").status()).isEqualTo(200);
            assertThat(api.withToken("operator-chosen-token-012345678X").get("/api/tunnels").status()).isEqualTo(401);
        }
        assertThat(dataDir.resolve("admin-token")).doesNotExist();
        assertThat(console.toString(StandardCharsets.UTF_8)).doesNotContain(configured);
    }

    @Test
    void authNoneIsAnExplicitOptOutThatOpensTheApi() {
        try (PicoTunnelServer server = start(Map.of(Setting.AUTH, "none"), new ByteArrayOutputStream());
             ApiClient anonymous = new ApiClient(server.apiPort(), null)) {
            assertThat(server.adminToken()).isNull();
            assertThat(anonymous.post("/api/tunnels", "{\"name\": \"open\"}").status()).isEqualTo(201);
            assertThat(anonymous.get("/api/tunnels").json()).hasSize(1);
        }
        assertThat(dataDir.resolve("admin-token")).doesNotExist();
    }

    @Test
    void bearerSchemeIsCaseInsensitiveAndOtherSchemesAreRejected() {
        assertThat(BearerToken.parse("Bearer abc")).isEqualTo("abc");
        assertThat(BearerToken.parse("bearer abc")).isEqualTo("abc");
        assertThat(BearerToken.parse("Basic abc")).isNull();
        assertThat(BearerToken.parse("Bearer")).isNull();
        assertThat(BearerToken.parse(null)).isNull();
    }
}
