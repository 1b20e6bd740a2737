package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up lines give each listener's address as bound, host and port. */
class StartupLinesTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.stop();
        }
    }

    /** It said "HTTP proxy on port 28000, HTTPS on port 28444": not on which address, unlike the tunnel line. */
    @Test
    void theHttpProxyLineGivesTheHostAndPortOfBothListenersAsTheTunnelLineDoes() {
        try (LogCapture log = new LogCapture(PicoTunnelServer.class, Level.INFO)) {
            server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir),
                    new PrintStream(OutputStream.nullOutputStream()));

            assertThat(log.messages(Level.INFO)).contains("HTTP proxy on 127.0.0.1:" + server.httpPort()
                    + ", HTTPS on 127.0.0.1:" + server.httpsPort());
            assertThat(log.messages(Level.WARN)).anyMatch(line -> line.startsWith("Tunnel endpoint on ws://127.0.0.1:"
                    + server.tunnelPort() + "/tunnel"));
        }
    }

    /**
     * A listener given without a host ({@code --listen-addr :8080}) binds the wildcard address, every interface, yet its
     * line said "http://localhost:8080". It gives the address bound, as the JVM's wildcard: [::] (IPv4 too) or 0.0.0.0.
     * Checked on the line's address rather than a server bound to every interface: tests listen on loopback only.
     */
    @Test
    void aListenerWithoutAHostIsShownOnTheWildcardAddressItBinds() {
        InetSocketAddress bound = HostPort.parse(":8080", HostPort.Rules.SERVER_LISTEN).toBindAddress();
        String wildcard = bound.getAddress() instanceof Inet6Address ? "[::]" : "0.0.0.0";

        assertThat(bound.getAddress().isAnyLocalAddress()).isTrue();
        assertThat(PicoTunnelServer.displayHostPort(HostPort.parse(":8080", HostPort.Rules.SERVER_LISTEN), 8080))
                .isEqualTo(wildcard + ":8080");
        assertThat(PicoTunnelServer.displayHostPort(HostPort.parse("127.0.0.1:0", HostPort.Rules.SERVER_LISTEN), 8080))
                .isEqualTo("127.0.0.1:8080");
        assertThat(PicoTunnelServer.displayHostPort(HostPort.parse("[::1]:0", HostPort.Rules.SERVER_LISTEN), 8080))
                .isEqualTo("[::1]:8080");
    }
}
