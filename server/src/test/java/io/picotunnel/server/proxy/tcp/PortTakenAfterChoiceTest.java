package io.picotunnel.server.proxy.tcp;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.store.PortPicker;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A tcp service asking for any port, whose chosen port another program takes before the server binds it, gets another
 * port instead of a 409 (the {@link ServiceConflictException} the API answers with); a port the user named is refused
 * at once. The store, the tcp listeners and the port choice are the server's, on a real SQLite file and real sockets
 * on 127.0.0.1; the other program is a test {@link ServerSocket} bound on the port in the moment after it was chosen,
 * by a {@link PortPicker} around the server's {@link FreePorts}.
 */
class PortTakenAfterChoiceTest {

    /** Long enough that a creation waiting once for a port to be let go misses the test's bound by far. */
    private static final Duration SLOW_RELEASE = Duration.ofSeconds(30);

    @TempDir
    Path dataDir;
    private final List<ServerSocket> otherPrograms = new ArrayList<>();
    private EventLoopGroup group;
    private TcpServices services;
    private Store store;
    private String tunnelId;
    private List<Integer> range;
    private FreePorts freePorts;
    /** How many ports were chosen. */
    private final AtomicInteger choices = new AtomicInteger();
    /** Runs with each change the store tells its listeners of, inside its write transaction, before the tcp services. */
    private final AtomicReference<Runnable> toldFirst = new AtomicReference<>(() -> {
    });

    @BeforeEach
    void start() {
        group = Transport.newEventLoopGroup(1, "port-taken-test");
        range = freePorts(Store.PORT_PICKS + 1);
        freePorts = new FreePorts(PortRanges.parse(String.join(",", range.stream().map(String::valueOf).toList())),
                List.of());
        open(dataDir, PortReleases.RELEASE_WAIT);
    }

    private void open(Path dir, Duration releaseWait) {
        services = new TcpServices(new TunnelRegistry(), group, group, new PortReleases(releaseWait));
        store = Store.open(dir);
        store.addServiceListener((before, after) -> toldFirst.get().run());
        store.addServiceListener(services);
        tunnelId = store.createTunnel("ports").id();
    }

    @AfterEach
    void stop() throws IOException {
        close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        for (ServerSocket otherProgram : otherPrograms) {
            otherProgram.close();
        }
    }

    private void close() {
        services.close();
        store.close();
    }

    @Test
    void aChosenPortTakenBeforeItIsBoundIsReplacedByAnotherFreePort() throws Exception {
        Service created = store.createService(tcp("127.0.0.1:0"), Integer.MAX_VALUE, takingFirst(1)).orElseThrow();

        int taken = otherPrograms.getFirst().getLocalPort();
        int port = port(created);
        assertThat(port).isNotEqualTo(taken).isIn(range);
        assertThat(services.boundAddress(created.id())).hasValueSatisfying(a -> assertThat(a.getPort()).isEqualTo(port));
        assertThat(store.services()).singleElement().extracting(Service::listenAddr).isEqualTo("127.0.0.1:" + port);
        assertAccepts(port);
    }

    @Test
    void aChangeToAnyPortWhoseChosenPortIsTakenMovesTheServiceToAnotherFreePort() throws Exception {
        int named = Ports.freePort();
        Service before = store.createService(tcp("127.0.0.1:" + named), Integer.MAX_VALUE, freePorts).orElseThrow();

        Service moved = store.updateService(before.id(), stored -> stored.withListenAddr("127.0.0.1:0"), takingFirst(1))
                .orElseThrow();

        int port = port(moved);
        assertThat(port).isNotEqualTo(otherPrograms.getFirst().getLocalPort()).isIn(range);
        assertThat(services.boundAddress(moved.id())).hasValueSatisfying(a -> assertThat(a.getPort()).isEqualTo(port));
        assertThat(store.service(moved.id())).get().extracting(Service::listenAddr).isEqualTo("127.0.0.1:" + port);
        assertAccepts(port);
    }

