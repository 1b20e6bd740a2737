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
