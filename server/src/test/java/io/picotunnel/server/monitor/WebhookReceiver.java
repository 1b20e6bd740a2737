package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback that takes webhook messages. The first {@code failFirst} requests get a 503, to
 * show that the sender tries again.
 */
final class WebhookReceiver implements AutoCloseable {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final HttpServer server;
    private final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();

    WebhookReceiver(int failFirst) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/hooks/secret-path", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (requests.incrementAndGet() <= failFirst) {
                exchange.sendResponseHeaders(503, -1);
            } else {
                messages.add(MAPPER.readTree(body));
                exchange.sendResponseHeaders(204, -1);
            }
            exchange.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/secret-path";
    }

    /** Messages received (after the failed attempts), in order. */
    List<JsonNode> messages() {
        return List.copyOf(messages);
    }

    /** Messages about the tunnel itself (not its services). */
    List<JsonNode> tunnelMessages(String tunnelId) {
        return messages.stream()
                .filter(m -> m.path("tunnel_id").asText().equals(tunnelId) && m.path("service_id").isNull())
                .toList();
    }

    int requests() {
        return requests.get();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
