package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.tls.TunnelPassthrough;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A TLS passthrough visitor whose chosen client got the stopping server's GoAway after it was chosen, before its
 * stream opened: the INFO line says the server is stopping, not that the client was lost (it is still connected).
 *
 * <p>The server's session runs over a real loopback connection to a {@link SilentPeer#draining} client; the visitor
 * is served on a loop of its own, so its stream's open waits behind a task of the session's loop that sends GoAway.
 */
class PassthroughWhileTheServerStopsTest {

    private static final String TUNNEL_ID = "t1";

    private SilentTunnelClient client;
    private int visitorPort;

    @BeforeEach
    void start() throws Exception {
        client = new SilentTunnelClient(TUNNEL_ID, null, "stopping");
        visitorPort = client.listenForPassthrough("secure.test");
    }

    @AfterEach
    void stop() {
        client.close();
    }

    @Test
    void aPassthroughVisitorWhoseClientGotTheStoppingServersGoAwayOnceChosenIsLoggedAsTheServerStopping()
            throws Exception {
        assertThat(passthroughLineWhenOnceChosen(() -> {
            // As the server's drain does: the registry learns it first, then every session sends GoAway.
            client.registry.serverStopping();
            StoppingServerGoAway.send(client.session);
        })).endsWith(" failed: the server is stopping: it sent GoAway to the client of tunnel t1 chosen for the stream"
                + " before the stream opened, and takes no new streams");
    }

    @Test
    void aPassthroughVisitorWhoseClientIsLostOnceChosenBeforeTheServersGoAwayIsLoggedAsALostClient()
            throws Exception {
        assertThat(passthroughLineWhenOnceChosen(() -> {
            // The drain began, but its GoAway has not left when the client's connection is lost.
            client.registry.serverStopping();
            client.session.parent().close();
        })).endsWith(" failed: the client of tunnel t1 chosen for the stream was lost before the stream opened, and no"
                + " other client could take it");
    }

    /**
     * The one INFO line of a passthrough visitor's connection when {@code onceChosen} runs as the server has chosen
     * the tunnel's only client for its stream, before the stream opens.
     */
    private String passthroughLineWhenOnceChosen(Runnable onceChosen) throws Exception {
        TunnelRegistry.Connection only = client.only();
        try (LogCapture log = new LogCapture(TunnelPassthrough.class, Level.INFO);
             Socket visitor = new Socket()) {
            VisitorLoop.onceChosen(only,
                    () -> visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000),
                    onceChosen);

            await().atMost(Duration.ofSeconds(10)).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .startsWith("TLS passthrough for secure.test from /127.0.0.1:");
            return log.messages(Level.INFO).get(0);
        }
    }
}
