package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.EchoServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A tunnel with two services and their targets: HTTP for a host to a {@link RecordingTarget}, and tcp on a free port
 * to an echo target. No client is started. With the visits tests make to them: a raw {@code GET /}, and a tcp visitor
 * whose stream is open on a client.
 */
public final class ServicedTunnel implements AutoCloseable {

    public final String id;
    public final String token;
    public final int tcpPort;
    public final RecordingTarget web;
    private final EchoServer echo;
    private final Testbed testbed;
    private final String host;

    public ServicedTunnel(Testbed testbed, String name, String host) {
        this.testbed = testbed;
        this.host = host;
        web = new RecordingTarget();
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel(name);
        id = tunnel.get("id").asText();
        token = tunnel.get("token").asText();
        testbed.createService(id, "{\"type\":\"http\",\"domain\":\"" + host + "\",\"target_addr\":\""
                + web.address() + "\"}");
        tcpPort = testbed.createTcpServiceOnFreePort(id, echo.address()).port();
    }

    /** A tcp visitor whose stream is open on the client: its bytes came back from the echo target. */
    public Socket relayed() throws IOException {
        Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tcpPort);
        visitor.setSoTimeout(10_000);
        visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        return visitor;
    }

    /**
     * Connects two clients, the first carrying a tcp visitor's stream: the second, with none, is the one the tunnel's
     * next stream is asked of.
     */
    public TwoClients twoClientsTheSecondChosen() throws IOException {
        testbed.connect(id, token);
        Socket busy = relayed();
        try {
            testbed.startClient(token);
            TunnelRegistry registry = testbed.server().registry();
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry.connections(id).size() == 2);
            List<TunnelRegistry.Connection> clients = registry.connections(id);
            return new TwoClients(busy, clients.get(0), clients.get(1));
        } catch (RuntimeException | AssertionError e) {
            busy.close();
            throw e;
        }
    }

    /** The tunnel's two clients: {@code other} carries {@code busy}'s stream, {@code chosen} none. */
    public record TwoClients(Socket busy, TunnelRegistry.Connection other, TunnelRegistry.Connection chosen)
            implements AutoCloseable {
        @Override
        public void close() throws IOException {
            busy.close();
        }
    }

    /** {@code GET /} to the HTTP service, as one raw answer (head and body). */
    public String get() {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Closes the targets (the server is the test's to close, first). */
    @Override
    public void close() {
        web.close();
        echo.close();
    }
}
