package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 10, point 9: handshakes refused for unknown names are logged escaped, and summarised rather than one line each. */
class RefusedHandshakeLogTest {

    private EventLoopGroup group;
    private HttpsListener listener;

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(1, "refusal-test");
        HttpsRouter router = new HttpsRouter(new CertificateStore(), new PassthroughRoutes(), TlsAlpnChallenges.NONE, null);
        listener = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group, router,
                new TestHttpBackend(), (ctx, route) -> ctx.close());
        listener.start();
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void unknownServerNamesAreLoggedEscapedAndOnceForAFlood() throws Exception {
        try (LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.INFO)) {
            // A server name with a line feed would forge a log line if written as sent.
            assertThat(refusedHandshake(clientHello("evil-forged.test", "evil\nforged.test"))).isTrue();
            for (int i = 0; i < 50; i++) {
                assertThat(refusedHandshake(clientHello("unknown.test", "unknown.test"))).isTrue();
            }
            List<String> lines = log.messages(Level.INFO);
            assertThat(lines).as("one line for 51 refusals").hasSize(1);
            assertThat(lines.get(0)).contains("'evil\\nforged.test'", "unrecognized_name").doesNotContain("\n");
        }
    }

    /** Sends {@code hello} and reads until the server closes; true when it answered with a TLS alert record first. */
    private boolean refusedHandshake(byte[] hello) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
            socket.setSoTimeout(15_000);
            socket.getOutputStream().write(hello);
            InputStream in = socket.getInputStream();
            int first = in.read();
            for (int i = 0; i < 100 && in.read() != -1; i++) {
                // the rest of the alert
            }
            return first == 21; // TLS record type alert
        }
    }

    /** A whole ClientHello record as the JDK sends it for {@code asked}, with the name's bytes replaced by {@code sent}. */
    private static byte[] clientHello(String asked, String sent) {
        byte[] record = ClientHellos.record(asked);
        byte[] from = asked.getBytes(StandardCharsets.US_ASCII);
        byte[] to = sent.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + from.length <= record.length; i++) {
            if (Arrays.equals(record, i, i + from.length, from, 0, from.length)) {
                System.arraycopy(to, 0, record, i, to.length);
                return record;
            }
        }
        throw new AssertionError("no server name in the ClientHello");
    }
}
