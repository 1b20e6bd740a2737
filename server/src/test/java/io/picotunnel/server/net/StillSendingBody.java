package io.picotunnel.server.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * An HTTP request sent on a raw socket by a client still sending its body when the answer comes, as a browser or HTTP
 * client with a large body is: the head and the body's first KiB (or as many bytes as asked), then, once the answer has begun to arrive, the rest.
 */
public final class StillSendingBody {

    private static final int FIRST = 1024;

    private StillSendingBody() {
    }

    /**
     * Sends {@code head} and a body of {@code length} bytes (more than {@value #FIRST}) to the loopback {@code port} as
     * said above, and reads the whole answer, until the server closes the connection.
     */
    public static String sendTo(int port, String head, int length) throws IOException {
        return sendTo(port, head, FIRST, length);
    }

    /**
     * As {@link #sendTo(int, String, int)}, with the body's first {@code first} bytes (fewer than {@code length}) sent
     * before the answer: past a server's limit, say, where a reader that stops there has all it asks for.
     */
    public static String sendTo(int port, String head, int first, int length) throws IOException {
        try (Socket socket = new Socket()) {
            socket.setSendBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(new byte[first]);
            out.flush();
            InputStream in = socket.getInputStream();
            await().atMost(10, TimeUnit.SECONDS).until(() -> in.available() > 0);
            // More than the socket buffers hold: written only as the server reads it.
            out.write(new byte[length - first]);
            out.flush();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
