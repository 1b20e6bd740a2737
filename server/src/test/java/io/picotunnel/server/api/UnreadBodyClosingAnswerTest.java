package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.LoopbackApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Only a body that came too slowly ({@link LimitedBody.TooSlow#answered}) is left undropped after its answer: an answer
 * that ends its connection for a reason of its own ({@code Connection: close}) still has the rest of its body dropped
 * first, so that the client still sending reads it instead of a reset.
 */
class UnreadBodyClosingAnswerTest {

    private static final int BODY = 512 * 1024;

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(() -> DrainedApp.start(LimitedBody.DROP_TIME,
            ctx -> ctx.header("Connection", "close").status(401).result("sign in first")));

    @Test
    void anAnswerClosingItsConnectionReachesTheClientStillSendingItsBody() throws IOException {
        try (Socket socket = new Socket()) {
            socket.setSendBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), app.port()), 10_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + BODY + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.write(new byte[1024]);
            out.flush();
            InputStream in = socket.getInputStream();
            await().atMost(10, TimeUnit.SECONDS).until(() -> in.available() > 0);
            // More than the socket buffers hold: written only as the server reads it.
            out.write(new byte[BODY - 1024]);
            out.flush();

            String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);

            assertThat(answer).startsWith("HTTP/1.1 401 ").contains("sign in first");
        }
    }
}
