package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.ReadOnlyHttpHeaders;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import io.netty.util.concurrent.AbstractEventExecutor;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.picotunnel.server.proxy.http.DirectProxyFixture.onLoop;
import static io.picotunnel.server.proxy.http.DirectProxyFixture.unwritten;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the stream reads goes to the visitor in order and only as fast as the visitor takes it, whether the stream and
 * the visitor share an event loop (the messages handed over at once) or not (through a task per read).
 */
class UpstreamHandOverTest {

    /** Far more than one read of the stream, and than the buffers between the proxy and the visitor hold. */
    private static final int LARGE = 32 * 1024 * 1024;
    /** What the proxy may hold for a visitor that reads nothing: a few reads of the stream, not the body. */
    private static final int HELD_AT_MOST = 4 * 1024 * 1024;

    private DirectProxyFixture proxy;

    private void start(boolean oneLoop) throws Exception {
        proxy = new DirectProxyFixture("handover.test", settings -> settings, oneLoop);
        proxy.listen(4 * 1024);
    }

    /**
     * Stands in for a bug in the exchange's handling of an answer: the head it passes on has headers that throw when
     * the exchange removes the hop-by-hop ones (Keep-Alive): read-only ones throw UnsupportedOperationException, as any
     * exception of its own would, and {@link ThrowingHeaders} an Error. With {@code switching} the head says 101, which
     * the exchange handles in a task of its own (the switch of protocols), not with the rest of the read.
     */
    private static final class BrokenHeads extends ChannelInboundHandlerAdapter {
        private final Runnable fault;
        private final boolean switching;

