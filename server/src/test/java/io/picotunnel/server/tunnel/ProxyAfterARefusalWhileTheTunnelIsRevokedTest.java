package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A request refused by one client of the tunnel (at its --max-streams) goes to the other, which the server ends (its
 * token regenerated, its tunnel deleted, the server stopping) once chosen and before the stream opens: the visitor gets
 * the page of that reason, not the refusal's 503 tunnel_busy, and the proxy's one line says both.
 *
 * <p>Each client's session runs on a loop of its own over a real loopback connection, the refusing one to a
 * {@link RefusingYamuxPeer}, the other to a {@link SilentPeer#draining} peer; the visitor is served on a third loop, so
 * the second open waits behind a task of the other client's loop that ends it (see {@link VisitorLoop}).
 */
class ProxyAfterARefusalWhileTheTunnelIsRevokedTest {

    private static final String TUNNEL_ID = "t1";
    private static final String TOKEN_SHA256 = "a".repeat(64);
    private static final String HOST = "app.test";
    private static final String REFUSED = "the tunnel's client refused the stream: it had as many streams open as its"
            + " --max-streams allows (nothing of it reached the target)";

    private final TunnelRegistry registry = new TunnelRegistry();
    private final List<EventLoopGroup> loops = new ArrayList<>();
    private final List<Channel> sessions = new ArrayList<>();
    private RefusingYamuxPeer refusingPeer;
    private SilentPeer silentPeer;
    private HttpProxy proxy;
    private HttpListener listener;
    private TunnelRegistry.Connection other;

    @BeforeEach
    void start() throws Exception {
        refusingPeer = new RefusingYamuxPeer();
        silentPeer = SilentPeer.draining();
        // The refusing client first: of two clients without streams, the first registered is asked first.
        register(refusingPeer.socketAddress(), "refusing");
        other = register(silentPeer.socketAddress(), "other");
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", TUNNEL_ID, ServiceType.HTTP, HOST, "/", TlsMode.TERMINATE,
                null, "127.0.0.1:9", true, Instant.now()));
        proxy = HttpProxy.builder().routes(routes).opener(new TunnelUpstream(registry)).build();
        listener = HttpListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), loop("visitors"),
                proxy);
    }

    private TunnelRegistry.Connection register(SocketAddress peer, String name) throws InterruptedException {
        YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
                new ChannelInboundHandlerAdapter());
        sessions.add(new Bootstrap().group(loop(name)).channel(Transport.socketChannel()).handler(session)
                .connect(peer).sync().channel());
        return registry.register(TUNNEL_ID, TOKEN_SHA256, session, "test", name + ".invalid");
    }

    private EventLoopGroup loop(String name) {
        EventLoopGroup loop = Transport.newEventLoopGroup(1, "refused-" + name);
        loops.add(loop);
        return loop;
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        sessions.forEach(channel -> channel.close().awaitUninterruptibly(10, TimeUnit.SECONDS));
        refusingPeer.close();
        silentPeer.close();
        loops.forEach(loop -> loop.shutdownGracefully(0, 1, TimeUnit.SECONDS)
                .awaitUninterruptibly(10, TimeUnit.SECONDS));
    }

    @ParameterizedTest
    @EnumSource(names = {"TOKEN_REGENERATED", "TUNNEL_DELETED"})
    void aRequestRefusedByOneClientWhoseNextClientWasEndedOnceChosenGetsTunnelOfflineAndIsLoggedWithWhy(
            TunnelCloseStatus why) throws Exception {
        String answer = requestWhileTheOtherClientIsEnded(() -> {
            if (why == TunnelCloseStatus.TOKEN_REGENERATED) {
                registry.disconnect(TUNNEL_ID, TOKEN_SHA256);
            } else {
                registry.disconnect(TUNNEL_ID);
            }
        }, why.description() + ": the server ended the connection of the client of tunnel t1 chosen for the stream"
                + " before the stream opened, and no other client could take it", "502 tunnel_offline");

        // Before: 503 tunnel_busy, the refusal's page, and a line naming only the refusal.
        assertThat(answer).startsWith("HTTP/1.1 502 ").contains("\"error\":\"tunnel_offline\"");
    }

    @Test
    void aRequestRefusedByOneClientWhoseNextClientGotTheStoppingServersGoAwayOnceChosenGetsServerStopping()
            throws Exception {
        String answer = requestWhileTheOtherClientIsEnded(() -> {
            // As the server's drain does: the proxy and the registry learn it first, then every session sends GoAway.
            proxy.draining();
            registry.serverStopping();
            StoppingServerGoAway.send(other.session());
        }, "the server is stopping: it sent GoAway to the client of tunnel t1 chosen for the stream before the stream"
                + " opened, and takes no new streams", "503 server_stopping");

        // Before: 503 tunnel_busy, the refusal's page.
        assertThat(answer).startsWith("HTTP/1.1 503 ").contains("\"error\":\"server_stopping\"");
    }

    /**
     * A GET the refusing client refuses, then the other client is ended by {@code end} once chosen: the answer, once
     * the proxy's one INFO line said the refusal, then {@code why} and {@code answered}.
     */
    private String requestWhileTheOtherClientIsEnded(Runnable end, String why, String answered) throws Exception {
        try (LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO);
             Socket visitor = new Socket()) {
            VisitorLoop.onceChosen(other, () -> {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.port()), 10_000);
                visitor.setSoTimeout(10_000);
                visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json"
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            }, end);
            String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .isEqualTo("service s1: " + REFUSED + "; then no stream to the tunnel's client (" + why + "); GET "
                            + HOST + " from 127.0.0.1 is answered " + answered);
            return answer;
        }
    }
}
