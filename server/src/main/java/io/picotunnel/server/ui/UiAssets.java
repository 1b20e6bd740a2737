package io.picotunnel.server.ui;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.picotunnel.server.ClasspathFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Serves the management UI (built by the {@code web} module into classpath resources under
 * {@code picotunnel-ui/}) at {@code /}. The UI's own routes ({@code /tunnels/<id>}) get the index page, so deep
 * links work on reload; any other unknown path is a JSON 404.
 *
 * <p>The UI's few files (some 270 KB) are read once, at start, and served from memory. Javalin's classpath static
 * files mounted the server's jar as a zip file system, eight times over: 168,000 index objects and 45 MB of the
 * heap, for good, which G1 traced again in a concurrent cycle every few seconds under load.
 */
public final class UiAssets {

    static final String RESOURCE_DIR = "/picotunnel-ui";

    /** Scripts, styles, fonts and images only from this server; no framing. */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            + "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
            + "form-action 'self'; frame-ancestors 'none'";

    /**
     * Headers of every answer of the management port, UI or API (the API server sets them, before any route or guard
     * runs, and on the error pages Jetty writes itself): no sniffing, no referrer to other sites, no framing, and the
     * policy above.
     */
    public static final Map<String, String> SECURITY_HEADERS = Map.of(
            "X-Content-Type-Options", "nosniff",
            "Referrer-Policy", "same-origin",
            "X-Frame-Options", "DENY",
            "Content-Security-Policy", CONTENT_SECURITY_POLICY);

    /**
     * The pages of the UI (web/src/router.tsx): the dashboard, a tunnel's page and the public status page. Any other
     * path is a 404.
     */
    static final java.util.regex.Pattern UI_ROUTE = java.util.regex.Pattern.compile("/|/tunnels/[^/]+/?|/status/?");

    /** A file of the UI, as served. */
    private record Asset(byte[] body, String contentType, String cacheControl) {
    }

    private final byte[] indexHtml;
    /** By path served ({@code /assets/index-C6HR7NX_.js}, {@code /favicon.svg}). */
    private final Map<String, Asset> files;

    public UiAssets() {
        this.indexHtml = readIndex();
        this.files = readFiles();
    }

    public void install(JavalinConfig config) {
        files.forEach((path, asset) -> {
            config.routes.get(path, ctx -> serve(ctx, asset));
            config.routes.head(path, ctx -> serve(ctx, asset));
        });
        config.spaRoot.addHandler("/", this::indexOrNotFound);
    }

    private static void serve(Context ctx, Asset asset) {
        ctx.status(HttpStatus.OK)
                .header("Cache-Control", asset.cacheControl())
                .contentType(asset.contentType())
                .result(asset.body());
    }

    private static Map<String, Asset> readFiles() {
        Map<String, Asset> files = new LinkedHashMap<>();
        for (String name : ClasspathFiles.under(RESOURCE_DIR.substring(1))) {
            // Names under assets/ carry a content hash: they never change.
            String cacheControl = name.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
            files.put("/" + name, new Asset(read(RESOURCE_DIR + "/" + name), contentType(name), cacheControl));
        }
        return Map.copyOf(files);
    }

    static String contentType(String name) {
        String extension = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        return switch (extension) {
            case "html" -> "text/html; charset=utf-8";
            case "js", "mjs" -> "text/javascript; charset=utf-8";
            case "css" -> "text/css; charset=utf-8";
            case "json", "map" -> "application/json";
            case "svg" -> "image/svg+xml";
            case "png" -> "image/png";
            case "ico" -> "image/x-icon";
            case "webp" -> "image/webp";
            case "woff2" -> "font/woff2";
            case "txt" -> "text/plain; charset=utf-8";
            default -> "application/octet-stream";
        };
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

    private static byte[] readIndex() {
        if (UiAssets.class.getResource(RESOURCE_DIR + "/index.html") == null) {
            throw new IllegalStateException("the web UI is missing from the classpath (" + RESOURCE_DIR
                    + "/index.html): build with the web module");
        }
        return read(RESOURCE_DIR + "/index.html");
    }

    private static byte[] read(String resource) {
        try (InputStream in = UiAssets.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the web UI's " + resource + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the web UI's " + resource, e);
        }
    }
}
