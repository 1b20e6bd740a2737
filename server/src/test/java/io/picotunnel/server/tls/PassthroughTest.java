package io.picotunnel.server.tls;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener.Staged;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.testbed.LoopbackTunnel;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class PassthroughTest {

    private final TestCertificates ca = new TestCertificates();
    private final TunnelRegistry registry = new TunnelRegistry();
    private final PassthroughRoutes routes = new PassthroughRoutes();
    private EventLoopGroup group;
    private HttpsListener listener;
    private TlsEchoTarget target;
    private LoopbackTunnel tunnel;

    @BeforeEach
    void start() throws Exception {
        target = new TlsEchoTarget(ca.issue("secure.test"));
        group = Transport.newEventLoopGroup(1, "passthrough-test");
        listener = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group,
                new HttpsRouter(new CertificateStore(), routes, TlsAlpnChallenges.NONE, null), new TestHttpBackend(),
                new TunnelPassthrough(registry));
        listener.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (tunnel != null) {
            tunnel.close();
        }
        listener.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        target.close();
    }

    @Test
    void passthroughEndsTlsAtTheTargetBehindTheTunnelWhichTheClientVerifies() throws Exception {
        tunnel = new LoopbackTunnel(registry, "tun1");
        await().atMost(Duration.ofSeconds(10)).until(() -> registry.isConnected("tun1"));
        routes.onServiceChange(null, passthroughService("secure.test", "127.0.0.1:" + target.port()));

        try (SSLSocket socket = connect("secure.test")) {
            socket.startHandshake();
            X509Certificate served = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            out.println("hello through the tunnel");

            assertThat(in.readLine()).isEqualTo("target heard: hello through the tunnel");
            assertThat(served.getSubjectX500Principal().getName()).isEqualTo("CN=secure.test");
        }
    }

    @Test
    void passthroughToAnOfflineTunnelClosesTheConnection() throws Exception {
        routes.onServiceChange(null, passthroughService("secure.test", "127.0.0.1:" + target.port()));

        try (SSLSocket socket = connect("secure.test")) {
            assertThatThrownBy(socket::startHandshake).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aStagedDeleteOrDisablePassesThroughUntilStoredAndAnUndoneOneGoesOn() throws Exception {
        Service service = passthroughService("secure.test", "127.0.0.1:1");
        routes.onServiceChange(null, service);
        Service disabled = new Service(service.id(), service.tunnelId(), ServiceType.HTTP, "secure.test", "/",
                TlsMode.PASSTHROUGH, null, "127.0.0.1:1", false, Instant.now());

        for (Service after : java.util.Arrays.asList(null, disabled)) {
            Staged undone = routes.stage(service, after);
            assertThat(routes.lookup("secure.test")).as("staged, to %s", after).isPresent();
            undone.undo();
            assertThat(routes.lookup("secure.test")).as("undone, to %s", after).isPresent();
        }

        Staged stored = routes.stage(service, disabled);
        assertThat(routes.lookup("secure.test")).isPresent();
        stored.stored();
        assertThat(routes.lookup("secure.test")).isEmpty();
    }

    @Test
    void aStagedChangeSharingAPassthroughDomainIsRefusedInItsTransaction() throws Exception {
        routes.onServiceChange(null, passthroughService("secure.test", "127.0.0.1:1"));
        Service terminate = new Service("s2", "tun1", ServiceType.HTTP, "secure.test", "/api", TlsMode.TERMINATE,
                null, "127.0.0.1:2", true, Instant.now());

        assertThatThrownBy(() -> routes.stage(null, terminate))
                .isInstanceOf(ServiceConflictException.class).hasMessageContaining("secure.test");
        assertThat(routes.lookup("secure.test")).isPresent();
    }

    @Test
    void passthroughDomainCannotBeSharedWithAnotherHttpService() throws Exception {
        routes.onServiceChange(null, passthroughService("secure.test", "127.0.0.1:1"));
        Service terminate = new Service("s2", "tun1", ServiceType.HTTP, "secure.test", "/api", TlsMode.TERMINATE,
                null, "127.0.0.1:2", true, Instant.now());

        assertThatThrownBy(() -> routes.onServiceChange(null, terminate))
                .isInstanceOf(ServiceConflictException.class).hasMessageContaining("secure.test");
        assertThat(routes.lookup("secure.test")).isPresent();
    }

    @Test
    void aWildcardPassthroughServiceLeavesTheNameOfAnExactHttpServiceToTlsTerminationWhileItIsEnabled()
            throws Exception {
        routes.onServiceChange(null, passthroughService("*.apps.test", "127.0.0.1:1"));
        Service exact = new Service("s2", "tun1", ServiceType.HTTP, "app.apps.test", "/api", TlsMode.TERMINATE,
                null, "127.0.0.1:2", true, Instant.now());
        routes.onServiceChange(null, exact);

        assertThat(routes.lookup("app.apps.test")).isEmpty();
        assertThat(routes.lookup("APP.apps.test.")).isEmpty();
        assertThat(routes.lookup("other.apps.test")).map(PassthroughRoutes.Target::serviceId).contains("s1");

        Service moved = new Service("s2", "tun1", ServiceType.HTTP, "app.apps.test", "/", TlsMode.TERMINATE,
                null, "127.0.0.1:3", true, Instant.now());
        routes.onServiceChange(exact, moved);
        assertThat(routes.lookup("app.apps.test")).as("changed in place").isEmpty();

        Service disabled = new Service("s2", "tun1", ServiceType.HTTP, "app.apps.test", "/", TlsMode.TERMINATE,
                null, "127.0.0.1:3", false, Instant.now());
        routes.onServiceChange(moved, disabled);
        assertThat(routes.lookup("app.apps.test")).map(PassthroughRoutes.Target::serviceId).contains("s1");

        routes.onServiceChange(disabled, moved);
        routes.onServiceChange(moved, null);
        assertThat(routes.lookup("app.apps.test")).as("deleted").map(PassthroughRoutes.Target::serviceId)
                .contains("s1");
    }

    @Test
    void aLookupWhileAServiceChangesInPlaceSeesItBeforeOrAfterNeverTheWildcardOverIt() throws Exception {
        routes.onServiceChange(null, passthroughService("*.apps.test", "127.0.0.1:1"));
        Service db = new Service("db", "tun1", ServiceType.HTTP, "db.apps.test", "/", TlsMode.PASSTHROUGH, null,
                "127.0.0.1:2", true, Instant.now());
        Service dbMoved = new Service("db", "tun1", ServiceType.HTTP, "db.apps.test", "/", TlsMode.PASSTHROUGH, null,
                "127.0.0.1:3", true, Instant.now());
        Service app = new Service("app", "tun1", ServiceType.HTTP, "app.apps.test", "/", TlsMode.TERMINATE, null,
                "127.0.0.1:4", true, Instant.now());
        Service appPassedThrough = new Service("app", "tun1", ServiceType.HTTP, "app.apps.test", "/",
                TlsMode.PASSTHROUGH, null, "127.0.0.1:4", true, Instant.now());
        routes.onServiceChange(null, db);
        routes.onServiceChange(null, app);

        // An event loop's lookups while the API edits db's target and switches app's tls_mode back and forth: each
        // name is always its own service's (app's: passed through or terminated), never the wildcard's target.
        List<String> wrong = new CopyOnWriteArrayList<>();
        AtomicBoolean changing = new AtomicBoolean(true);
        CountDownLatch looking = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().name("lookups").start(() -> {
            looking.countDown();
            for (long i = 0; i < 2_000_000_000L && changing.get() && wrong.isEmpty(); i++) {
                Optional<PassthroughRoutes.Target> dbTarget = routes.lookup("db.apps.test");
                if (dbTarget.isEmpty() || !dbTarget.get().serviceId().equals("db")) {
                    wrong.add("db.apps.test: " + dbTarget);
                }
                Optional<PassthroughRoutes.Target> appTarget = routes.lookup("app.apps.test");
                if (appTarget.isPresent() && !appTarget.get().serviceId().equals("app")) {
                    wrong.add("app.apps.test: " + appTarget);
                }
            }
        });
        assertThat(looking.await(10, TimeUnit.SECONDS)).isTrue();
        try {
            for (int i = 0; i < 100_000 && wrong.isEmpty(); i++) {
                routes.onServiceChange(db, dbMoved);
                routes.onServiceChange(dbMoved, db);
                routes.onServiceChange(app, appPassedThrough);
                routes.onServiceChange(appPassedThrough, app);
            }
        } finally {
            changing.set(false);
            reader.join(Duration.ofSeconds(10));
        }
        assertThat(reader.isAlive()).isFalse();
        assertThat(wrong).isEmpty();
    }

    private SSLSocket connect(String serverName) throws IOException {
        return SniSockets.connect(ca.clientContext(), listener.port(), serverName);
    }

    private static Service passthroughService(String domain, String targetAddr) {
        return new Service("s1", "tun1", ServiceType.HTTP, domain, "/", TlsMode.PASSTHROUGH, null, targetAddr, true,
                Instant.now());
    }
}