        /** {@code fault} null: read-only headers; else headers whose removal runs it. */
        BrokenHeads(Runnable fault, boolean switching) {
            this.fault = fault;
            this.switching = switching;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpResponse response && !(msg instanceof HttpContent)) {
                HttpResponseStatus status = switching ? HttpResponseStatus.SWITCHING_PROTOCOLS : response.status();
                HttpHeaders headers;
                if (fault == null) {
                    List<CharSequence> pairs = new ArrayList<>(List.of("Keep-Alive", "timeout=5"));
                    for (Map.Entry<String, String> header : response.headers()) {
                        pairs.add(header.getKey());
                        pairs.add(header.getValue());
                    }
                    headers = new ReadOnlyHttpHeaders(false, pairs.toArray(CharSequence[]::new));
                } else {
                    headers = new ThrowingHeaders(response.headers().add("Keep-Alive", "timeout=5"), fault);
                }
                msg = new DefaultHttpResponse(response.protocolVersion(), status, headers);
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Headers whose removal of one runs {@code fault}, which throws (a bug's Error stands in this way). */
    private static final class ThrowingHeaders extends DefaultHttpHeaders {
        private final Runnable fault;

        ThrowingHeaders(HttpHeaders from, Runnable fault) {
            add(from);
            this.fault = fault;
        }

        @Override
        public HttpHeaders remove(String name) {
            fault.run();
            return super.remove(name);
        }

        @Override
        public HttpHeaders remove(CharSequence name) {
            fault.run();
            return super.remove(name);
        }
    }

    private static final Runnable ASSERTION = () -> {
        throw new AssertionError("a bug of the proxy's own");
    };

    private static final Runnable STACK_OVERFLOW = () -> {
        throw new StackOverflowError("the JVM's");
    };

    /** The fixture, {@code broken} before the exchange's handler on each stream, which goes to {@code streams}. */
    private void start(boolean oneLoop, ChannelHandler broken, List<Channel> streams) throws Exception {
        proxy = new DirectProxyFixture("handover.test", settings -> settings.responseTimeout(Duration.ofMinutes(2)),
                oneLoop, pipeline -> {
                    streams.add(pipeline.channel());
                    pipeline.addBefore(UpstreamPool.HANDLER, "broken-heads", broken);
                });
        proxy.listen(64 * 1024);
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private static void assertPattern(byte[] body, int length) {
        assertThat(body).hasSize(length);
        for (int i = 0; i < length; i++) {
            if (body[i] != TargetServer.patternByte(i)) {
                assertThat(body[i]).as("byte %d of %d", i, length).isEqualTo(TargetServer.patternByte(i));
            }
        }
    }

    @ParameterizedTest(name = "stream on the visitor's loop: {0}")
    @ValueSource(booleans = {true, false})
    void pipelinedResponsesOfManyReadsEachArriveWholeAndInOrder(boolean oneLoop) throws Exception {
        start(oneLoop);
        int[] sizes = {1, 300_000, 17, 1_000_000, 4096, 65_537, 0, 2_000_000};
        try (RawHttp http = new RawHttp(proxy.port())) {
            StringBuilder requests = new StringBuilder();
            for (int size : sizes) {
                requests.append("GET /download?").append(size).append(" HTTP/1.1\r\nHost: handover.test\r\n\r\n");
            }
            http.send(requests.toString());
            for (int size : sizes) {
                RawHttp.Response response = http.read();
                assertThat(response.status()).as("status of the %d bytes", size).isEqualTo(200);
                assertPattern(response.body(), size);
            }
        }
    }

    /**
     * The proxy must not take the body from the target while the visitor takes nothing. It is looked at once the proxy
     * has stopped reading the stream (nothing read for a second): with backpressure broken that is only at the body's
     * end, however slow the machine, so the check cannot pass then; a mere hold could, on a machine too slow to read
     * 4 MiB within it.
     */
    @ParameterizedTest(name = "stream on the visitor's loop: {0}")
    @ValueSource(booleans = {true, false})
    void aVisitorThatReadsNothingHoldsTheStreamBackAndThenGetsTheWholeBody(boolean oneLoop) throws Exception {
        AtomicLong readFromTheStream = new AtomicLong();
        proxy = new DirectProxyFixture("handover.test", settings -> settings, oneLoop,
                pipeline -> pipeline.addFirst("count-reads", new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof ByteBuf bytes) {
                            readFromTheStream.addAndGet(bytes.readableBytes());
                        }
                        ctx.fireChannelRead(msg);
                    }
                }));
        proxy.listen(4 * 1024);
        try (RawHttp http = new RawHttp(proxy.port(), null, 4 * 1024)) {
            http.send("GET /download?" + LARGE + " HTTP/1.1\r\nHost: handover.test\r\n\r\n");
            Channel channel = proxy.visitor();
            await().atMost(Duration.ofSeconds(20)).until(() -> onLoop(channel, () -> unwritten(channel)) > 0);
            long[] lastSeen = {-1};
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                long read = readFromTheStream.get();
                boolean stopped = read == lastSeen[0];
                lastSeen[0] = read;
                return stopped;
            });
            assertThat(readFromTheStream.get()).as("bytes the proxy read from the stream").isLessThan(LARGE);
            assertThat(onLoop(channel, () -> unwritten(channel))).as("bytes held for the visitor")
                    .isLessThan(HELD_AT_MOST);

            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertPattern(response.body(), LARGE);
        }
    }

    /**
     * A throw in the exchange's hand-over, a bug of the proxy: in the read's messages (the answer's head) or in a task
     * (a switch of protocols), an exception or an Error of its own; on one loop and on two.
     */
    @ParameterizedTest(name = "stream on the visitor's loop: {0}, switching protocols: {1}, an Error: {2}")
    @CsvSource({"true, false, false", "false, false, false", "true, true, false", "false, true, false",
            "true, false, true", "false, false, true", "true, true, true", "false, true, true"})
    void aThrowHandingTheStreamOverIsLoggedOnceAtWarnAndEndsTheVisitorAndTheStream(boolean oneLoop,
            boolean switching, boolean error) throws Exception {
        List<Channel> streams = new CopyOnWriteArrayList<>();
        start(oneLoop, new BrokenHeads(error ? ASSERTION : null, switching), streams);
        try (LogCapture exchange = new LogCapture(Exchange.class, Level.WARN);
                LogCapture loops = new LogCapture(AbstractEventExecutor.class, Level.WARN);
                RawHttp http = new RawHttp(proxy.port())) {
            http.readTimeout(Duration.ofSeconds(20));
            http.send("GET /download?5000 HTTP/1.1\r\nHost: handover.test\r\n"
                    + (switching ? "Connection: Upgrade\r\nUpgrade: websocket\r\n" : "") + "\r\n");

            // Long before the proxy timeout: nothing of the answer, the connection ended (a reset or an end).
            assertEndedWithNothing(http.in());
            assertThat(streams).hasSize(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> !streams.get(0).isOpen());
            List<ILoggingEvent> warnings = exchange.events();
            assertThat(warnings).hasSize(1);
            assertThat(warnings.get(0).getLevel()).isEqualTo(Level.WARN);
            assertThat(warnings.get(0).getFormattedMessage()).contains("relaying between")
                    .contains("GET handover.test");
            assertThat(warnings.get(0).getThrowableProxy().getClassName()).isEqualTo(error
                    ? AssertionError.class.getName() : UnsupportedOperationException.class.getName());
            assertThat(loops.events()).isEmpty();
        }
    }

    /**
     * Out of memory or a stack overflow is the JVM's, not the exchange's: it goes on to the event loop (which logs a
     * failed task), the exchange logs nothing of it.
     */
    @ParameterizedTest(name = "stream on the visitor's loop: {0}")
    @ValueSource(booleans = {true, false})
    void aVirtualMachineErrorInATaskOfTheHandOverGoesOnToTheEventLoop(boolean oneLoop) throws Exception {
        List<Channel> streams = new CopyOnWriteArrayList<>();
        start(oneLoop, new BrokenHeads(STACK_OVERFLOW, true), streams);
        try (LogCapture exchange = new LogCapture(Exchange.class, Level.WARN);
                LogCapture loops = new LogCapture(AbstractEventExecutor.class, Level.WARN);
                RawHttp http = new RawHttp(proxy.port())) {
            http.send("GET /download?5000 HTTP/1.1\r\nHost: handover.test\r\nConnection: Upgrade\r\n"
                    + "Upgrade: websocket\r\n\r\n");

            await().atMost(Duration.ofSeconds(20)).until(() -> !loops.events().isEmpty());
            assertThat(loops.events()).hasSize(1);
            assertThat(loops.events().get(0).getThrowableProxy().getClassName())
                    .isEqualTo(StackOverflowError.class.getName());
            assertThat(exchange.events()).isEmpty();
        }
    }

    /** Keeps the exchange's handler of the first answer's stream, and the stream's context of it. */
    @ChannelHandler.Sharable
    private static final class FirstUpstream extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Exchange.Upstream> upstream = new CompletableFuture<>();
        volatile ChannelHandlerContext slot;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpResponse && !upstream.isDone()) {
                slot = ctx.pipeline().context(UpstreamPool.HANDLER);
                upstream.complete((Exchange.Upstream) UpstreamSlot.of(ctx.channel()).current());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** A message whose release throws: a bug in a task of the hand-over of an exchange that ended. */
    private static final class ThrowsOnRelease extends AbstractReferenceCounted {
        @Override
        protected void deallocate() {
            throw new IllegalStateException("a late bug");
        }

        @Override
        public ReferenceCounted touch(Object hint) {
            return this;
        }
    }

    /**
     * A throw in a late task of an exchange that ended, the visitor's connection on to its next request (keep-alive),
     * is that exchange's: one WARN, and the next request on the connection goes on to its answer.
     */
    @ParameterizedTest(name = "stream on the visitor's loop: {0}")
    @ValueSource(booleans = {true, false})
    void aThrowInALateTaskOfAnEndedExchangeLeavesTheNextRequestOfTheConnectionAlone(boolean oneLoop)
            throws Exception {
        List<Channel> streams = new CopyOnWriteArrayList<>();
        FirstUpstream first = new FirstUpstream();
        start(oneLoop, first, streams);
        try (LogCapture exchange = new LogCapture(Exchange.class, Level.WARN);
                LogCapture loops = new LogCapture(AbstractEventExecutor.class, Level.WARN);
                RawHttp http = new RawHttp(proxy.port())) {
            http.readTimeout(Duration.ofSeconds(20));
            http.send("GET /download?5 HTTP/1.1\r\nHost: handover.test\r\n\r\n");
            RawHttp.Response answer = http.read();
            assertThat(answer.status()).isEqualTo(200);
            assertPattern(answer.body(), 5);
            Exchange.Upstream ended = first.upstream.get(10, TimeUnit.SECONDS);
            ChannelHandlerContext slot = first.slot;

            // The next request, its body half sent: the visitor's connection is its exchange's until the answer.
            int size = 2000;
            http.send("POST /upload HTTP/1.1\r\nHost: handover.test\r\nContent-Length: " + size + "\r\n\r\n"
                    + "a".repeat(size / 2));
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                for (Channel stream : streams) {
                    if (onLoop(stream, () -> UpstreamSlot.of(stream) instanceof UpstreamSlot held
                            && held.current() instanceof Exchange.Upstream next && next != ended)) {
                        return true;
                    }
                }
                return false;
            });
            // A read of the ended exchange's stream, handed over late (on two loops through a task).
            slot.executor().submit(() -> {
                ended.channelRead(slot, new ThrowsOnRelease());
                ended.channelReadComplete(slot);
            }).get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> !exchange.events().isEmpty());

            http.send("a".repeat(size - size / 2));
            RawHttp.Response next = http.read();
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).startsWith("bytes=" + size + " ");
            List<ILoggingEvent> warnings = exchange.events();
            assertThat(warnings).hasSize(1);
            assertThat(warnings.get(0).getFormattedMessage()).contains("relaying between")
                    .contains("GET handover.test").contains("on to another request");
            assertThat(warnings.get(0).getThrowableProxy().getClassName())
                    .isEqualTo(IllegalStateException.class.getName());
            assertThat(loops.events()).isEmpty();
        }
    }

    private static void assertEndedWithNothing(InputStream in) throws Exception {
        try {
            assertThat(in.read()).isEqualTo(-1);
        } catch (SocketException reset) {
            assertThat(reset.getMessage()).containsIgnoringCase("reset");
        }
    }
}
