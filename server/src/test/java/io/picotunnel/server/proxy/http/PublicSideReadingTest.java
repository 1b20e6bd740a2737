package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

import static io.picotunnel.server.proxy.http.DirectProxyFixture.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How the proxy reads a public HTTP/1.1 connection: on between keep-alive requests (no change of the socket's read
 * interest per request), off once what the visitor sent cannot go on, so a visitor pipelining requests behind one
 * that waits for a slow target is read only a few socket reads ahead.
 */
class PublicSideReadingTest {

    private static final int PIPELINED_BYTES = 16 * 1024 * 1024;

    private DirectProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        proxy = new DirectProxyFixture("reading.test", UnaryOperator.identity());
        listen(64 * 1024);
    }

    /** The proxy's listener; fixed socket buffers keep what the kernel holds for it known. */
    private void listen(int receiveBuffer) throws InterruptedException {
        proxy.listen(64 * 1024, receiveBuffer);
    }

    @AfterEach
    void stop() {
        proxy.close();
    }

    private boolean reading() throws Exception {
        Channel channel = proxy.visitor();
        return onLoop(channel, () -> channel.config().isAutoRead());
    }

    private static int waitingMessages(Channel channel, ProxyHandler handler) throws Exception {
        return onLoop(channel, handler::pendingMessages);
    }

    @Test
    void keepAliveRequestsLeaveThePublicSideReadingBetweenRequests() throws Exception {
        try (RawHttp http = new RawHttp(proxy.port())) {
            for (int i = 0; i < 3; i++) {
                assertThat(http.get("reading.test", "/r" + i).text()).contains("uri=/r" + i + "\n");
                assertThat(reading()).as("reading after request %d", i).isTrue();
            }
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAndTheReadingGoesOn() throws Exception {
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            requests.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: reading.test\r\n\r\n");
        }
        try (RawHttp http = new RawHttp(proxy.port())) {
            http.send(requests.toString());
            for (int i = 0; i < 50; i++) {
                assertThat(http.read().text()).contains("uri=/p" + i + "\n");
            }
            await().atMost(Duration.ofSeconds(10)).until(this::reading);
            assertThat(http.get("reading.test", "/after").text()).contains("uri=/after\n");
        }
    }

    @Test
    void aLongPipelinedBurstStopsAndResumesTheReadingUntilEveryRequestIsAnswered() throws Exception {
        // 90 requests of 2 KB: the reading stops (at 8 waiting messages) and resumes some 20 times.
        answersEveryPipelinedRequest(90, 2000, 4 * 1024 * 1024);
    }

    @Test
    void thousandsOfSmallPipelinedRequestsAreAnsweredWholeAndInOrder() throws Exception {
        // Some 200 of these in one 64 KiB read: decoded whole, beyond the codec's pipeline depth of 128, they used
        // to fail the connection (a reset instead of the answers).
        answersEveryPipelinedRequest(3000, 300, 4 * 1024 * 1024);
    }

    @Test
    void aReadOfOverAThousandTinyPipelinedRequestsIsAnsweredWhole() throws Exception {
        // No padding: some 1,700 requests in one 64 KiB read, more than any pipeline depth the codec is given.
        answersEveryPipelinedRequest(5000, 0, 64 * 1024);
    }

    private void answersEveryPipelinedRequest(int count, int padding, int receiveBuffer) throws Exception {
        listen(receiveBuffer);
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < count; i++) {
            requests.append("GET /b").append(i).append(" HTTP/1.1\r\nHost: reading.test\r\n");
            if (padding > 0) {
                requests.append("X-Pad: ").append("y".repeat(padding)).append("\r\n");
            }
            requests.append("\r\n");
        }
        try (RawHttp http = new RawHttp(proxy.port())) {
            Thread writer = Thread.ofVirtual().name("burst").start(() -> {
                try {
                    http.send(requests.toString());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            for (int i = 0; i < count; i++) {
                assertThat(http.read().text()).as("answer %d", i).contains("uri=/b" + i + "\n");
            }
            writer.join(10_000);
            assertThat(http.get("reading.test", "/after").text()).contains("uri=/after\n");
        }
    }

    @Test
    void requestsPipelinedBehindOneThatWaitsAreReadOnlyAFewReadsAheadEvenWithAReadBatchOfManyReads()
            throws Exception {
        // a 64 KiB socket read holds about 60 of these requests, two messages each
        assertFewMessagesWaitBehindAHangingRequest(1000, 4000, 200);
    }

    @Test
    void tinyRequestsPipelinedBehindOneThatWaitsAreDecodedOnlyASliceAhead() throws Exception {
        // 40 bytes each: a 64 KiB read holds over 1,600 of them; the decoder gets one slice of the read at a time
        int requestLength = "GET /p HTTP/1.1\r\nHost: reading.test\r\n\r\n".length();
        assertFewMessagesWaitBehindAHangingRequest(0, 100_000, 8 + 2 * (DecoderFeed.SLICE / requestLength + 1));
    }

    /**
     * An upload first, so that the proxy's socket reads have grown to their largest (they start at 2 KiB), then a
     * request the target never answers and {@code count} requests behind it, all in the kernel's buffer at once.
     */
    private void assertFewMessagesWaitBehindAHangingRequest(int padding, int count, int maxWaiting) throws Exception {
        listen(8 * 1024 * 1024); // room for many socket reads in one epoll read batch
        byte[] request = ("GET /p HTTP/1.1\r\nHost: reading.test\r\n"
                + (padding > 0 ? "X-Pad: " + "x".repeat(padding) + "\r\n" : "") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] hang = "GET /hang HTTP/1.1\r\nHost: reading.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer burst = ByteBuffer.allocate(hang.length + request.length * count);
        burst.put(hang);
        for (int i = 0; i < count; i++) {
            burst.put(request);
        }
        int uploaded = 4 * 1024 * 1024;
        try (RawHttp http = new RawHttp(proxy.port())) {
            http.send("POST /upload HTTP/1.1\r\nHost: reading.test\r\nContent-Length: " + uploaded + "\r\n\r\n"
                    + "u".repeat(uploaded));
            assertThat(http.read().text()).contains("bytes=" + uploaded);
            Channel channel = proxy.visitor();
            ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
            http.out().write(burst.array()); // 4 MB: the kernel's buffers take it all
            http.out().flush();
            await("the proxy stops reading with requests waiting").atMost(Duration.ofSeconds(20))
                    .until(() -> !channel.isActive() || (!reading() && waitingMessages(channel, handler) > 0));
            assertThat(channel.isActive()).as("the visitor's connection stays open").isTrue();
            assertThat(waitingMessages(channel, handler)).as("messages decoded and waiting")
                    .isLessThanOrEqualTo(maxWaiting);
        }
    }

    /**
     * A visitor pipelines requests and never reads the answers: the proxy started each next request as soon as the
     * previous answer was handed to the channel, writable or not, so every answer piled up in the connection's
     * outbound buffer and the visitor could send on without end (200,000 requests for an unknown host grew direct
     * memory by 85 MiB). The next request now waits for the connection to be writable.
     */
    @Test
    void pipelinedRequestsForLocalAnswersStopWhenTheVisitorDoesNotReadThem() throws Exception {
        pipeliningVisitorThatDoesNotReadIsStalled("GET /x HTTP/1.1\r\nHost: unknown.test\r\n\r\n");
    }

    /**
     * As above, with a target that writes each answer at once: each next exchange read its whole answer into the
     * unwritable channel.
     */
    @Test
    void pipelinedRequestsToTheTargetStopWhenTheVisitorDoesNotReadTheAnswers() throws Exception {
        try (KeepAliveTarget keepAlive = new KeepAliveTarget()) {
            proxy.routes().onServiceChange(null, new Service("s2", "t1", ServiceType.HTTP, "keepalive.test", "/",
                    TlsMode.TERMINATE, null, keepAlive.address(), true, Instant.now()));
            pipeliningVisitorThatDoesNotReadIsStalled("GET /ok HTTP/1.1\r\nHost: keepalive.test\r\n\r\n");
        }
    }

    private void pipeliningVisitorThatDoesNotReadIsStalled(String request) throws Exception {
        int count = 50_000;
        byte[] one = request.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer all = ByteBuffer.allocate(one.length * count);
        for (int i = 0; i < count; i++) {
            all.put(one);
        }
        all.flip();
        AtomicLong written = new AtomicLong();
        SocketChannel visitor = SocketChannel.open();
        try {
            visitor.setOption(StandardSocketOptions.SO_RCVBUF, 64 * 1024);
            visitor.setOption(StandardSocketOptions.SO_SNDBUF, 64 * 1024);
            visitor.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
            Thread writer = Thread.ofVirtual().name("pipelining-visitor").start(() -> {
                try {
                    while (all.hasRemaining()) {
                        written.addAndGet(visitor.write(all));
                    }
                } catch (IOException e) {
                    // closed by the test once it has seen the writes stall
                }
            });
            AtomicLong lastSeen = new AtomicLong(-1);
            await("the visitor's writes stop moving (or all are written)").pollInterval(Duration.ofSeconds(1))
                    .atMost(Duration.ofSeconds(60)).until(() -> {
                        long now = written.get();
                        return lastSeen.getAndSet(now) == now;
                    });
            // What the sockets' buffers hold (the answers in the proxy's send buffer and the visitor's receive
            // buffer, the requests in the visitor's send buffer and the proxy's receive buffer), not the requests.
            // (Whether the proxy reads at this instant is not asked: the kernel, merging the small answers waiting in
            // the visitor's receive buffer, frees room now and then, and the proxy reads a little on.)
            assertThat(written.get()).as("bytes of requests the proxy let in").isLessThan(all.capacity() / 2);
            assertThat(writer.isAlive()).as("the visitor's writer is blocked").isTrue();

            // The visitor reads again: every request is answered.
            assertThat(answersRead(visitor, count, Duration.ofSeconds(60))).isEqualTo(count);
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        } finally {
            visitor.close();
        }
    }

    /** Reads answers until {@code expected} status lines came or the time is up; returns how many came. */
    private static int answersRead(SocketChannel visitor, int expected, Duration limit) throws IOException {
        byte[] statusLine = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII); // its 'H' appears once: no overlap
        long deadline = System.nanoTime() + limit.toNanos();
        ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        int answers = 0;
        int matched = 0;
        visitor.socket().setSoTimeout((int) limit.toMillis());
        while (answers < expected && System.nanoTime() < deadline) {
            buffer.clear();
            if (visitor.read(buffer) < 0) {
                break;
            }
            for (int i = 0; i < buffer.position(); i++) {
                byte b = buffer.get(i);
                matched = b == statusLine[matched] ? matched + 1 : (b == statusLine[0] ? 1 : 0);
                if (matched == statusLine.length) {
                    answers++;
                    matched = 0;
                }
            }
        }
        return answers;
    }

    /**
     * The target takes the request head and never reads the body: the visitor can send what the sockets' buffers on
     * the way hold (some megabytes on loopback), not the body. The proxy forwarded every decoded piece into the
     * upstream's outbound buffer while it went on reading, so the whole upload piled up in the proxy's memory.
     */
    @Test
    void anUploadToATargetThatDoesNotReadStopsTheReadingOfTheVisitor() throws Exception {
        byte[] chunk = ("4000\r\n" + "x".repeat(0x4000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        writesStallWellBelow("POST /hang HTTP/1.1\r\nHost: reading.test\r\nTransfer-Encoding: chunked\r\n\r\n",
                chunk, 256L * 1024 * 1024);
    }

    @Test
    void requestsPipelinedBehindOneThatWaitsAreReadOnlyAFewReadsAhead() throws Exception {
        byte[] request = ("GET /p HTTP/1.1\r\nHost: reading.test\r\nX-Pad: " + "x".repeat(4000) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        writesStallWellBelow("GET /hang HTTP/1.1\r\nHost: reading.test\r\n\r\n", request, PIPELINED_BYTES);
    }

    /**
     * A visitor sends {@code head}, then {@code repeated} again and again up to {@code total} bytes: the proxy must
     * stop reading it, and its writes stall below an eighth of that, at what the sockets' buffers hold.
     */
    private void writesStallWellBelow(String head, byte[] repeated, long total) throws Exception {
        AtomicLong written = new AtomicLong();
        SocketChannel visitor = SocketChannel.open();
        try {
            visitor.setOption(StandardSocketOptions.SO_SNDBUF, 64 * 1024);
            visitor.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
            visitor.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            Thread writer = Thread.ofVirtual().name("visitor").start(() -> {
                try {
                    while (written.get() + repeated.length <= total) {
                        ByteBuffer buffer = ByteBuffer.wrap(repeated);
                        while (buffer.hasRemaining()) {
                            written.addAndGet(visitor.write(buffer));
                        }
                    }
                } catch (IOException e) {
                    // closed by the test once it has seen the writes stall
                }
            });
            await("the proxy stops reading").atMost(Duration.ofSeconds(20)).until(() -> !reading());
            await("the visitor's writes stall well below what it would send")
                    .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> written.get() < total / 8 && writer.isAlive());
            visitor.close(); // ends the blocked writer
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        } finally {
            visitor.close();
        }
    }
}
