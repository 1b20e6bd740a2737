package io.picotunnel.server.monitor;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real server on loopback, checking every second, with one connected tunnel {@code name}: a tcp service to an echo
 * target that one visitor sent {@code tcpBytes} through (and had them back), and an http service
 * ({@code <name>.example.test}) to a web target answering with {@code answer}, asked {@code GET /} once.
 */
final class MeteredTunnel implements AutoCloseable {

    private final HttpServer web;
    private final EchoServer echo;
    private final Testbed testbed;
    private final String id;
    private final TcpServicePorts.Created tcp;
    private final String httpId;
    private final String httpAnswer;

    MeteredTunnel(Path dataDir, String name, int tcpBytes, HttpHandler answer) throws Exception {
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", answer);
        web.start();
        EchoServer echoServer = null;
        Testbed server = null;
        try {
            echoServer = new EchoServer();
            server = new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1s"));
            id = server.createConnectedTunnel(name);
            tcp = server.createTcpServiceOnFreePort(id, echoServer.address());
            httpId = server.createService(id, "{\"type\":\"http\",\"domain\":\"" + name + ".example.test\","
                    + "\"target_addr\":\"127.0.0.1:" + web.getAddress().getPort() + "\"}").get("id").asText();
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), tcp.port())) {
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write(new byte[tcpBytes]);
                assertThat(socket.getInputStream().readNBytes(tcpBytes)).hasSize(tcpBytes);
            }
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.server().httpPort())) {
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + name + ".example.test\r\n"
                        + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                httpAnswer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            }
        } catch (Exception | Error e) {
            close(server, echoServer, web);
            throw e;
        }
        echo = echoServer;
        testbed = server;
    }

    Testbed testbed() {
        return testbed;
    }

    /** The tunnel's id. */
    String id() {
        return id;
    }

    TcpServicePorts.Created tcp() {
        return tcp;
    }

    String httpId() {
        return httpId;
    }

    /** All the web target's answer to the http service's one request, as it reached the visitor. */
    String httpAnswer() {
        return httpAnswer;
    }

    @Override
    public void close() {
        close(testbed, echo, web);
    }

    private static void close(Testbed testbed, EchoServer echo, HttpServer web) {
        try (echo; testbed) {
            // closed in this order: the server, then its targets
        } finally {
            web.stop(0);
        }
    }
}
