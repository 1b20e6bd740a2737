package io.picotunnel.server.proxy.http;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class HttpRoutesTest {

    private final HttpRoutes routes = new HttpRoutes();

    private static Service http(String id, String domain, String prefix) {
        return new Service(id, "t1", ServiceType.HTTP, domain, prefix, TlsMode.TERMINATE, null, "localhost:80",
                true, Instant.EPOCH);
    }

    private Optional<String> route(String host, String path) {
        return routes.route(host, path).map(Service::id);
    }

    @Test
    void hostMatchesCaseInsensitivelyIgnoringPortAndTrailingDot() {
        routes.onServiceChange(null, http("a", "App.Example.com", "/"));

        assertThat(route("app.example.com", "/")).contains("a");
        assertThat(route("APP.EXAMPLE.COM:8080", "/x")).contains("a");
        assertThat(route("app.example.com.", "/")).contains("a");
        assertThat(route("other.example.com", "/")).isEmpty();
        assertThat(route(null, "/")).isEmpty();
    }

    @Test
    void longestPathPrefixWinsOnWholeSegments() {
        routes.onServiceChange(null, http("root", "x.test", "/"));
        routes.onServiceChange(null, http("api", "x.test", "/api"));
        routes.onServiceChange(null, http("v2", "x.test", "/api/v2/"));

        assertThat(route("x.test", "/api")).contains("api");
        assertThat(route("x.test", "/api/")).contains("api");
        assertThat(route("x.test", "/api/users")).contains("api");
        assertThat(route("x.test", "/api/v2")).contains("v2");
        assertThat(route("x.test", "/api/v2/items")).contains("v2");
        assertThat(route("x.test", "/apix")).contains("root");
        assertThat(route("x.test", "/")).contains("root");
    }

    @Test
    void wildcardMatchesExactlyOneLabel() {
        routes.onServiceChange(null, http("w", "*.example.com", "/"));

        assertThat(route("a.example.com", "/")).contains("w");
        assertThat(route("A.Example.Com:80", "/")).contains("w");
        assertThat(route("example.com", "/")).isEmpty();
        assertThat(route("a.b.example.com", "/")).isEmpty();
    }

    @Test
    void exactDomainBeatsWildcardAndWildcardTakesPathsTheExactDomainLacks() {
        routes.onServiceChange(null, http("w", "*.example.com", "/"));
        routes.onServiceChange(null, http("e", "app.example.com", "/admin"));

        assertThat(route("app.example.com", "/admin/x")).contains("e");
        assertThat(route("app.example.com", "/")).contains("w");
        assertThat(route("other.example.com", "/admin")).contains("w");
    }

    @Test
    void disabledAndTcpServicesDoNotRoute() {
        Service disabled = new Service("d", "t1", ServiceType.HTTP, "off.test", "/", TlsMode.TERMINATE, null,
                "localhost:80", false, Instant.EPOCH);
        routes.onServiceChange(null, disabled);
        routes.onServiceChange(null, new Service("t", "t1", ServiceType.TCP, null, null, null, "0.0.0.0:2222",
                "localhost:22", true, Instant.EPOCH));

        assertThat(route("off.test", "/")).isEmpty();
    }

    @Test
    void changesTakeEffectAtOnce() {
        Service before = http("a", "one.test", "/");
        routes.onServiceChange(null, before);
        assertThat(route("one.test", "/")).contains("a");

        Service moved = http("a", "two.test", "/");
        routes.onServiceChange(before, moved);
        assertThat(route("one.test", "/")).isEmpty();
        assertThat(route("two.test", "/")).contains("a");

        Service disabled = new Service("a", "t1", ServiceType.HTTP, "two.test", "/", TlsMode.TERMINATE, null,
                "localhost:80", false, Instant.EPOCH);
        routes.onServiceChange(moved, disabled);
        assertThat(route("two.test", "/")).isEmpty();

        routes.onServiceChange(disabled, http("a", "two.test", "/"));
        assertThat(route("two.test", "/")).contains("a");
        routes.onServiceChange(http("a", "two.test", "/"), null);
        assertThat(route("two.test", "/")).isEmpty();
    }
}
