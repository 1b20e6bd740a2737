package io.picotunnel.server.ui;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.picotunnel.server.ClasspathFiles;
import io.picotunnel.server.net.ApiErrorCodes;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * Serves the management UI (built by the {@code web} module into classpath resources under
 * {@code picotunnel-ui/}) at {@code /}. The UI's own routes ({@code /tunnels/<id>}) get the index page, so deep
 * links work on reload; any other unknown path is a JSON 404.
 *
 * <p>The UI's few files (some 270 KB) are read once, at start, and served from memory. Javalin's classpath static
 * files mounted the server's jar as a zip file system, eight times over: 168,000 index objects and 45 MB of the
 * heap, for good, which G1 traced again in a concurrent cycle every few seconds under load.
 *
 * <p>Text files (scripts, styles, the index page, SVG) are also gzipped once, at start, and sent so to a browser
 * whose {@code Accept-Encoding} takes gzip (the script of some 280 KB goes as some 87 KB); others get the plain
 * bytes. Both answers carry {@code Vary: Accept-Encoding}, so a cache in between keeps them apart.
 *
 * <p>Every file has an ETag, so that the index page ({@code Cache-Control: no-cache}: it names the hashed assets of
 * the release, so a browser must ask again each time) costs a 304 without a body while it is unchanged.
 */
public final class UiAssets {

    /** RFC 9110's qvalue, in ASCII digits only. */
    private static final Pattern QVALUE = Pattern.compile("0(\\.[0-9]{0,3})?|1(\\.0{0,3})?");

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

    /**
     * A file of the UI, as served: {@code gzipped} is null where gzip is not worth it (images, tiny files). Each form
     * has its strong ETag (a hash of its bytes), so that a browser revalidating the index page (no-cache) gets a 304.
     */
    private record Asset(byte[] body, byte[] gzipped, String contentType, String cacheControl, String etag,
                         String gzippedEtag) {

        static Asset of(byte[] body, String contentType, String cacheControl) {
            byte[] gzipped = gzipWhereSmaller(body, contentType);
            String hash = hash(body);
            return new Asset(body, gzipped, contentType, cacheControl, "\"" + hash + "\"",
                    gzipped == null ? null : "\"" + hash + "-gzip\"");
        }
    }

    private final Asset index;
    /** By path served ({@code /assets/index-C6HR7NX_.js}, {@code /favicon.svg}). */
    private final Map<String, Asset> files;

    public UiAssets() {
        this.index = Asset.of(readIndex(), "text/html; charset=utf-8", "no-cache");
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
        ctx.header("Cache-Control", asset.cacheControl());
        boolean gzip = asset.gzipped() != null && acceptsGzip(ctx.header("Accept-Encoding"));
        if (asset.gzipped() != null) {
            ctx.header("Vary", "Accept-Encoding");
        }
        String etag = gzip ? asset.gzippedEtag() : asset.etag();
        ctx.header("ETag", etag);
        if (matches(ctx.header("If-None-Match"), etag)) {
            ctx.status(HttpStatus.NOT_MODIFIED);
            return;
        }
        ctx.status(HttpStatus.OK).contentType(asset.contentType());
        if (gzip) {
            // Javalin leaves an answer that already has a Content-Encoding as it is.
            ctx.header("Content-Encoding", "gzip").result(asset.gzipped());
        } else {
            ctx.result(asset.body());
        }
    }

    /**
     * Whether an {@code If-None-Match} header (RFC 9110 section 13.1.2) names {@code etag}, compared weakly (a
     * {@code W/} prefix ignored), or is {@code *}.
     */
    static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String element : ifNoneMatch.split(",")) {
            String tag = element.strip();
            if (tag.equals("*")) {
                return true;
            }
            if (tag.startsWith("W/")) {
                tag = tag.substring(2);
            }
            if (tag.equals(etag)) {
                return true;
            }
        }
        return false;
    }

    /** The first 128 bits of the SHA-256 of {@code body}, in hex: an ETag's opaque part. */
    private static String hash(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    /**
     * Whether an {@code Accept-Encoding} header (RFC 9110 section 12.5.3) takes gzip: named ({@code gzip},
     * {@code x-gzip}) or by {@code *}, with a q-value above 0. A coding refused by name ({@code gzip;q=0}) stays
     * refused whatever {@code *} says.
     */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        Boolean named = null;
        boolean any = false;
        for (String element : acceptEncoding.split(",")) {
            String[] parts = element.split(";");
            String coding = parts[0].strip().toLowerCase(Locale.ROOT);
            boolean accepted = quality(parts) > 0;
            if (coding.equals("gzip") || coding.equals("x-gzip")) {
                named = named == null ? accepted : named || accepted;
            } else if (coding.equals("*")) {
                any = accepted;
            }
        }
        return named != null ? named : any;
    }

    /**
     * The q-value of an element of Accept-Encoding split at ';', in thousandths: 1000 when there is none, 0 when it is
     * not a qvalue of RFC 9110 ({@code 0}, {@code 0.} and up to three digits, or {@code 1} with up to three zeros), so
     * that a coding with {@code q=NaN}, {@code q=1e3}, {@code q=Infinity} or {@code q=٠.5} is refused, as by q=0:
     * identity is always taken, and no answer is sent gzipped to a client that did not ask for it in the standard's
     * words.
     */
    private static int quality(String[] parts) {
        for (int i = 1; i < parts.length; i++) {
            String parameter = parts[i].strip().toLowerCase(Locale.ROOT);
            if (parameter.startsWith("q=")) {
                return thousandths(parameter.substring(2).strip());
            }
        }
        return 1000;
    }

    private static int thousandths(String qvalue) {
        if (!QVALUE.matcher(qvalue).matches()) {
            return 0;
        }
        if (qvalue.startsWith("1")) {
            return 1000;
        }
        String decimals = qvalue.length() > 2 ? qvalue.substring(2) : "";
        return decimals.isEmpty() ? 0 : Integer.parseInt((decimals + "00").substring(0, 3));
    }

    /** Text compresses; images and fonts are compressed already. Below 1 KB the saving is not worth a second copy. */
    private static byte[] gzipWhereSmaller(byte[] body, String contentType) {
        boolean text = contentType.startsWith("text/") || contentType.startsWith("application/json")
                || contentType.startsWith("image/svg+xml");
        if (!text || body.length < 1024) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length / 2);
        try (GZIPOutputStream gzip = new GZIPOutputStream(out) {
            {
                def.setLevel(Deflater.BEST_COMPRESSION);
            }
        }) {
            gzip.write(body);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot gzip a file of the web UI", e);
        }
        return out.size() < body.length ? out.toByteArray() : null;
    }

    private static Map<String, Asset> readFiles() {
        Map<String, Asset> files = new LinkedHashMap<>();
        for (String name : ClasspathFiles.under(RESOURCE_DIR.substring(1))) {
            // Names under assets/ carry a content hash: they never change.
            String cacheControl = name.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
            files.put("/" + name, Asset.of(read(RESOURCE_DIR + "/" + name), contentType(name), cacheControl));
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
            body.put("error", ApiErrorCodes.NOT_FOUND);
            body.put("message", "There is no " + ctx.method() + " " + path + " on this server.");
            ctx.status(HttpStatus.NOT_FOUND).json(body);
            return;
        }
        serve(ctx, index);
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
