package io.picotunnel.testkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class SwitchableRelayTest {

    /**
     * A connection the relay accepted while it was up, and whose target it had just reached as {@code down()} came, is
     * closed by that {@code down()}, as the server behind would have closed it.
     */
    @Test
    void aConnectionAcceptedJustBeforeDownIsClosedByIt() throws Exception {
        CountDownLatch targetReached = new CountDownLatch(1);
        CountDownLatch downDone = new CountDownLatch(1);
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             SwitchableRelay relay = new SwitchableRelay(target.getLocalPort(), () -> {
                 targetReached.countDown();
                 awaitQuietly(downDone);
             });
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            assertThat(targetReached.await(10, TimeUnit.SECONDS)).isTrue();

            relay.down();
            downDone.countDown();

            assertThat(closedByThePeer(visitor)).as("the connection was closed by down()").isTrue();
        }
    }

    /**
     * A connection the relay accepted, and whose target it had just reached as {@code close()} came, is closed by that
     * {@code close()} rather than relayed by a closed relay.
     */
    @Test
    void aConnectionAcceptedJustBeforeCloseIsClosedByIt() throws Exception {
        CountDownLatch targetReached = new CountDownLatch(1);
        CountDownLatch closeDone = new CountDownLatch(1);
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            SwitchableRelay relay = new SwitchableRelay(target.getLocalPort(), () -> {
                targetReached.countDown();
                awaitQuietly(closeDone);
            });
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
                assertThat(targetReached.await(10, TimeUnit.SECONDS)).isTrue();

                relay.close();
                closeDone.countDown();

                assertThat(closedByThePeer(visitor)).as("the connection was closed by close()").isTrue();
            } finally {
                relay.close();
                closeDone.countDown();
            }
        }
    }

    /**
     * A connection accepted before {@code down()} is closed by it even when {@code up()} follows before the relay
     * comes to keep it: the server behind went down under it.
     */
    @Test
    void aConnectionAcceptedJustBeforeDownIsClosedByItEvenAfterUp() throws Exception {
        CountDownLatch targetReached = new CountDownLatch(1);
        CountDownLatch upDone = new CountDownLatch(1);
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             SwitchableRelay relay = new SwitchableRelay(target.getLocalPort(), () -> {
                 targetReached.countDown();
                 awaitQuietly(upDone);
             });
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            assertThat(targetReached.await(10, TimeUnit.SECONDS)).isTrue();

            relay.down();
            relay.up();
            upDone.countDown();

            assertThat(closedByThePeer(visitor)).as("the connection was closed by down()").isTrue();
        }
    }

    /**
     * A connection {@code accept()} returned is closed by a {@code down()} that comes, and an {@code up()} after it,
     * before the relay so much as tries its target: it was accepted before down() returned.
     */
    @Test
    void aConnectionJustAcceptedIsClosedByDownEvenAfterUp() throws Exception {
        CountDownLatch accepted = new CountDownLatch(1);
        CountDownLatch upDone = new CountDownLatch(1);
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             SwitchableRelay relay = new SwitchableRelay(target.getLocalPort(), () -> {
                 accepted.countDown();
                 awaitQuietly(upDone);
             }, () -> { });
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            assertThat(accepted.await(10, TimeUnit.SECONDS)).isTrue();

            relay.down();
            relay.up();
            upDone.countDown();

            assertThat(closedByThePeer(visitor)).as("the connection was closed by down()").isTrue();
            target.setSoTimeout(10_000);
            try (Socket next = new Socket(InetAddress.getLoopbackAddress(), relay.port());
                 Socket behind = target.accept()) {
                behind.setSoTimeout(10_000);
                next.getOutputStream().write(7);
                assertThat(behind.getInputStream().read()).as("a byte relayed on a connection after up()").isEqualTo(7);
            }
        }
    }

    /**
     * A connection that ended is no longer kept for {@code down()}: the relay keeps the sockets of the open ones only,
     * however many came and went before.
     */
    @Test
    void theSocketsOfAnEndedConnectionAreNotKept() throws Exception {
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             SwitchableRelay relay = new SwitchableRelay(target.getLocalPort())) {
            target.setSoTimeout(10_000);
            for (int i = 0; i < 20; i++) {
                try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), relay.port());
                     Socket behind = target.accept()) {
                    visitor.getOutputStream().write(i);
                    behind.setSoTimeout(10_000);
                    assertThat(behind.getInputStream().read()).as("a byte relayed").isEqualTo(i);
                }
            }
            try (Socket open = new Socket(InetAddress.getLoopbackAddress(), relay.port());
                 Socket behind = target.accept()) {
                open.getOutputStream().write(1);
                behind.setSoTimeout(10_000);
                assertThat(behind.getInputStream().read()).as("a byte relayed: its sockets are kept").isEqualTo(1);
                await().atMost(10, TimeUnit.SECONDS).alias("only the open connection's two sockets kept")
                        .until(() -> relay.socketsKept() == 2);
            }
        }
    }

    private static boolean closedByThePeer(Socket socket) throws IOException {
        socket.setSoTimeout(10_000);
        try {
            return socket.getInputStream().read() < 0;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
