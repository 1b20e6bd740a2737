package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

import static io.picotunnel.server.proxy.http.DirectProxyFixture.onLoop;
import static io.picotunnel.server.proxy.http.DirectProxyFixture.unwritten;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The keep-alive idle timeout of an HTTP/1.1 connection counts from when the response has been written to the
 * visitor, not from when it came whole from the target: a visitor that takes the tail of a download slowly gets all
 * of it, and only then has the idle timeout to send its next request.
 */
class SlowVisitorKeepAliveTest {

    private static final Duration IDLE = Duration.ofSeconds(1);
    /** More than the kernel buffers between the proxy and the visitor hold (a few KiB each), read by the proxy at once. */
    private static final int BODY = 64 * 1024;

    private DirectProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        proxy = new DirectProxyFixture("slow.test", settings -> settings.idleTimeout(IDLE));
        proxy.listen(4 * 1024);
    }

    @AfterEach
    void stop() {
        proxy.close();
    }

    @Test
    void aVisitorThatTakesTheTailSlowlyGetsTheWholeResponseAndThenTheIdleTimeout() throws Exception {
        try (RawHttp http = new RawHttp(proxy.port(), null, 4 * 1024)) {
            http.send("GET /download?" + BODY + " HTTP/1.1\r\nHost: slow.test\r\n\r\n");
            Channel channel = proxy.visitor();
            ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
            InputStream in = http.in();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            // The visitor takes at most 1 KiB a poll until the response has come whole from the target while part of
            // it still waits in the proxy for the visitor.
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
                received.write(in.readNBytes(Math.min(in.available(), 1024)));
                return onLoop(channel, () -> handler.awaitsRequest() && unwritten(channel) > 0);
            });

            // Then it takes nothing for twice the idle timeout; the proxy must not close the connection meanwhile.
            // A pause, not a wait for a condition: the visitor's stall is the scenario under test.
            Thread.sleep(IDLE.multipliedBy(2).toMillis());

            byte[] rest = in.readAllBytes(); // up to the close after the idle timeout, once all was written
            received.write(rest);
            String text = received.toString(StandardCharsets.ISO_8859_1);
            int headEnd = text.indexOf("\r\n\r\n");
            assertThat(headEnd).as("response head received").isPositive();
            assertThat(text.substring(0, headEnd).toLowerCase(Locale.ROOT)).startsWith("http/1.1 200").contains("content-length: " + BODY);
            byte[] body = Arrays.copyOfRange(received.toByteArray(), headEnd + 4, received.size());
            assertThat(body.length).as("body bytes received before the close").isEqualTo(BODY);
            for (int i = 0; i < BODY; i++) {
                assertThat(body[i]).as("byte %d", i).isEqualTo(TargetServer.patternByte(i));
            }
        }
    }
}
