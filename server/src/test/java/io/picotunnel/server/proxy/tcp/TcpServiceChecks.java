package io.picotunnel.server.proxy.tcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.Testbed;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the tcp service tests against a real server do and check: a service as the API lists it, a move of its
 * {@code listen_addr}, a visitor on 127.0.0.1 and its echo.
 */
final class TcpServiceChecks {

    private TcpServiceChecks() {
    }

    /** The service {@code id} as the API lists it among its tunnel's services. */
    static JsonNode stored(Testbed testbed, String tunnel, String id) {
        for (JsonNode service : testbed.api().get("/api/tunnels/" + tunnel + "/services").json()) {
            if (service.get("id").asText().equals(id)) {
                return service;
            }
        }
        throw new AssertionError("no service " + id + " stored");
    }

    /** Sends a line naming {@code when} through a visitor's connection to an echo target and reads it back. */
    static void assertEchoes(Socket visitor, String when) {
        byte[] line = (when + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            visitor.getOutputStream().write(line);
            assertThat(visitor.getInputStream().readNBytes(line.length)).as(when).isEqualTo(line);
        } catch (IOException e) {
            throw new AssertionError("the connection was lost " + when, e);
        }
    }

    /** Changes the service's {@code listen_addr} through the API; answers the API's answer. */
    static ApiClient.Response move(Testbed testbed, String id, String listenAddr) {
        return testbed.api().patch("/api/services/" + id, "{\"listen_addr\": \"" + listenAddr + "\"}");
    }

    /** A visitor's connection to 127.0.0.1 on {@code port}, whose reads give up after 20 s. */
    static Socket visit(int port) throws IOException {
        Socket visitor = new Socket(InetAddress.getByName("127.0.0.1"), port);
        visitor.setSoTimeout(20_000);
        return visitor;
    }

    /** A new visitor on {@code port} gets its echo, and goes. */
    static void assertANewVisitorEchoes(int port, String when) throws IOException {
        try (Socket another = visit(port)) {
            assertEchoes(another, when);
        }
    }
}
