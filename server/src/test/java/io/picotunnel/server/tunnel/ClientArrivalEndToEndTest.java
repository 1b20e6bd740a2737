package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Visitors who come in the moment between the server's 101 to a tunnel client and the client's registration, when
 * the client takes itself for connected and the registry does not have it yet. Real server, client and targets; the
 * registration is held back by the registry's test hook, so the moment lasts as long as the test needs.
 */
class ClientArrivalEndToEndTest {

    private static final String HOST = "arrival.test";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;
    /** The held registration and the connection it is for, once the server has sent its 101. */
    private final CompletableFuture<Held> held = new CompletableFuture<>();

    private record Held(Channel channel, Runnable register, AtomicBoolean released) {
        /** Runs the registration on the connection's loop, once. */
        void release() {
            if (released.compareAndSet(false, true)) {
                channel.eventLoop().execute(register);
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "arrival", HOST);
        registry().registration = (channel, register) -> {
            if (!held.complete(new Held(channel, register, new AtomicBoolean()))) {
                register.run();
            }
        };
    }

    @AfterEach
    void stop() {
        held.thenAccept(Held::release);
        testbed.close();
        tunnel.close();
    }

    private TunnelRegistry registry() {
        return testbed.server().registry();
    }

    /** Starts the client and waits until it took the 101 for its connection, the registration still held. */
    private Held clientUpgradedNotRegistered() throws Exception {
        TunnelClient client = testbed.startClient(tunnel.token);
        assertThat(client.awaitConnected(Duration.ofSeconds(10))).as("the client read the 101").isTrue();
        Held registration = held.get(10, TimeUnit.SECONDS);
        assertThat(registry().isConnected(tunnel.id)).as("not registered yet").isFalse();
        return registration;
    }

    /** The arrival wait longer than any await here: a visitor's wait can only end early by the visitor leaving. */
    private void waitOutlastsTheTest() {
        registry().arrivalWait = Duration.ofMinutes(1);
    }

    /** Counts the clients registered from now on. */
    private AtomicInteger registrations() {
        AtomicInteger registered = new AtomicInteger();
        registry().addClientListener(new ClientListener() {
            @Override
            public void clientConnected(String id, ConnectedClient client) {
                registered.incrementAndGet();
            }

            @Override
            public void clientLeft(String id, ConnectedClient client) {
            }
        });
        return registered;
    }

    /** Until the visitor waits for the client under way, or was answered (as it was, at once, before). */
    private void untilWaitingOrDone(CompletableFuture<?> visitor) {
        await().atMost(10, TimeUnit.SECONDS)
                .until(() -> registry().waitingStreams(tunnel.id) == 1 || visitor.isDone());
    }

    @Test
    void anHttpRequestInTheMomentBeforeTheRegistrationWaitsForTheClientAndIsAnswered() throws Exception {
        Held registration = clientUpgradedNotRegistered();

        CompletableFuture<String> answer = CompletableFuture.supplyAsync(tunnel::get);
        untilWaitingOrDone(answer);
        registration.release();

        assertThat(answer.get(10, TimeUnit.SECONDS)).startsWith("HTTP/1.1 200").endsWith("hello");
    }

    @Test
    void aTcpConnectionInTheMomentBeforeTheRegistrationWaitsForTheClientAndIsRelayed() throws Exception {
        Held registration = clientUpgradedNotRegistered();

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            CompletableFuture<String> echoed = CompletableFuture.supplyAsync(() -> read(visitor, 4));
            untilWaitingOrDone(echoed);
            registration.release();

            assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("ping");
        }
    }