    @Test
    void portsChosenAndTakenOneAfterAnotherGiveUpAfterAFewWithTheLastRefusal() {
        assertThatThrownBy(() -> store.createService(tcp("127.0.0.1:0"), Integer.MAX_VALUE, takingFirst(range.size())))
                .isInstanceOf(ServiceConflictException.class)
                .hasMessageStartingWith("cannot listen on 127.0.0.1:" + otherPrograms.getLast().getLocalPort() + ": ")
                .hasMessageContaining("in use")
                .hasMessageEndingWith(" (each of the 3 ports chosen for it was taken by another program before it could"
                        + " be bound); try again, or name a port");
        assertThat(otherPrograms).hasSize(Store.PORT_PICKS);
        assertThat(store.services()).isEmpty();
    }

    @Test
    void aNamedPortAnotherProgramHoldsIsRefusedAtOnceWithoutChoosingAnotherOrHoldingUpAnotherWrite() throws Exception {
        close();
        open(Files.createDirectories(dataDir.resolve("slow-release")), SLOW_RELEASE);
        int port = range.getFirst();
        takeAsAnotherProgram(port);

        assertRefusedAtOnceWithoutHoldingUpAnotherWrite("127.0.0.1:" + port,
                () -> store.createService(tcp("127.0.0.1:" + port), Integer.MAX_VALUE, takingFirst(0)));

        assertThat(choices).hasValue(0);
        assertThat(store.services()).isEmpty();
    }

    @Test
    void enablingAServiceWhosePortAnotherProgramHoldsIsRefusedAtOnceWithoutHoldingUpAnotherWrite() throws Exception {
        close();
        open(Files.createDirectories(dataDir.resolve("slow-release")), SLOW_RELEASE);
        int port = range.getFirst();
        Service disabled = store.createService(tcp("127.0.0.1:" + port, false), Integer.MAX_VALUE, freePorts)
                .orElseThrow();
        takeAsAnotherProgram(port);

        assertRefusedAtOnceWithoutHoldingUpAnotherWrite("127.0.0.1:" + port, () -> store.updateService(disabled.id(),
                stored -> new Service(stored.id(), stored.tunnelId(), stored.type(), null, "/", TlsMode.TERMINATE,
                        stored.listenAddr(), stored.targetAddr(), true, stored.createdAt()), freePorts));

        assertThat(store.service(disabled.id())).get().extracting(Service::enabled).isEqualTo(false);
        assertThat(services.boundAddress(disabled.id())).isEmpty();
    }

