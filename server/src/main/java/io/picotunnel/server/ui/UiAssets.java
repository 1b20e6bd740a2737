package io.picotunnel.server.ui;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.javalin.http.staticfiles.Location;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Serves the management UI (built by the {@code web} module into classpath resources under
 * {@code picotunnel-ui/}) at {@code /}. The UI's own routes ({@code /tunnels/<id>}) get the index page, so deep
 * links work on reload; any other unknown path is a JSON 404.
 */
public final class UiAssets {

    static final String RESOURCE_DIR = "/picotunnel-ui";

    /** Scripts, styles, fonts and images only from this server; no framing. */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            + "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
            + "form-action 'self'; frame-ancestors 'none'";

    /**
     * The pages of the UI (web/src/router.tsx): the dashboard, a tunnel's page and the public status page. Any other
     * path is a 404.
     */
    static final java.util.regex.Pattern UI_ROUTE = java.util.regex.Pattern.compile("/|/tunnels/[^/]+/?|/status/?");

    private final byte[] indexHtml;

    public UiAssets() {
        this.indexHtml = readIndex();
    }

    public void install(JavalinConfig config) {
        config.routes.before(UiAssets::securityHeaders);
        config.staticFiles.add(files -> {
            files.hostedPath = "/assets";
            files.directory = RESOURCE_DIR + "/assets";
            files.location = Location.CLASSPATH;
            // file names carry a content hash: they never change
            files.headers = Map.of("Cache-Control", "public, max-age=31536000, immutable");
        });
        config.staticFiles.add(files -> {
            files.hostedPath = "/";
            files.directory = RESOURCE_DIR;
            files.location = Location.CLASSPATH;
            files.headers = Map.of("Cache-Control", "no-cache");
        });
        config.spaRoot.addHandler("/", this::indexOrNotFound);
    }

    private void indexOrNotFound(Context ctx) {
        String path = ctx.path();
        if (!UI_ROUTE.matcher(path).matches()) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "not_found");
            body.put("message", "There is no " + ctx.method() + " " + path + " on this server.");
            ctx.status(HttpStatus.NOT_FOUND).json(body);
            return;
        }
        ctx.status(HttpStatus.OK)
                .header("Cache-Control", "no-cache")
                .contentType("text/html; charset=utf-8")
                .result(indexHtml);
    }

    private static void securityHeaders(Context ctx) {
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "same-origin");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    }

    private static byte[] readIndex() {
        try (InputStream in = UiAssets.class.getResourceAsStream(RESOURCE_DIR + "/index.html")) {
            if (in == null) {
                throw new IllegalStateException("the web UI is missing from the classpath (" + RESOURCE_DIR
                        + "/index.html): build with the web module");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the web UI's index page", e);
        }
    }
}
