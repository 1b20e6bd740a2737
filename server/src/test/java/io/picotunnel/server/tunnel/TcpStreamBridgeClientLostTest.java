package io.picotunnel.server.tunnel;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.e2e.UnsentWrites;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A tcp visitor whose chosen client connection is lost, without GoAway, between the registry's choice of it and the
 * stream's open, or with the stream's SYN still queued: no SYN left, so the visitor goes to another client of the
 * tunnel, or is reset when there is none, never closed cleanly (a visitor waiting for the target to speak first would
 * take the FIN for an empty answer).
 *
 * <p>Real server, clients, sockets and target. The moment lasts as long as the test needs: the visitor is served on
 * a loop of its own (as a TLS passthrough visitor may be, or a tcp one whose client changed since its accept), so the
 * open waits behind a task of the chosen session's loop, which closes the session's connection before it runs.
 */
class TcpStreamBridgeClientLostTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private EchoServer echo;
    private EventLoopGroup visitorLoop;
    private int visitorPort;

    @BeforeEach
    void start() throws Exception {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "lost", "lost.test");
        echo = new EchoServer();
        visitorLoop = Transport.newEventLoopGroup(1, "lost-visitors");
        StreamHeader header = new StreamHeader(StreamType.TCP, echo.address());
        // As TcpConnection does: a hold in front, released once the stream takes the socket.
        visitorPort = VisitorLoop.listen(visitorLoop, ctx -> {
            Hold hold = new Hold();
            ctx.pipeline().addLast(Hold.HANDLER_NAME, hold);
            ctx.pipeline().remove(ctx.handler());
            TcpStreamBridge.connect(registry(), tunnel.id, header, ctx.channel()).addListener(relaying -> {
                if (relaying.isSuccess()) {
                    hold.release();
                } else {
                    hold.discard();
                }
            });
        });
    }

    @AfterEach
    void stop() {
        testbed.close();
        tunnel.close();
        echo.close();
        visitorLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private TunnelRegistry registry() {
        return testbed.server().registry();
    }

    @Test
    void aVisitorWhoseOnlyClientIsLostBeforeItsStreamOpensIsResetNotClosed() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        TunnelRegistry.Connection only = registry().connections(tunnel.id).getFirst();
        try (Socket visitor = new Socket()) {
            lostOnceChosen(only, () -> {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000);
                visitor.setSoTimeout(10_000);
            });

            // It sent nothing, as a visitor of a protocol where the server speaks first: a FIN would read as the end.
            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
    }

    @Test
    void aVisitorWhoseChosenClientIsLostBeforeItsStreamOpensGetsItsEchoFromTheTunnelsOtherClient() throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen();
             Socket visitor = new Socket()) {
            long opened = clients.other().streamsOpened();
            lostOnceChosen(clients.chosen(), () -> {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000);
                visitor.setSoTimeout(10_000);
                visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            });

            assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
            assertThat(clients.other().streamsOpened()).as("the other client took the stream").isEqualTo(opened + 1);
            assertThat(clients.chosen().streamsOpened()).as("nothing opened on the lost one").isZero();
        }
    }

    /**
     * The client chosen for the visitor's stream is lost (its connection closed, no GoAway) while the stream's SYN waits
     * to be sent: its client never heard of the stream, and the visitor goes to the other client with what it sent.
     */
    @Test
    void aVisitorWhoseSynWasStillQueuedWhenItsClientWasLostGetsItsEchoFromTheTunnelsOtherClient() throws Exception {
        try (ServicedTunnel.TwoClients clients = tunnel.twoClientsTheSecondChosen()) {
            long opened = clients.other().streamsOpened();
            UnsentWrites.holdWritesTo(clients.chosen());
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
                visitor.setSoTimeout(10_000);
                visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                await().atMost(10, TimeUnit.SECONDS).until(() -> clients.chosen().streamsOpened() == 1);

                clients.chosen().session().parent().close();

                assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
                        .isEqualTo("ping");
                assertThat(clients.other().streamsOpened()).as("the other client took the stream")
                        .isEqualTo(opened + 1);
            }
        }
    }

    /**
     * The client chosen for the visitor's stream is lost (its connection closed, no GoAway) once the registry asked it
     * for the stream, before the open gets to its loop.
     */
    private static void lostOnceChosen(TunnelRegistry.Connection chosen, VisitorLoop.Visit visit) throws Exception {
        VisitorLoop.onceChosen(chosen, visit, () -> chosen.session().parent().close());
    }
}
