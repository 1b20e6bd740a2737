package io.picotunnel.server.auth;

import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The UI is served at "/" next to the API, deep links work on reload, and nothing comes from elsewhere. */
class UiServingTest {

    @TempDir
    Path dataDir;
    private TestManagementServer server;
    private final Browserless browser = new Browserless();

    @BeforeEach
    void start() throws Exception {
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, "t".repeat(64)));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void rootServesTheUiWithoutSignIn() throws Exception {
        HttpResponse<String> index = browser.get(server.url("/"));
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
        assertThat(index.body()).contains("<div id=\"root\"></div>").contains("/assets/");
        assertThat(index.body()).as("no CDN").doesNotContainPattern("(src|href)=\"(https?:)?//");
        assertThat(index.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("default-src 'self'");
        assertThat(index.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    }

    @Test
    void deepLinkServesTheSameIndexPage() throws Exception {
        String index = browser.get(server.url("/")).body();
        HttpResponse<String> deep = browser.get(server.url("/tunnels/0123456789abcdef"));
        assertThat(deep.statusCode()).isEqualTo(200);
        assertThat(deep.body()).isEqualTo(index);
    }

    @Test
    void hashedAssetsAreServedWithALongCacheLifetime() throws Exception {
        String index = browser.get(server.url("/")).body();
        Matcher script = Pattern.compile("src=\"(/assets/[^\"]+\\.js)\"").matcher(index);
        assertThat(script.find()).isTrue();
        HttpResponse<String> js = browser.get(server.url(script.group(1)));
        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("Cache-Control").orElseThrow()).contains("immutable");
        assertThat(js.body()).as("the bundle makes no request to another host").doesNotContain("https://fonts.");
    }

    @Test
    void eachFileOfTheUiHasItsTypeAndAnUnknownAssetIsAJson404() throws Exception {
        String index = browser.get(server.url("/")).body();
        Matcher style = Pattern.compile("href=\"(/assets/[^\"]+\\.css)\"").matcher(index);
        assertThat(style.find()).as(index).isTrue();
        HttpResponse<String> css = browser.get(server.url(style.group(1)));
        assertThat(css.statusCode()).isEqualTo(200);
        assertThat(css.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/css");
        assertThat(css.headers().firstValue("Content-Security-Policy")).isPresent();

        HttpResponse<String> icon = browser.get(server.url("/favicon.svg"));
        assertThat(icon.statusCode()).isEqualTo(200);
        assertThat(icon.headers().firstValue("Content-Type").orElseThrow()).startsWith("image/svg+xml");
        assertThat(icon.headers().firstValue("Cache-Control")).hasValue("no-cache");
        assertThat(icon.body()).contains("<svg");
        HttpResponse<String> head = browser.send(HttpRequest.newBuilder(URI.create(server.url("/favicon.svg")))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()), Map.of());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("Content-Type").orElseThrow()).startsWith("image/svg+xml");
        assertThat(head.body()).isEmpty();

        HttpResponse<String> missing = browser.get(server.url("/assets/index-00000000.js"));
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("\"error\":\"not_found\"");
    }

    /**
     * The script (some 280 KB) and the styles go gzipped to a browser that takes gzip, plain to a client that does not
     * (no Accept-Encoding, or gzip refused by q=0), with Vary: Accept-Encoding on both and the cache lifetime as before.
     */
    @Test
    void scriptsAndStylesAreSentGzippedOnlyToClientsThatAcceptIt() throws Exception {
        String index = browser.get(server.url("/")).body();
        for (String pattern : new String[] {"src=\"(/assets/[^\"]+\\.js)\"", "href=\"(/assets/[^\"]+\\.css)\""}) {
            Matcher file = Pattern.compile(pattern).matcher(index);
            assertThat(file.find()).as(index).isTrue();
            String path = file.group(1);

            HttpResponse<byte[]> plain = rawGet(path, null);
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.headers().firstValue("Content-Encoding")).as(path).isEmpty();
            assertThat(plain.headers().firstValue("Vary")).as(path).hasValue("Accept-Encoding");
            assertThat(plain.headers().firstValue("Cache-Control")).hasValue("public, max-age=31536000, immutable");

            HttpResponse<byte[]> gzipped = rawGet(path, "gzip, deflate, br, zstd");
            assertThat(gzipped.statusCode()).isEqualTo(200);
            assertThat(gzipped.headers().firstValue("Content-Encoding")).as(path).hasValue("gzip");
            assertThat(gzipped.headers().firstValue("Vary")).hasValue("Accept-Encoding");
            assertThat(gzipped.headers().firstValue("Cache-Control")).hasValue("public, max-age=31536000, immutable");
            assertThat(gzipped.headers().firstValue("Content-Type")).isEqualTo(plain.headers().firstValue("Content-Type"));
            assertThat(gzipped.body().length).as(path).isLessThan(plain.body().length / 2);
            try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gzipped.body()))) {
                assertThat(in.readAllBytes()).isEqualTo(plain.body());
            }

            assertThat(rawGet(path, "gzip;q=0, identity").headers().firstValue("Content-Encoding")).isEmpty();
            assertThat(rawGet(path, "*").headers().firstValue("Content-Encoding")).hasValue("gzip");
            assertThat(rawGet(path, "br").headers().firstValue("Content-Encoding")).isEmpty();
        }
    }

    @Test
    void theIndexPageIsRevalidatedWithItsETagAndUnchangedGetsA304WithoutABody() throws Exception {
        HttpResponse<byte[]> first = rawGet("/", null);
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("Cache-Control")).hasValue("no-cache");
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertThat(etag).matches("\"[^\"]+\"");
        assertThat(rawGet("/tunnels/0123456789abcdef", null).headers().firstValue("ETag")).as("a deep link").hasValue(etag);

        for (String ifNoneMatch : new String[] {etag, "W/" + etag, "\"other\", " + etag, "*"}) {
            HttpResponse<byte[]> again = rawGet("/", null, Map.of("If-None-Match", ifNoneMatch));
            assertThat(again.statusCode()).as(ifNoneMatch).isEqualTo(304);
            assertThat(again.body()).isEmpty();
            assertThat(again.headers().firstValue("ETag")).hasValue(etag);
            assertThat(again.headers().firstValue("Cache-Control")).hasValue("no-cache");
        }
        HttpResponse<byte[]> changed = rawGet("/", null, Map.of("If-None-Match", "\"an-older-release\""));
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(changed.body()).isEqualTo(first.body());

        String index = new String(first.body(), java.nio.charset.StandardCharsets.UTF_8);
        Matcher script = Pattern.compile("src=\"(/assets/[^\"]+\\.js)\"").matcher(index);
        assertThat(script.find()).as(index).isTrue();
        String plainTag = rawGet(script.group(1), null).headers().firstValue("ETag").orElseThrow();
        String gzipTag = rawGet(script.group(1), "gzip").headers().firstValue("ETag").orElseThrow();
        assertThat(gzipTag).as("the gzipped form is another representation").isNotEqualTo(plainTag);
        assertThat(rawGet(script.group(1), "gzip", Map.of("If-None-Match", gzipTag)).statusCode()).isEqualTo(304);
        assertThat(rawGet(script.group(1), null, Map.of("If-None-Match", gzipTag)).statusCode()).isEqualTo(200);
    }

    /**
     * Javalin gzips an answer of over 1,500 bytes to a client that takes gzip, per request: the API's lists, the
     * metrics. Without Vary: Accept-Encoding a cache in between could hand the gzipped answer to a client that cannot
     * read it; and the metrics, behind the admin token, were not marked no-store as the API's answers are.
     */
    @Test
    void privateAnswersJavalinCompressesVaryByAcceptEncodingAndAreNotStored() throws Exception {
        for (int i = 0; i < 30; i++) {
            server.server().store().createTunnel("a tunnel with a name long enough to make a list worth compressing " + i);
        }
        Map<String, String> token = Map.of("Authorization", "Bearer " + "t".repeat(64));
        for (String path : new String[] {"/api/tunnels", "/metrics"}) {
            HttpResponse<byte[]> gzipped = rawGet(path, "gzip", token);
            assertThat(gzipped.statusCode()).as(path).isEqualTo(200);
            assertThat(gzipped.headers().firstValue("Content-Encoding")).as(path).hasValue("gzip");
            assertThat(gzipped.headers().allValues("Vary")).as(path).contains("Accept-Encoding");
            assertThat(gzipped.headers().firstValue("Cache-Control")).as(path).hasValue("no-store");

            HttpResponse<byte[]> plain = rawGet(path, null, token);
            assertThat(plain.headers().firstValue("Content-Encoding")).as(path).isEmpty();
            assertThat(plain.headers().allValues("Vary")).as(path).contains("Accept-Encoding");
            assertThat(plain.headers().firstValue("Cache-Control")).as(path).hasValue("no-store");
        }
    }

    private HttpResponse<byte[]> rawGet(String path, String acceptEncoding) throws Exception {
        return rawGet(path, acceptEncoding, Map.of());
    }

    private HttpResponse<byte[]> rawGet(String path, String acceptEncoding, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.url(path))).GET();
        headers.forEach(request::header);
        if (acceptEncoding != null) {
            request.header("Accept-Encoding", acceptEncoding);
        }
        try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        }
    }

    @Test
    void unknownApiPathGetsJson404NotTheUi() throws Exception {
        HttpResponse<String> response = browser.send(
                HttpRequest.newBuilder(URI.create(server.url("/api/nothing-here"))).header("Accept", "text/html").GET(),
                Map.of("Authorization", "Bearer " + "t".repeat(64)));
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(response.body()).contains("\"error\":\"not_found\"");
        HttpResponse<String> auth = browser.send(
                HttpRequest.newBuilder(URI.create(server.url("/auth/nothing"))).header("Accept", "text/html").GET(), Map.of());
        assertThat(auth.statusCode()).isEqualTo(404);
    }
}