    @Test
    void aTcpVisitorWhoLeavesWhileWaitingForTheClientStopsWaitingAndNoStreamIsOpenedForIt() throws Exception {
        waitOutlastsTheTest();
        Held registration = clientUpgradedNotRegistered();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry().waitingStreams(tunnel.id) == 1);
            visitor.setSoLinger(true, 0);
        }

        await("the visitor's wait dropped").atMost(10, TimeUnit.SECONDS)
                .until(() -> registry().waitingStreams(tunnel.id) == 0);
        registration.release();
        await().atMost(10, TimeUnit.SECONDS).until(() -> registry().isConnected(tunnel.id));
        assertThat(registry().connections(tunnel.id).getFirst().streamsOpened()).as("streams opened").isZero();
    }

    @Test
    void anHttpVisitorWhoLeavesWhileItsRequestWaitsForTheClientStopsWaitingAndNoStreamIsOpenedForIt() throws Exception {
        waitOutlastsTheTest();
        Held registration = clientUpgradedNotRegistered();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            visitor.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry().waitingStreams(tunnel.id) == 1);
            visitor.setSoLinger(true, 0);
        }

        await("the visitor's wait dropped").atMost(10, TimeUnit.SECONDS)
                .until(() -> registry().waitingStreams(tunnel.id) == 0);
        assertThat(testbed.server().openTunnelRequests(tunnel.id)).as("requests counted open").isZero();
        registration.release();
        await().atMost(10, TimeUnit.SECONDS).until(() -> registry().isConnected(tunnel.id));
        assertThat(registry().connections(tunnel.id).getFirst().streamsOpened()).as("streams opened").isZero();
        assertThat(tunnel.web.requestCount()).as("requests the target saw").isZero();
    }

    @Test
    void anHttpRequestWaitingForAClientWhoseConnectionClosesBeforeItsRegistrationGetsTheOfflinePage() throws Exception {
        waitOutlastsTheTest();
        Held registration = clientUpgradedNotRegistered();
        CompletableFuture<String> answer = CompletableFuture.supplyAsync(tunnel::get);
        untilWaitingOrDone(answer);
        assertThat(answer).as("waits for the client under way").isNotDone();

        registration.channel().close().syncUninterruptibly();
        registration.release();

        assertThat(answer.get(10, TimeUnit.SECONDS)).startsWith("HTTP/1.1 502").contains("tunnel_offline");
        assertThat(registry().waitingStreams(tunnel.id)).isZero();
    }

    @Test
    void aTokenRegeneratedWhileAnHttpRequestWaitsForAClientUnderWayAnswersItOfflineAtOnceAndTheClientIsNotRegistered()
            throws Exception {
        registry().arrivalWait = Duration.ofMinutes(1);
        Held registration = clientUpgradedNotRegistered();
        AtomicInteger registered = registrations();
        CompletableFuture<String> answer = CompletableFuture.supplyAsync(tunnel::get);
        untilWaitingOrDone(answer);
        assertThat(answer).as("waits for the client under way").isNotDone();

        var regenerated = testbed.api().post("/api/tunnels/" + tunnel.id + "/regenerate", "{}");
        assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);

        // Still held: the answer cannot come from a stream on the client, nor from the end of the arrival wait.
        assertThat(answer.get(5, TimeUnit.SECONDS)).startsWith("HTTP/1.1 502").contains("tunnel_offline");
        assertThat(registry().waitingStreams(tunnel.id)).isZero();
        registration.release();
        await("the held connection closed").atMost(10, TimeUnit.SECONDS)
                .until(() -> !registration.channel().isActive());
        assertThat(registered).as("the client under way was not registered").hasValue(0);
    }

    @Test
    void aTokenRegeneratedWhileATcpVisitorWaitsForAClientUnderWayClosesTheVisitorAtOnce() throws Exception {
        registry().arrivalWait = Duration.ofMinutes(1);
        Held registration = clientUpgradedNotRegistered();
        AtomicInteger registered = registrations();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            CompletableFuture<Integer> read = CompletableFuture.supplyAsync(() -> readByte(visitor));
            untilWaitingOrDone(read);
            assertThat(read).as("waits for the client under way").isNotDone();

            var regenerated = testbed.api().post("/api/tunnels/" + tunnel.id + "/regenerate", "{}");
            assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);

            assertThat(read.get(5, TimeUnit.SECONDS)).as("closed, no stream opened").isEqualTo(-1);
            registration.release();
            await("the held connection closed").atMost(10, TimeUnit.SECONDS)
                    .until(() -> !registration.channel().isActive());
            assertThat(registered).as("the client under way was not registered").hasValue(0);
        }
    }

    @Test
    void aTcpConnectionWhoseDataCameWhileItWaitedForAClientThatNeverRegisteredIsReset() throws Exception {
        waitOutlastsTheTest();
        Held registration = clientUpgradedNotRegistered();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            CompletableFuture<Integer> read = CompletableFuture.supplyAsync(() -> readByte(visitor));
            untilWaitingOrDone(read);
            assertThat(read).as("waits for the client under way").isNotDone();

            registration.channel().close().syncUninterruptibly();
            registration.release();

            // Closed with the visitor's bytes unread: the kernel answers with a reset, not an end of data.
            assertThat(read).failsWithin(10, TimeUnit.SECONDS).withThrowableThat()
                    .havingRootCause().isInstanceOf(SocketException.class).withMessageContaining("reset");
        }
    }

    @Test
    void aTcpConnectionThatSentNothingToATunnelWithNoClientReadsAnEndOfData() throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);

            assertThat(visitor.getInputStream().read()).as("closed at once, no reset").isEqualTo(-1);
        }
    }

    private static int readByte(Socket socket) {
        try {
            return socket.getInputStream().read();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Socket socket, int length) {
        try {
            InputStream in = socket.getInputStream();
            return new String(in.readNBytes(length), StandardCharsets.US_ASCII);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
