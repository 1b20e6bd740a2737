package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.server.proxy.http.HttpListener;
import io.picotunnel.server.proxy.http.HttpProxy;
import io.picotunnel.server.proxy.http.HttpRoutes;
import io.picotunnel.server.proxy.http.TunnelUpstream;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP request whose chosen client the server ended, for its token regenerated or its tunnel deleted, after it was
 * chosen and before its stream opened: it gets the page of a tunnel without clients (tunnel_offline), and the proxy's
 * line says why, not only that the client was lost.
 *
 * <p>As in PassthroughWhileTheTunnelIsRevokedTest: the server's session runs over a real loopback connection to a
 * {@link SilentPeer#draining} client, and the visitor is served on a loop of its own, so its stream's open waits behind
 * a task of the session's loop that revokes the client.
 */
class ProxyWhileTheTunnelIsRevokedTest {

    private static final String TUNNEL_ID = "t1";
    private static final String TOKEN_SHA256 = "a".repeat(64);
    private static final String HOST = "app.test";

    private SilentTunnelClient client;
    private HttpListener listener;

    @BeforeEach
    void start() throws Exception {
        client = new SilentTunnelClient(TUNNEL_ID, TOKEN_SHA256, "revoked");
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", TUNNEL_ID, ServiceType.HTTP, HOST, "/", TlsMode.TERMINATE,
                null, "127.0.0.1:9", true, Instant.now()));
        HttpProxy proxy = HttpProxy.builder().routes(routes).opener(new TunnelUpstream(client.registry)).build();
        listener = HttpListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), client.visitorLoop,
                proxy);
    }

    @AfterEach
    void stop() {
        listener.close();
        client.close();
    }

    @ParameterizedTest
    @EnumSource(names = {"TOKEN_REGENERATED", "TUNNEL_DELETED"})
    void aRequestWhoseClientWasEndedOnceChosenGetsTunnelOfflineAndIsLoggedWithWhy(TunnelCloseStatus why)
            throws Exception {
        try (LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO);
             Socket visitor = new Socket()) {
            VisitorLoop.onceChosen(client.only(), () -> {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.port()), 10_000);
                visitor.setSoTimeout(10_000);
                visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json"
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            }, () -> client.revoke(why));
            String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(answer).startsWith("HTTP/1.1 502 ").contains("\"error\":\"tunnel_offline\"");
            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            // Before: no INFO line, only a DEBUG one ("no stream for app.test: io.picotunnel...TunnelOfflineException: ...").
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .isEqualTo("service s1: no stream to the tunnel's client (" + why.description() + ": the server"
                            + " ended the connection of the client of tunnel t1 chosen for the stream before the stream"
                            + " opened, and no other client could take it); GET " + HOST + " from 127.0.0.1 is answered"
                            + " 502 tunnel_offline");
        }
    }
}