    /** 127.0.0.1:P to 127.0.0.2:P: the old address is let go for the new one, which another program holds. */
    @Test
    void aMoveToAnotherAddressOfItsPortThatAnotherProgramHoldsIsRefusedAtOnceKeepingTheOldOne() throws Exception {
        close();
        open(Files.createDirectories(dataDir.resolve("slow-release")), SLOW_RELEASE);
        int port = range.getFirst();
        Service before = store.createService(tcp("127.0.0.1:" + port), Integer.MAX_VALUE, freePorts).orElseThrow();
        ServerSocket otherProgram = new ServerSocket();
        otherPrograms.add(otherProgram);
        otherProgram.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), port));

        assertRefusedAtOnceWithoutHoldingUpAnotherWrite("127.0.0.2:" + port, () -> store.updateService(before.id(),
                stored -> stored.withListenAddr("127.0.0.2:" + port), freePorts));

        assertThat(store.service(before.id())).get().extracting(Service::listenAddr).isEqualTo("127.0.0.1:" + port);
        assertThat(services.boundAddress(before.id())).contains(new InetSocketAddress(InetAddress.getByName("127.0.0.1"),
                port));
        assertAccepts(port);
    }

    /**
     * Runs {@code write}, which a port another program holds refuses with a 409 naming {@code listenAddr}, starting
     * another write (a tunnel) from inside its transaction: both end well within the listeners' release wait.
     */
    private void assertRefusedAtOnceWithoutHoldingUpAnotherWrite(String listenAddr, Callable<?> write) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(2);
        try {
            AtomicReference<Future<Tunnel>> otherWrite = new AtomicReference<>();
            // Inside the write's transaction: from here on another write waits for it to end.
            toldFirst.set(() -> otherWrite.compareAndSet(null, writers.submit(() -> store.createTunnel("meanwhile"))));
            Future<?> refused = writers.submit(write);

            await("the refused write, and a write made meanwhile").atMost(Duration.ofSeconds(5))
                    .until(() -> refused.isDone() && otherWrite.get() != null && otherWrite.get().isDone());

            assertThatThrownBy(refused::get).cause()
                    .isInstanceOf(ServiceConflictException.class)
                    .hasMessageStartingWith("cannot listen on " + listenAddr + ": ")
                    .hasMessageContaining("in use");
            assertThat(otherWrite.get().get().name()).isEqualTo("meanwhile");
        } finally {
            writers.shutdownNow();
        }
    }

    @Test
    void aCreationWhoseChosenPortsAreTakenChoosesAgainAtOnceWithoutHoldingUpAnotherWrite() throws Exception {
        close();
        open(Files.createDirectories(dataDir.resolve("slow-release")), SLOW_RELEASE);
        ExecutorService writers = Executors.newFixedThreadPool(2);
        try {
            AtomicReference<Future<Tunnel>> otherWrite = new AtomicReference<>();
            PortPicker taking = takingFirst(Store.PORT_PICKS - 1);
            PortPicker startingAnotherWrite = (candidate, stored) -> {
                // Inside the creation's write transaction: from here on another write waits for it to end.
                otherWrite.compareAndSet(null, writers.submit(() -> store.createTunnel("meanwhile")));
                return taking.pick(candidate, stored);
            };
            Future<Optional<Service>> creation = writers.submit(
                    () -> store.createService(tcp("127.0.0.1:0"), Integer.MAX_VALUE, startingAnotherWrite));

            await("the creation, and a write made meanwhile").atMost(Duration.ofSeconds(15))
                    .until(() -> creation.isDone() && otherWrite.get() != null && otherWrite.get().isDone());

            Service created = creation.get().orElseThrow();
            assertThat(otherPrograms).hasSize(Store.PORT_PICKS - 1);
            assertThat(port(created)).isIn(range)
                    .isNotIn(otherPrograms.stream().map(ServerSocket::getLocalPort).toList());
            assertThat(otherWrite.get().get().name()).isEqualTo("meanwhile");
            assertAccepts(port(created));
        } finally {
            writers.shutdownNow();
        }
    }

    /**
     * {@link FreePorts}, and another program taking the first {@code taken} of the ports it chooses, in the moment
     * between the choice and the bind.
     */
    private PortPicker takingFirst(int taken) {
        return (candidate, stored) -> {
            String address = freePorts.pick(candidate, stored);
            if (choices.incrementAndGet() <= taken) {
                takeAsAnotherProgram(port(address));
            }
            return address;
        };
    }

    private void takeAsAnotherProgram(int port) {
        try {
            ServerSocket otherProgram = new ServerSocket();
            otherPrograms.add(otherProgram);
            otherProgram.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Service tcp(String listenAddr) {
        return tcp(listenAddr, true);
    }

    private Service tcp(String listenAddr, boolean enabled) {
        return new Service(null, tunnelId, ServiceType.TCP, null, "/", TlsMode.TERMINATE, listenAddr, "127.0.0.1:1",
                enabled, Instant.EPOCH);
    }

    private static int port(Service service) {
        return port(service.listenAddr());
    }

    private static int port(String listenAddr) {
        return Integer.parseInt(listenAddr.substring(listenAddr.lastIndexOf(':') + 1));
    }

    private static void assertAccepts(int port) throws IOException {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            assertThat(visitor.isConnected()).isTrue();
        }
    }

    /** {@code count} ports free a moment ago. */
    private static List<Integer> freePorts(int count) {
        Set<Integer> found = new HashSet<>();
        for (int attempt = 0; found.size() < count && attempt < 100 * count; attempt++) {
            found.add(Ports.freePort());
        }
        assertThat(found).hasSize(count);
        return List.copyOf(found);
    }
}
