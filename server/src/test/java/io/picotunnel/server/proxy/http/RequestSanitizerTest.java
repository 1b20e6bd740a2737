package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RequestSanitizerTest {

    @Test
    void aNormalTargetWithOrWithoutAQueryIsKeptAsTheSameString() {
        for (String uri : new String[] {"/", "/a/b.html", "/a?b=1&c=/../{}", "/a/?", "/.well-known/x?y"}) {
            HttpRequest request = request(uri);
            assertThat(RequestSanitizer.sanitize(request)).as(uri).isNull();
            assertThat(request.uri()).as(uri).isSameAs(uri);
        }
    }

    @Test
    void aTargetToNormalizeIsSetAgainWithItsQueryAndWithoutItsFragment() {
        assertThat(sanitized("/a/../b?x=1")).isEqualTo("/b?x=1");
        assertThat(sanitized("/%61?x")).isEqualTo("/a?x");
        assertThat(sanitized("/a?q=caf\u00c3\u00a9")).isEqualTo("/a?q=caf%C3%A9");
        assertThat(sanitized("/a?x#f")).isEqualTo("/a?x");
        assertThat(sanitized("/a#f?x")).isEqualTo("/a");
        assertThat(sanitized("/{id}?x")).isEqualTo("/%7Bid%7D?x");
        assertThat(sanitized("http://a.test/./b?x")).isEqualTo("/b?x");
        HttpRequest bad = request("/%zz?x");
        assertThat(RequestSanitizer.sanitize(bad)).contains("percent-encoding");
    }

    @Test
    void aRequestWithTwoHostHeadersIsRefusedAndOneWithOneOrNoneIsNot() {
        HttpRequest two = request("/");
        two.headers().add("Host", "a.test").add("host", "b.test");
        assertThat(RequestSanitizer.sanitize(two)).isEqualTo("The request has more than one Host header.");
        HttpRequest one = request("/");
        one.headers().add("Host", "a.test");
        assertThat(RequestSanitizer.sanitize(one)).isNull();
        assertThat(RequestSanitizer.sanitize(request("/"))).isNull();
    }

    private static String sanitized(String uri) {
        HttpRequest request = request(uri);
        assertThat(RequestSanitizer.sanitize(request)).as(uri).isNull();
        return request.uri();
    }

    private static HttpRequest request(String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    }
}
