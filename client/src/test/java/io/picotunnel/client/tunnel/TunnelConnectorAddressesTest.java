package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server name with several addresses (an A and an AAAA record): the client connects to each in turn until one
 * takes the connection. Names under {@code .dual.test} resolve to 127.0.0.1 then ::1 ({@link SlowDnsResolverProvider}).
 */
class TunnelConnectorAddressesTest {

    private static final String TOKEN = "e".repeat(64);

    private TunnelClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.stop(Duration.ZERO).join();
        }
    }

    @Test
    void aServerReachableOnlyOnItsSecondAddressGetsTheUpgrade() throws Exception {
        // As on a network without IPv4 to the server, while its name resolves to the IPv4 address first.
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            server.setSoTimeout(8_000);
            client = new TunnelClient(ClientConfig.of(
                    ServerAddress.parse("ws://tunnel.dual.test:" + server.getLocalPort()), TOKEN)
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(10_000);
                InputStream in = accepted.getInputStream();
                String requestLine = new String(in.readNBytes("GET /tunnel ".length()), StandardCharsets.US_ASCII);
                assertThat(requestLine).isEqualTo("GET /tunnel ");
            }
        }
    }

    @Test
    void aServerNameWithAnUnderscoreGetsTheUpgradeWithItsHost() throws Exception {
        // A Docker Compose service name such as tunnel_server: java.net.URI finds no host in ws://tunnel_server:8443,
        // and the WebSocket handshaker, which took the Host header from it, failed every attempt.
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            server.setSoTimeout(8_000);
            String host = "tunnel_server.dual.test:" + server.getLocalPort();
            client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + host), TOKEN)
                    .withShutdownGrace(Duration.ZERO));
            client.start();
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(10_000);
                String head = ScriptedTunnelServer.readHead(accepted.getInputStream());
                assertThat(head).startsWith("GET /tunnel HTTP/1.1\r\n").containsIgnoringCase("\r\nhost: " + host + "\r\n");
            }
        }
    }

    @Test
    void theHostHeaderLeavesOutTheSchemesDefaultPortAsTheHandshakerDid() {
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("wss://tunnel.example.com:443")))
                .isEqualTo("tunnel.example.com");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("ws://[::1]:80"))).isEqualTo("[::1]");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("wss://[::1]:8443"))).isEqualTo("[::1]:8443");
        assertThat(TunnelConnector.hostHeader(ServerAddress.parse("ws://tunnel.example.com:443")))
                .isEqualTo("tunnel.example.com:443");
    }
}
