package io.picotunnel.server.auth;

import io.javalin.Javalin;
import io.picotunnel.server.ui.UiAssets;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/** The management port with authentication and the UI, on an ephemeral loopback port. */
final class TestManagementServer implements AutoCloseable {

    private final Javalin app;

    private TestManagementServer(Javalin app) {
        this.app = app;
    }

    static TestManagementServer start(Path dataDir, AuthSettings settings) throws Exception {
        return start(dataDir, settings, 0);
    }

    static TestManagementServer start(Path dataDir, AuthSettings settings, int port) throws Exception {
        Path dbFile = dataDir.resolve("picotunnel.db");
        var db = Files.exists(dbFile) ? reopen(dbFile) : TestDatabase.withSessionsTable(dbFile);
        ManagementAuth auth = new ManagementAuth(settings, new SessionStore(db), () -> "ws://localhost:8443", Clock.systemUTC());
        UiAssets ui = new UiAssets();
        Javalin app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            auth.install(config);
            ui.install(config);
            config.routes.get("/api/tunnels", ctx -> ctx.json(List.of()));
            config.routes.post("/api/tunnels", ctx -> ctx.status(201).json(java.util.Map.of("id", "0123456789abcdef")));
            config.routes.get("/health", ctx -> ctx.json(java.util.Map.of("status", "ok")));
        });
        app.start("127.0.0.1", port);
        return new TestManagementServer(app);
    }

    private static org.sqlite.SQLiteDataSource reopen(Path dbFile) {
        var db = new org.sqlite.SQLiteDataSource();
        db.setUrl("jdbc:sqlite:" + dbFile);
        return db;
    }

    int port() {
        return app.port();
    }

    String url(String path) {
        return "http://localhost:" + port() + path;
    }

    @Override
    public void close() {
        app.stop();
    }
}
