package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.StillSendingBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Answers given before the request's body is read (refused, no body wanted, no such path) reach a client still
 * sending a body larger than the socket buffers: the rest of the body is read and dropped before the connection
 * closes, where closing with bytes unread sent a reset that took the answer with it.
 */
class EarlyAnswerTest {

    private static final int BODY = 512 * 1024;

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    @Test
    void aWriteRefusedBeforeSignInReachesTheClientStillSendingItsBody() throws IOException {
        String answer = sendWhileReading("POST /api/tunnels", "", BODY);

        assertThat(answer).startsWith("HTTP/1.1 401 ");
    }

    @Test
    void aDeleteSentWithABodyIsAnsweredToTheClientStillSendingIt() throws IOException {
        String id = running.api().post("/api/tunnels", "{\"name\":\"deleted\"}").json().get("id").asText();

        String answer = sendWhileReading("DELETE /api/tunnels/" + id, authorization(), BODY);

        assertThat(answer).startsWith("HTTP/1.1 204 ");
        assertThat(running.api().get("/api/tunnels").json()).isEmpty();
    }

    @Test
    void anUnknownPathSentWithABodyIsAnsweredToTheClientStillSendingIt() throws IOException {
        String answer = sendWhileReading("POST /api/no-such-thing", authorization(), BODY);

        assertThat(answer).startsWith("HTTP/1.1 404 ");
    }

    @Test
    void aSignInRefusedAsCrossSiteIsAnsweredToTheClientStillSendingIt() throws IOException {
        String answer = sendWhileReading("POST /auth/token", "Origin: https://elsewhere.invalid\r\n", BODY);

        assertThat(answer).startsWith("HTTP/1.1 403 ").contains("csrf_rejected");
    }

    /**
     * A body declared too large gets its 413 at once, to the client still sending it, and the rest is dropped after the
     * answer, as for every other early answer, not read before it.
     */
    @Test
    void aBodyDeclaredTooLargeIsAnsweredToTheClientStillSendingIt() throws IOException {
        String answer = sendWhileReading("POST /api/tunnels", authorization(), BODY);

        assertThat(answer).startsWith("HTTP/1.1 413 ").contains("\"body_too_large\"");
    }

    /** Not waited for: the answer and the close come without the body, as before. */
    @Test
    void aBodyDeclaredLargerThanWhatIsReadAndDroppedIsNotWaitedFor() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + (LimitedBody.DROPPED_BYTES + 1) + "\r\n\r\n{}")
                    .getBytes(StandardCharsets.ISO_8859_1));

            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

            assertThat(answer).startsWith("HTTP/1.1 401 ");
        }
    }

    /**
     * A client that waits for {@code 100 Continue} before its body is told no with the answer alone: no 100 that would
     * have it send a body only to be dropped, and the answer ends without the body it was not asked for.
     */
    @Test
    void aRefusedRequestExpecting100ContinueGetsItsAnswerWithoutA100() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + BODY
                    + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));

            String answer = readAnswer(socket.getInputStream());

            assertThat(answer).startsWith("HTTP/1.1 401 ").contains("\"unauthorized\"");
        }
    }

    /** Too large as declared, to a client that waits for {@code 100 Continue}: the 413 at once, the body never asked for. */
    @Test
    void aBodyDeclaredTooLargeByAClientExpecting100ContinueGetsThe413WithoutA100() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n" + authorization()
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: "
                    + (JsonBody.MAX_BYTES + 1) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));

            String answer = readAnswer(socket.getInputStream());

            assertThat(answer).startsWith("HTTP/1.1 413 ").contains("\"body_too_large\"");
        }
    }

    /** What comes until the connection closes or a chunked answer's last chunk: one answer, without waiting for a close. */
    private static String readAnswer(InputStream in) throws IOException {
        StringBuilder answer = new StringBuilder();
        for (int b; !answer.toString().endsWith("\r\n0\r\n\r\n") && (b = in.read()) >= 0; ) {
            answer.append((char) b);
        }
        return answer.toString();
    }

    private String authorization() {
        return "Authorization: Bearer " + running.server().adminToken() + "\r\n";
    }

    /**
     * Sends the request line, the headers and a body of {@code length} bytes as a client still sending it when the
     * answer comes ({@link StillSendingBody}), and reads the whole answer.
     */
    private String sendWhileReading(String requestLine, String headers, int length) throws IOException {
        String head = requestLine + " HTTP/1.1\r\nHost: localhost\r\n" + headers
                + "Content-Type: application/json\r\nContent-Length: " + length + "\r\nConnection: close\r\n\r\n";
        return StillSendingBody.sendTo(running.server().apiPort(), head, length);
    }

}
