package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.KernelSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A target that sends and ends its output before the relay has started: the target's socket must read only when asked
 * from its start ({@code HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked} where {@link TargetDialer} sets it
 * up), or Netty's epoll reads it to its end at the target's FIN, whatever auto-read says, into the dialer's hold.
 * The relay asks the same once it starts, so only a target that ends before then tells the two apart.
 */
class TargetDialerTargetEndTest {

    private static final int SENT = 64 * 1024;
    private static final int STREAM = 2;

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("target-end");
    private final ExecutorService lookups = Executors.newVirtualThreadPerTaskExecutor();
    private final CountDownLatch relayMayStart = new CountDownLatch(1);

    @AfterEach
    void tearDown() throws InterruptedException {
        relayMayStart.countDown();
        client.close();
        lookups.shutdownNow();
    }

    @Test
    void aTargetThatSendsAndEndsBeforeTheRelayStartsIsLeftUnreadUntilThenAndPassedOnWhole() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        try (ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket server = new Socket()) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(5), holdingTheStreamLoopAfterTheLookup());
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            TargetDialerBehindYamux.open(out, STREAM, "127.0.0.1:" + target.getLocalPort(), 0);

            target.setSoTimeout(10_000);
            try (Socket accepted = target.accept()) {
                accepted.getOutputStream().write(new byte[SENT]);
                accepted.shutdownOutput();
                await("the target's FIN in the client's socket").atMost(Duration.ofSeconds(10))
                        .until(() -> socketToTarget(accepted).state() == KernelSocket.CLOSE_WAIT);
                client.awaitTargetsLoopTurn();

                // The kernel counts the FIN as one more.
                assertThat(socketToTarget(accepted).unread())
                        .as("bytes of the target the client's socket left to the kernel before the relay started")
                        .isEqualTo(SENT + 1L);

                relayMayStart.countDown();
                assertThat(dataUntilFin(new DataInputStream(server.getInputStream())))
                        .as("bytes passed on to the stream before its FIN").isEqualTo(SENT);
            }
        }
    }

    /**
     * Lookups on virtual threads, after each of which the stream's loop, which dials next, is held until the test lets
     * it go: the connection is made, and the relay waits for the loop to hear of it.
     */
    private Executor holdingTheStreamLoopAfterTheLookup() {
        return lookup -> lookups.execute(() -> {
            lookup.run();
            client.streamLoop().execute(() -> {
                try {
                    relayMayStart.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        });
    }

    private static KernelSocket socketToTarget(Socket accepted) throws IOException {
        KernelSocket socket = KernelSocket.find(accepted.getPort(), accepted.getLocalPort());
        assertThat(socket).as("the client's socket to the target").isNotNull();
        return socket;
    }

    /** Reads frames (skipping the others) up to the FIN of the stream; answers the bytes of its Data frames. */
    private static long dataUntilFin(DataInputStream in) throws IOException {
        long data = 0;
        for (int i = 0; i < 10_000; i++) {
            TargetDialerBehindYamux.Frame frame = TargetDialerBehindYamux.readFrame(in);
            if (frame.streamId() == STREAM) {
                data += frame.payload().length;
                if ((frame.flags() & FLAG_FIN) != 0) {
                    return data;
                }
            }
        }
        throw new AssertionError("no FIN for stream " + STREAM + " within 10000 frames");
    }
}
