package io.picotunnel.server.proxy.tcp;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
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
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A tcp service asking for any port, whose chosen port another program takes before the server binds it, gets another
 * port instead of a 409 (the {@link ServiceConflictException} the API answers with); a port the user named is refused
 * at once. The store, the tcp listeners and the port choice are the server's, on a real SQLite file and real sockets
 * on 127.0.0.1; the other program is a test {@link ServerSocket} bound on the port in the moment after it was chosen.
 */
class PortTakenAfterChoiceTest {

    @TempDir
    Path dataDir;
    private final List<ServerSocket> otherPrograms = new ArrayList<>();
    private EventLoopGroup group;
    private TcpServices services;
    private Store store;
    private String tunnelId;
    private List<Integer> range;
    private FreePorts ports;

    @BeforeEach
    void start() {
        group = Transport.newEventLoopGroup(1, "port-taken-test");
        services = new TcpServices(new TunnelRegistry(), group, group);
        store = Store.open(dataDir);
        store.addServiceListener(services);
        tunnelId = store.createTunnel("ports").id();
        range = freePorts(Store.PORT_PICKS + 1);
        ports = new FreePorts(PortRanges.parse(String.join(",", range.stream().map(String::valueOf).toList())), List.of());
    }

    @AfterEach
    void stop() throws IOException {
        services.close();
        store.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        for (ServerSocket otherProgram : otherPrograms) {
            otherProgram.close();
        }
    }

    @Test
    void aChosenPortTakenBeforeItIsBoundIsReplacedByAnotherFreePort() throws Exception {
        ports.chosen = port -> {
            if (otherPrograms.isEmpty()) {
                takeAsAnotherProgram(port);
            }
        };

        Service created = store.createService(tcp("127.0.0.1:0"), Integer.MAX_VALUE, ports).orElseThrow();

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
        Service before = store.createService(tcp("127.0.0.1:" + named), Integer.MAX_VALUE, ports).orElseThrow();
        ports.chosen = port -> {
            if (otherPrograms.isEmpty()) {
                takeAsAnotherProgram(port);
            }
        };

        Service moved = store.updateService(before.id(), stored -> stored.withListenAddr("127.0.0.1:0"), ports).orElseThrow();

        int port = port(moved);
        assertThat(port).isNotEqualTo(otherPrograms.getFirst().getLocalPort()).isIn(range);
        assertThat(services.boundAddress(moved.id())).hasValueSatisfying(a -> assertThat(a.getPort()).isEqualTo(port));
        assertThat(store.service(moved.id())).get().extracting(Service::listenAddr).isEqualTo("127.0.0.1:" + port);
        assertAccepts(port);
    }

    @Test
    void portsChosenAndTakenOneAfterAnotherGiveUpAfterAFewWithTheLastRefusal() {
        ports.chosen = this::takeAsAnotherProgram;

        assertThatThrownBy(() -> store.createService(tcp("127.0.0.1:0"), Integer.MAX_VALUE, ports))
                .isInstanceOf(ServiceConflictException.class)
                .hasMessageStartingWith("cannot listen on 127.0.0.1:" + otherPrograms.getLast().getLocalPort() + ": ")
                .hasMessageContaining("in use");
        assertThat(otherPrograms).hasSize(Store.PORT_PICKS);
        assertThat(store.services()).isEmpty();
    }

    @Test
    void aNamedPortThatIsTakenIsRefusedAtOnceWithoutChoosingAnother() throws Exception {
        int[] choices = {0};
        ports.chosen = port -> choices[0]++;
        takeAsAnotherProgram(range.getFirst());

        assertThatThrownBy(() -> store.createService(tcp("127.0.0.1:" + range.getFirst()), Integer.MAX_VALUE, ports))
                .isInstanceOf(ServiceConflictException.class)
                .hasMessageStartingWith("cannot listen on 127.0.0.1:" + range.getFirst() + ": ")
                .hasMessageContaining("in use");
        assertThat(choices[0]).isZero();
        assertThat(store.services()).isEmpty();
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
        return new Service(null, tunnelId, ServiceType.TCP, null, "/", TlsMode.TERMINATE, listenAddr, "127.0.0.1:1", true,
                Instant.EPOCH);
    }

    private static int port(Service service) {
        String listen = service.listenAddr();
        return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
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
