package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.server.tls.TunnelPassthrough;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A TLS passthrough visitor whose chosen client the server ended, for its token regenerated or its tunnel deleted, after
 * it was chosen and before its stream opened: the INFO line says why, not only that the client was lost.
 *
 * <p>As in PassthroughWhileTheServerStopsTest: the server's session runs over a real loopback connection to a
 * {@link SilentPeer#draining} client, and the visitor is served on a loop of its own, so its stream's open waits behind
 * a task of the session's loop that revokes the client.
 */
class PassthroughWhileTheTunnelIsRevokedTest {

    private static final String TUNNEL_ID = "t1";
    private static final String TOKEN_SHA256 = "a".repeat(64);

    private SilentTunnelClient client;
    private int visitorPort;

    @BeforeEach
    void start() throws Exception {
        client = new SilentTunnelClient(TUNNEL_ID, TOKEN_SHA256, "revoked");
        visitorPort = client.listenForPassthrough("secure.test");
    }

    @AfterEach
    void stop() {
        client.close();
    }

    @ParameterizedTest
    @EnumSource(names = {"TOKEN_REGENERATED", "TUNNEL_DELETED"})
    void aPassthroughVisitorWhoseClientWasEndedOnceChosenIsLoggedWithWhy(TunnelCloseStatus why) throws Exception {
        try (LogCapture log = new LogCapture(TunnelPassthrough.class, Level.INFO);
             Socket visitor = new Socket()) {
            VisitorLoop.onceChosen(client.only(),
                    () -> visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000),
                    () -> client.revoke(why));

            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            // Before: " failed: the client of tunnel t1 chosen for the stream was lost before the stream opened, ...".
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .startsWith("TLS passthrough for secure.test from /127.0.0.1:")
                    .endsWith(" failed: " + why.description() + ": the server ended the connection of the client of"
                            + " tunnel t1 chosen for the stream before the stream opened, and no other client could"
                            + " take it");
        }
    }
}
