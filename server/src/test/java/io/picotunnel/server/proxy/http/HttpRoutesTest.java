package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.net.PathNormalizer;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener.Staged;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class HttpRoutesTest {

    private final HttpRoutes routes = new HttpRoutes();

    @TempDir
    Path dataDir;

    private static Service http(String id, String domain, String prefix) {
        return new Service(id, "t1", ServiceType.HTTP, domain, prefix, TlsMode.TERMINATE, null, "localhost:80",
                true, Instant.EPOCH);
    }

    private Optional<String> route(String host, String path) {
        return routes.route(host, path).map(Service::id);
    }

    /** Whether the path (in normal form, as the proxy routes it) routes somewhere but may read as another service's. */
    private boolean ambiguous(String host, String path) {
        Service routed = routes.route(host, path).orElseThrow();
        return routes.readsAsAnotherService(host, path, routed);
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

    @Test
    void aStagedDeleteOrDisableRoutesUntilStoredAndAnUndoneOneGoesOnRouting() throws Exception {
        Service service = http("a", "one.test", "/");
        routes.onServiceChange(null, service);
        Service disabled = new Service("a", "t1", ServiceType.HTTP, "one.test", "/", TlsMode.TERMINATE, null,
                "localhost:80", false, Instant.EPOCH);

        for (Service after : java.util.Arrays.asList(null, disabled)) {
            Staged undone = routes.stage(service, after);
            assertThat(route("one.test", "/")).as("staged, to %s", after).contains("a");
            undone.undo();
            assertThat(route("one.test", "/")).as("undone, to %s", after).contains("a");
        }

        Staged stored = routes.stage(service, null);
        assertThat(route("one.test", "/")).contains("a");
        stored.stored();
        assertThat(route("one.test", "/")).isEmpty();
    }

    @Test
    void pathsATargetMayReadAsAnotherServicesAreAmbiguous() {
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("admin", "x.test", "/admin"));

        // Routed to "/", but read as /admin/x by targets that collapse empty segments, drop ;parameters, ignore
        // case, decode %2F or take \ for /, and resolve the dot segments that uncovers.
        assertThat(List.of("//admin/x", "/admin;a=b/x", "/ADMIN/x", "/Admin", "/admin%2Fx", "/admin%5Cx", "/admin\\x",
                "/x/..;/admin/x", "/x/..%2Fadmin", "/x%2F..%2Fadmin", "/admin%3Bx=1/y", "/.%2Fadmin/x"))
                .allSatisfy(path -> assertThat(ambiguous("x.test", path)).as(path).isTrue());
        // Routed to the gated /admin, read as another service's path.
        assertThat(ambiguous("x.test", "/admin/..;/x")).isTrue();
        // Ambiguous within one service only, or read as nothing else by any reading.
        assertThat(List.of("/", "/x", "/docs;v=2/Readme", "/Docs/x", "//x", "/admin/x;a=b", "/admin//x", "/admin/X",
                "/admin/x%2F..%2Fy", "/administrator", "/x/admin"))
                .allSatisfy(path -> assertThat(ambiguous("x.test", path)).as(path).isFalse());
    }

    @Test
    void pathsATargetMayReadAsAnotherServicesByDecodingTwiceCuttingAtNulTrimmingOrOverlongUtf8AreAmbiguous() {
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("admin", "x.test", "/admin"));

        // Routed to "/", read as /admin/x by targets that decode twice, cut at NUL, drop trailing dots and spaces of
        // a segment (IIS) or take overlong UTF-8 for / and . (and resolve the dot segments that uncovers).
        assertThat(List.of("/admin%252Fx", "/admin%252fx", "/x/%252e%252e/admin/x", "/x%252F..%252Fadmin",
                "/admin%00/x", "/admin%00.html", "/admin./x", "/admin%20/x", "/admin.%20./x", "/admin.",
                "/admin%C0%AFx", "/admin%c0%afx", "/x/%C0%AE%C0%AE/admin/x", "/admin%E0%80%AFx", "/admin%25C0%25AFx",
                "/ADMIN%252Fx"))
                .allSatisfy(path -> assertThat(ambiguous("x.test", path)).as(path).isTrue());
        // Routed to the gated /admin, read as "/".
        assertThat(List.of("/admin/..%00", "/admin/..%20/x", "/admin/%252e%252e/x", "/admin/%C0%AE%C0%AE/x"))
                .allSatisfy(path -> assertThat(ambiguous("x.test", path)).as(path).isTrue());
        // Ordinary paths, and crafted ones that read as nothing else.
        assertThat(List.of("/adminx", "/admin.x/y", "/static/a.b.js", "/files/%2520", "/files/100%25", "/x/report.",
                "/x/a%20b", "/%C3%A9t%C3%A9", "/x%00/admin", "/admin/x%00", "/admin/a.b.", "/admin/x%252F..%252Fy",
                "/x/...", "/administrator.", "/x/%C0%AF"))
                .allSatisfy(path -> assertThat(ambiguous("x.test", path)).as(path).isFalse());
    }

    @Test
    void aPathWithMoreReadingsThanAreTriedIsAmbiguous() {
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("admin", "x.test", "/admin"));

        // Most steps change it (;, %20 once and twice, %3B, trailing dot, //, \ and the .. it makes, NUL, case): no
        // reading is /admin's, but it has more than MAX_READINGS of them.
        String crafted = "/X;a/b%2520%3Bc./e//f\\..\\g%00h";
        assertThat(PathReadings.of(crafted, List.of("/", "/admin"))).isEmpty();
        assertThat(ambiguous("x.test", crafted)).isTrue();
        // Without the NUL: read every way, and ambiguous by none.
        String lessCrafted = "/X;a/b%2520%3Bc./e//f\\..\\g";
        assertThat(PathReadings.of(lessCrafted, List.of("/", "/admin")).orElseThrow())
                .hasSizeGreaterThan(PathReadings.MAX_READINGS / 2).hasSizeLessThanOrEqualTo(PathReadings.MAX_READINGS);
        assertThat(ambiguous("x.test", lessCrafted)).isFalse();
    }

    @Test
    void aLongPathWithManyReadingsIsReadWithinTheCharacterBudgetAndCountsAsAmbiguous() {
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("admin", "x.test", "/admin"));

        // The short path above with fewer than MAX_READINGS readings, made as long as a request line may be: each
        // of its 2,000 or so step runs would read 8 KiB.
        String crafted = "/X;a/b%2520%3Bc./e//f\\..\\g/" + "p".repeat(8 * 1024 - 40);
        PathReadings.Work work = new PathReadings.Work();
        assertThat(PathReadings.of(crafted, List.of("/", "/admin"), work)).isEmpty();
        assertThat(work.characters()).isPositive().isLessThanOrEqualTo(PathReadings.MAX_CHARACTERS);
        assertThat(ambiguous("x.test", crafted)).isTrue();
        // An ordinary path of the same length (case, %20, ;jsessionid) is read every way within the budget.
        String ordinary = "/Static/" + "a%20b/".repeat(1300) + "x;jsessionid=1";
        PathReadings.Work ordinaryWork = new PathReadings.Work();
        assertThat(PathReadings.of(ordinary, List.of("/", "/admin"), ordinaryWork)).isPresent();
        assertThat(ordinaryWork.characters()).isLessThanOrEqualTo(PathReadings.MAX_CHARACTERS);
        assertThat(ambiguous("x.test", ordinary)).isFalse();
        assertThat(ambiguous("x.test", "/admin/" + "a%20b/".repeat(1300) + "X;jsessionid=1")).isFalse();
    }

    @Test
    void aPercentEncodedPrefixOutsideAsciiRoutesTheBrowsersSpellingInEitherCase() {
        // The API stores /café as /caf%C3%A9 (ServiceInput): the normal form of the path a browser sends.
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("cafe", "x.test", "/caf%C3%A9"));

        for (String sent : List.of("/caf%C3%A9/x", "/caf%c3%a9/x", "/caf%C3%A9")) {
            String path = PathNormalizer.normalize(sent);
            assertThat(route("x.test", path)).as(sent).contains("cafe");
            assertThat(ambiguous("x.test", path)).as(sent).isFalse();
        }
    }

    @Test
    void aPrefixStoredRawBeforeTheApiPercentEncodedItRoutesTheBrowsersSpelling() {
        // Prefixes stored before the API percent-encoded them as browsers do keep their raw spelling in the store.
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("cafe", "x.test", "/café"));
        routes.onServiceChange(null, http("id", "x.test", "/{id}"));

        for (String sent : List.of("/caf%C3%A9/x", "/caf%c3%a9", "/caf\u00C3\u00A9/x")) {
            String path = PathNormalizer.normalize(sent);
            assertThat(route("x.test", path)).as(sent).contains("cafe");
            assertThat(ambiguous("x.test", path)).as(sent).isFalse();
        }
        for (String sent : List.of("/%7Bid%7D/x", "/{id}/x")) {
            String path = PathNormalizer.normalize(sent);
            assertThat(route("x.test", path)).as(sent).contains("id");
            assertThat(ambiguous("x.test", path)).as(sent).isFalse();
        }
    }

    @Test
    void ofTwoPrefixesThatAreOneRouteTheOlderServiceIsServedWhicheverCameFirst() {
        // created first, the clock then set back an hour
        Service older = new Service("older", "t1", ServiceType.HTTP, "x.test", "/{id}", TlsMode.TERMINATE, null,
                "localhost:80", true, Instant.parse("2026-06-01T12:00:00Z"), false, AccessPolicy.OPEN, 1);
        Service newer = new Service("newer", "t1", ServiceType.HTTP, "x.test", "/%7Bid%7D", TlsMode.TERMINATE, null,
                "localhost:80", true, Instant.parse("2026-06-01T11:00:30Z"), false, AccessPolicy.OPEN, 2);
        for (List<Service> order : List.of(List.of(older, newer), List.of(newer, older))) {
            HttpRoutes routes = new HttpRoutes();
            order.forEach(s -> routes.onServiceChange(null, s));

            assertThat(routes.route("x.test", "/%7Bid%7D/x").map(Service::id)).as(order.getFirst().id() + " first")
                    .contains("older");
        }
    }

    @Test
    void ofTwoPrefixesThatAreOneRouteTheOneCreatedFirstIsServedThoughTheClockWasSetBackBeforeTheOther() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-06-01T12:00:00Z"));
        String older;
        String newer;
        try (Store store = Store.open(dataDir, clock)) {
            String tunnel = store.createTunnel("t").id();
            older = store.createService(new Service(null, tunnel, ServiceType.HTTP, "x.test", "/{id}", TlsMode.TERMINATE,
                    null, "localhost:80", true, null)).orElseThrow().id();
            clock.advance(Duration.ofHours(-1));
            newer = store.createService(new Service(null, tunnel, ServiceType.HTTP, "x.test", "/b", TlsMode.TERMINATE,
                    null, "localhost:80", true, null)).orElseThrow().id();
        }
        // As a version that compared prefixes as typed let them be stored: the same route spelled another way.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             PreparedStatement update = c.prepareStatement("UPDATE services SET path_prefix = '/%7Bid%7D' WHERE id = ?")) {
            update.setString(1, newer);
            update.executeUpdate();
        }

        try (Store store = Store.open(dataDir, clock)) {
            HttpRoutes replayed = new HttpRoutes();
            store.services().forEach(s -> replayed.onServiceChange(null, s));
            assertThat(replayed.route("x.test", "/%7Bid%7D/x").map(Service::id)).contains(older);

            // A change of the older does not make it the newer.
            store.addServiceListener(replayed);
            store.updateService(older, s -> new Service(s.id(), s.tunnelId(), s.type(), s.domain(), s.pathPrefix(),
                    s.tlsMode(), null, "localhost:81", true, null));
            assertThat(replayed.route("x.test", "/%7Bid%7D/x").map(Service::id)).contains(older);
        }
    }

    @Test
    void readingsApplyToThePrefixesToo() {
        routes.onServiceChange(null, http("open", "x.test", "/"));
        routes.onServiceChange(null, http("upper", "x.test", "/Admin"));
        routes.onServiceChange(null, http("lower", "x.test", "/admin"));
        routes.onServiceChange(null, http("params", "x.test", "/app;v=1"));

        assertThat(ambiguous("x.test", "/Admin/x")).isFalse();
        assertThat(ambiguous("x.test", "/admin/x")).isFalse();
        assertThat(ambiguous("x.test", "/app;v=1/x")).isFalse();
        assertThat(ambiguous("x.test", "/ADMIN/x")).isTrue();
        assertThat(ambiguous("x.test", "/app/x")).isTrue();
    }

    @Test
    void aHostWithOneServiceIsNeverAmbiguousAndHostsDoNotMix() {
        routes.onServiceChange(null, http("only", "one.test", "/"));
        routes.onServiceChange(null, http("admin", "other.test", "/admin"));
        routes.onServiceChange(null, http("w", "*.example.com", "/"));
        routes.onServiceChange(null, http("e", "app.example.com", "/admin"));

        assertThat(ambiguous("one.test", "//admin;x/ADMIN")).isFalse();
        assertThat(ambiguous("a.example.com", "/ADMIN/x")).isFalse();
        // The exact domain's /admin is tried before the wildcard's "/", by readings too.
        assertThat(route("app.example.com", "/ADMIN/x")).contains("w");
        assertThat(ambiguous("app.example.com", "/ADMIN/x")).isTrue();
    }

    /**
     * A follower that throws, a RuntimeException or an Error of its own (here an AssertionError), is logged with its
     * trace and the later followers are still told. Before, the Error ended the change half told: the later follower
     * was not told and the Error went out of the store's write.
     */
    @Test
    void aFollowerThatThrowsIsLoggedAndTheNextFollowerIsStillToldOfTheStoredChange() throws Exception {
        List<Service> told = new ArrayList<>();
        routes.afterEachChange(before -> {
            throw new IllegalStateException("follower broken");
        });
        routes.afterEachChange(before -> {
            throw new AssertionError("follower broken");
        });
        routes.afterEachChange(told::add);
        try (Store store = Store.open(dataDir); LogCapture log = new LogCapture(HttpRoutes.class, Level.WARN)) {
            store.addServiceListener(routes);
            String tunnel = store.createTunnel("t").id();
            Service created = store.createService(new Service(null, tunnel, ServiceType.HTTP, "f.test", "/",
                    TlsMode.TERMINATE, null, "localhost:80", true, null)).orElseThrow();
            assertThat(store.deleteService(created.id())).isTrue();

            assertThat(told).as("the second follower, told of the creation and the deletion").hasSize(2)
                    .last().extracting(Service::id).isEqualTo(created.id());
            assertThat(route("f.test", "/")).isEmpty();
            assertThat(log.events()).as("one WARN per change and follower that threw, with its trace").hasSize(4)
                    .allSatisfy(e -> {
                        assertThat(e.getLevel()).isEqualTo(Level.WARN);
                        assertThat(e.getThrowableProxy().getMessage()).isEqualTo("follower broken");
                    });
            assertThat(log.messages(Level.WARN)).last().asString().contains(created.id());
        }
    }
}
