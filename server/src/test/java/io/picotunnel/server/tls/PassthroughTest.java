package io.picotunnel.server.tls;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
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
import java.util.concurrent.TimeUnit;

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

    private SSLSocket connect(String serverName) throws IOException {
        return SniSockets.connect(ca.clientContext(), listener.port(), serverName);
    }

    private static Service passthroughService(String domain, String targetAddr) {
        return new Service("s1", "tun1", ServiceType.HTTP, domain, "/", TlsMode.PASSTHROUGH, null, targetAddr, true,
                Instant.now());
    }
}
