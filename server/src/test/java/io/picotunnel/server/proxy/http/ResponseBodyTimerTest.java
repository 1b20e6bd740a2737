package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.picotunnel.testkit.HttpHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the timer of a streaming response body costs over HTTP/1.1: while the proxy only waits on the target (nothing
 * of the answer pending for the visitor), nothing until the proxy timeout could run out, however many such streams
 * are open; once a write to the visitor is pending, a look every second, so that a visitor that stops reading is
 * still reset after the send timeout. (The same over HTTP/2: {@link Http2ProxyTest}.)
 */
class ResponseBodyTimerTest {

    private static final Duration PROXY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(1);
    /** An event far larger than the socket buffers between the proxy and the visitor (a few KiB each, set small). */
    private static final int BIG_EVENT = 4 * 1024 * 1024;

    private DirectProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        proxy = new DirectProxyFixture("events.test",
                settings -> settings.responseTimeout(PROXY_TIMEOUT).sendTimeout(SEND_TIMEOUT));
        proxy.listen(4 * 1024);
    }

    @AfterEach
    void stop() {
        proxy.target().sseEvents.add("END");
        proxy.close();
    }

    /** Before, the timer looked at the exchange every second for as long as the body streamed: about 3 times here. */
    @Test
    void anEventStreamWhoseTargetIsSilentCostsNoTimerTaskBeforeTheProxyTimeout() throws Exception {
        try (RawHttp http = new RawHttp(proxy.port())) {
            openEventStream(http);

            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.proxy().responseBodyChecks() == 0);

            // The stream goes on, and ends whole.
            proxy.target().sseEvents.add("late");
            proxy.target().sseEvents.add("END");
            assertThat(http.line()).isEqualTo("c");
            assertThat(http.line()).isEqualTo("data: late");
            assertThat(http.line()).isEmpty();
            assertThat(http.line()).isEmpty();
            assertThat(http.line()).isEqualTo("0");
        }
    }

    /**
     * After 2 s of silence (the timer set for the rest of the proxy timeout, 30 s), the target sends an event of
     * 4 MiB that the visitor never reads: the pending write starts the polling, and the visitor is reset after about
     * the send timeout (1 s), long before the proxy timeout.
     */
    @Test
    void aVisitorThatStopsReadingAfterASilentSpellIsResetAfterTheSendTimeout() throws Exception {
        try (RawHttp http = new RawHttp(proxy.port(), null, 4 * 1024)) {
            openEventStream(http);
            Channel channel = proxy.visitor();
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.proxy().responseBodyChecks() == 0);

            long stalledFrom = System.nanoTime();
            proxy.target().sseEvents.add("x".repeat(BIG_EVENT));
            await().atMost(Duration.ofSeconds(10)).until(() -> !channel.isActive());
            assertThat(Duration.ofNanos(System.nanoTime() - stalledFrom)).isGreaterThanOrEqualTo(SEND_TIMEOUT);
        }
    }

    /** Asks for the event stream, reads its head and a first event: the target then sends nothing. */
    private void openEventStream(RawHttp http) throws IOException {
        http.send("GET /sse HTTP/1.1\r\nHost: events.test\r\n\r\n");
        assertThat(HttpHead.read(http.in())).startsWith("HTTP/1.1 200");
        proxy.target().sseEvents.add("first");
        assertThat(http.line()).isEqualTo("d");
        assertThat(http.line()).isEqualTo("data: first");
        assertThat(http.line()).isEmpty(); // the event's end
        assertThat(http.line()).isEmpty(); // the chunk's
    }
}
