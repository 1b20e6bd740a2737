package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.wsFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real client against tunnel servers that misbehave, played by scripts on raw sockets. */
class TunnelClientHostileServerTest {

    private static final String TOKEN = "d".repeat(64);
    private ScriptedTunnelServer server;
    private TunnelClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        }
        if (server != null) {
            server.close();
        }
    }

    private void start(ScriptedTunnelServer.Script script) {
        start(script, new Backoff());
    }

    private void start(ScriptedTunnelServer.Script script, Backoff backoff) {
        server = new ScriptedTunnelServer(script);
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.address()), TOKEN)
                .withShutdownGrace(Duration.ZERO), YamuxConfig.defaults(), backoff);
        client.start();
    }

    /** Accepts the upgrade and says GoAway(normal) at once; keeps the connection until the client closes it. */
    private static void goAwayAtOnce(java.net.Socket socket, String key) throws Exception {
        answer101(socket, key);
        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(3, 0, 0, 0, null)));
        drainUntilEof(socket);
    }

    @Test
    void aServerThatSaysGoAwayAsSoonAsConnectedIsRedialledWithGrowingDelays() {
        start(TunnelClientHostileServerTest::goAwayAtOnce);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 4);
        // Backoff of 1, 2 and 4 s, a fifth less at most: before, every GoAway was redialled within a second.
        assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).subList(0, 3))
                .satisfies(gaps -> assertThat(gaps.get(1)).isGreaterThanOrEqualTo(1500))
                .satisfies(gaps -> assertThat(gaps.get(2)).isGreaterThanOrEqualTo(3000));
    }

    @Test
    void oldConnectionsWithStreamsLeftAfterGoAwayStayFew() {
        // Every connection counts as lasting (redialled at once): a stream whose header never ends keeps each open.
        Backoff atOnce = new Backoff(() -> 0.0, Duration.ZERO, System::nanoTime);
        start((socket, key) -> {
            answer101(socket, key);
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(1, 1, 2, 0, null)));
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(0, 0, 2, 1, new byte[] {0})));
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(3, 0, 0, 0, null)));
            drainUntilEof(socket);
        }, atOnce);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 20);
        // Before: one more open connection (and stream) for every GoAway.
        assertThat(client.openConnections()).isLessThanOrEqualTo(TunnelClient.MAX_RETIRING + 1);
    }

    @Test
    void pingsFromAServerThatDoesNotReadAreAnsweredWithinTheConnectionsBuffers() {
        AtomicLong pingBytes = new AtomicLong();
        AtomicLong pongBytes = new AtomicLong(-1);
        start((socket, key) -> {
            answer101(socket, key);
            if (server.connections() > 1) {
                drainUntilEof(socket);
                return;
            }
            byte[] ping = wsFrame(0x9, true, false, new byte[125]);
            byte[] batch = new byte[ping.length * 1000];
            for (int i = 0; i < 1000; i++) {
                System.arraycopy(ping, 0, batch, i * ping.length, ping.length);
            }
            for (int i = 0; i < 400 && !socket.isClosed(); i++) { // 51 MB of pings, nothing read meanwhile
                write(socket, batch);
                pingBytes.addAndGet(batch.length);
            }
            // Now read what the client queued for us, until it has had 2 s of quiet.
            socket.setSoTimeout(2_000);
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[65536];
            long read = 0;
            try {
                for (int i = 0; i < 10_000_000; i++) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        break;
                    }
                    read += n;
                }
            } catch (SocketTimeoutException quiet) {
                // all that was queued has come
            }
            pongBytes.set(read);
            drainUntilEof(socket);
        });
        await().atMost(Duration.ofSeconds(60)).until(() -> pongBytes.get() >= 0);
        assertThat(pingBytes.get()).isEqualTo(400L * 127_000);
        // Before: a pong for every ping, 51 MB queued in the client for a server that did not read. Now what the
        // sockets' buffers held, and the latest ping's pong once the connection drained.
        assertThat(pongBytes.get()).as("pong bytes the client had queued").isPositive().isLessThan(16L * 1024 * 1024);
    }
}
