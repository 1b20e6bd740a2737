package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The pool's hand-over of a stream between exchanges and its idle watcher, on Netty's embedded channel, whose loop
 * runs queued tasks only when told: so the order of park (queued by a release) and a take on the same loop can be
 * chosen. The streams end to end (reuse, idle close, retry) are {@link UpstreamKeepAliveTest}'s.
 */
class UpstreamPoolTest {

    private static final Service SERVICE = new Service("s1", "t1", ServiceType.HTTP, "a.test", "/", TlsMode.TERMINATE,
            null, "127.0.0.1:1", true, Instant.now());
    private static final String RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path dataDir;
    private final List<EmbeddedChannel> streams = new ArrayList<>();
    /** The clock of the pool's warnings' interval. */
    private final AtomicLong now = new AtomicLong();
    private final HttpRoutes routes = routing(SERVICE);
    private final UpstreamPool pool = new UpstreamPool((service, initializer) -> {
        EmbeddedChannel stream = new EmbeddedChannel(initializer);
        streams.add(stream);
        return stream.eventLoop().newSucceededFuture(stream);
    }, routes, IDLE_TIMEOUT, 4, () -> now.get());

    private static HttpRoutes routing(Service service) {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, service);
        return routes;
    }

    /** An exchange's handler: what the stream's codec decoded for it. */
    static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<Object> read = new ArrayList<>();
        int removed;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            read.add(msg instanceof HttpResponse r ? r.status().code() : msg.getClass().getSimpleName());
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            removed++;
        }
    }

    private static UpstreamPool.Lease leased(Future<UpstreamPool.Lease> lease, boolean reused) {
        assertThat(lease.isSuccess()).isTrue();
        assertThat(lease.getNow().reused()).isEqualTo(reused);
        return lease.getNow();
    }

    /** A lease of a stream opened for {@code exchange}, none being idle. */
    private UpstreamPool.Lease newLease(Recorder exchange) {
        return newLease(SERVICE, exchange);
    }

    /** A lease of a stream of {@code service} opened for {@code exchange}, none being idle. */
    private UpstreamPool.Lease newLease(Service service, Recorder exchange) {
        return leased(pool.acquire(service, exchange), false);
    }

    /** A lease of an idle stream, taken again for {@code exchange}. */
    private UpstreamPool.Lease takenAgain(Recorder exchange) {
        return takenAgain(SERVICE, exchange);
    }

    /** A lease of an idle stream of {@code service}, taken again for {@code exchange}. */
    private UpstreamPool.Lease takenAgain(Service service, Recorder exchange) {
        return leased(pool.acquire(service, exchange), true);
    }

    /** The stream a lease of the embedded opener holds. */
    private static EmbeddedChannel stream(UpstreamPool.Lease lease) {
        return (EmbeddedChannel) lease.channel();
    }

    /** Gives {@code lease} back and runs the park that queued on its stream's loop, which files the stream as idle. */
    private EmbeddedChannel parked(UpstreamPool.Lease lease) {
        pool.release(lease);
        EmbeddedChannel stream = stream(lease);
        stream.runPendingTasks();
        return stream;
    }

    private static void answer(EmbeddedChannel stream) {
        stream.writeInbound(Unpooled.copiedBuffer(RESPONSE, StandardCharsets.US_ASCII));
    }

    /** A request goes up the stream and its response comes back (the codec drops bytes nobody asked for). */
    private static void exchange(EmbeddedChannel stream) {
        stream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        stream.releaseOutbound();
        answer(stream);
    }

    @Test
    void aStreamTakenOnItsLoopBeforeItsParkRanGoesToTheNewExchangeAndParkLeavesItAlone() {
        Recorder first = new Recorder();
        UpstreamPool.Lease lease = newLease(first);
        EmbeddedChannel stream = stream(lease);
        exchange(stream);
        assertThat(first.read).containsExactly(200, "DefaultLastHttpContent");

        pool.release(lease); // park is queued on the stream's loop, not run
        Recorder second = new Recorder();
        assertThat(takenAgain(second).channel()).isSameAs(stream);
        stream.runPendingTasks(); // park runs now, after the take

        exchange(stream);
        assertThat(second.read).containsExactly(200, "DefaultLastHttpContent");
        assertThat(first.read).hasSize(2);
        assertThat(first.removed).isEqualTo(1);
        assertThat(stream.isOpen()).isTrue();
        assertThat(pool.idleCount()).isZero();
        assertThat(streams).as("streams opened").containsExactly(stream);
    }

    @Test
    void theIdleTimerPendingAfterAHandOutDoesNotKeepTheStreamHandedOutReachable() {
        EmbeddedChannel stream = parked(newLease(new Recorder()));
        // A real loop is reachable from its thread for as long as it runs, and so is what it has scheduled.
        EventLoop loop = stream.eventLoop();
        WeakReference<Channel> handedOut = handOutAndForget(stream);
        stream = null;

        await().atMost(Duration.ofSeconds(10)).until(() -> {
            System.gc();
            return handedOut.get() == null;
        });
        assertThat(loop.isShuttingDown()).isFalse();
    }

    /** Takes {@code stream} out of the pool for an exchange that then lets go of it, as the test does. */
    private WeakReference<Channel> handOutAndForget(EmbeddedChannel stream) {
        UpstreamPool.Lease lease = takenAgain(new Recorder());
        assertThat(lease.channel()).isSameAs(stream);
        streams.remove(stream);
        return new WeakReference<>(lease.channel());
    }

    @Test
    void aStreamHoldingBytesPastItsResponseTakenBeforeItsParkRanIsClosedAndTheTakeGetsANewOne() {
        UpstreamPool.Lease lease = newLease(new Recorder());
        EmbeddedChannel stream = stream(lease);
        stream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        stream.releaseOutbound();
        // Bytes past Content-Length in the same read: the decoder holds them, waiting for a line break.
        stream.writeInbound(Unpooled.copiedBuffer(RESPONSE + "garbage-bytes", StandardCharsets.US_ASCII));

        pool.release(lease); // park, which would see the bytes, is queued, not run
        Channel next = newLease(new Recorder()).channel();
        stream.runPendingTasks();

        assertThat(next).isNotSameAs(stream);
        assertThat(stream.isOpen()).isFalse();
        assertThat(streams).as("streams opened").containsExactly(stream, (EmbeddedChannel) next);
    }

    @Test
    void aParkedStreamIsWatchedUntilTakenAndThenServesOnlyItsNewExchange() {
        Recorder first = new Recorder();
        EmbeddedChannel stream = parked(newLease(first));
        assertThat(pool.idleCount()).isEqualTo(1);
        assertThat(first.removed).isEqualTo(1);

        Recorder second = new Recorder();
        assertThat(takenAgain(second).channel()).isSameAs(stream);
        exchange(stream);
        assertThat(second.read).containsExactly(200, "DefaultLastHttpContent");
        assertThat(first.read).isEmpty();
        assertThat(pool.idleCount()).isZero();
    }

    /** {@code stream}, its clock frozen, is open 1 ms before an idle timeout from now, and closed at it. */
    private static void closedOneTimeoutLater(EmbeddedChannel stream, String after) {
        stream.advanceTimeBy(IDLE_TIMEOUT.toMillis() - 1, TimeUnit.MILLISECONDS);
        stream.runPendingTasks();
        assertThat(stream.isOpen()).as("open 1 ms before a timeout after %s", after).isTrue();
        stream.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        stream.runPendingTasks();
        assertThat(stream.isOpen()).as("open a timeout after %s", after).isFalse();
    }

    /**
     * Each park starts the idle timeout again, though the pool's one timer per set was armed by the first: parked,
     * taken back two thirds of a timeout later, over and over (long past a timeout from the first park), the stream
     * stays open, and once left idle it is closed one timeout after its last park, its key dropped, no timer left.
     * Ten parks: the last comes while a timer an earlier park armed is pending, so only a timer armed again on
     * firing closes it.
     */
    @Test
    void aStreamReusedManyTimesIsClosedOneIdleTimeoutAfterItsLastParkNotItsFirst() {
        UpstreamPool.Lease lease = newLease(new Recorder());
        EmbeddedChannel stream = stream(lease);
        stream.freezeTime();
        long twoThirds = IDLE_TIMEOUT.toMillis() * 2 / 3;
        for (int park = 1; park <= 9; park++) {
            exchange(stream);
            parked(lease);
            stream.advanceTimeBy(twoThirds, TimeUnit.MILLISECONDS);
            stream.runPendingTasks();
            assertThat(stream.isOpen()).as("open %d ms after park %d", twoThirds, park).isTrue();
            lease = takenAgain(new Recorder());
            assertThat(lease.channel()).isSameAs(stream);
        }
        exchange(stream);
        parked(lease);

        assertThat(pool.idleCount()).isEqualTo(1);
        closedOneTimeoutLater(stream, "its last park");
        assertThat(pool.idleCount()).isZero();
        assertThat(pool.keyCount()).isZero();
        assertThat(stream.runScheduledPendingTasks()).as("nanoseconds to a timer left (-1: none)").isEqualTo(-1);
    }

    /** A stream parked once, which armed its set's timer on its loop (clock frozen), and taken again: its lease. */
    private UpstreamPool.Lease takenAgainWithTimerPending() {
        UpstreamPool.Lease lease = newLease(new Recorder());
        stream(lease).freezeTime();
        exchange(stream(lease));
        parked(lease);
        return takenAgain(new Recorder());
    }

    /**
     * The set's timer fires while a stream given back is filed and its park has not run yet: the stream has no idle
     * timeout running, so the timer leaves it to its park, which arms the timer again, and it is closed one timeout
     * after that park.
     */
    @Test
    void aStreamFiledButNotParkedYetWhenTheTimerFiresIsClosedOneTimeoutAfterItsPark() {
        UpstreamPool.Lease lease = takenAgainWithTimerPending();
        EmbeddedChannel stream = stream(lease);
        exchange(stream);
        pool.release(lease); // filed; its park waits on the stream's loop

        stream.advanceTimeBy(IDLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        stream.runScheduledPendingTasks(); // the timer, before the park
        assertThat(stream.isOpen()).as("open when the timer fired before its park").isTrue();
        assertThat(pool.idleCount()).isEqualTo(1);

        stream.runPendingTasks(); // the park
        closedOneTimeoutLater(stream, "its park");
        assertThat(pool.keyCount()).isZero();
    }

    /**
     * A route change that retires a set (its last stream handed to an exchange, the set empty) cancels the set's
     * timer: nothing of the gone key waits on the loop that armed it.
     */
    @Test
    void aRouteChangeRetiringASetWhoseStreamIsInUseCancelsItsTimer() {
        UpstreamPool.Lease inUse = takenAgainWithTimerPending();
        EmbeddedChannel stream = stream(inUse);

        routes.onServiceChange(SERVICE, withTarget(SERVICE, "127.0.0.1:2"));
        assertThat(pool.keyCount()).isZero();
        assertThat(stream.isOpen()).as("the stream of the exchange under way").isTrue();
        assertThat(stream.runScheduledPendingTasks()).as("nanoseconds to a timer left (-1: none)").isEqualTo(-1);

        exchange(stream);
        parked(inUse);
        assertThat(stream.isOpen()).as("given back under a key no longer served").isFalse();
    }

    @Test
    void anIdleStreamThatSendsAnythingIsClosedAndTheNextRequestGetsANewOne() {
        Recorder first = new Recorder();
        EmbeddedChannel stream = parked(newLease(first));

        answer(stream); // unasked: nobody waits for it
        assertThat(stream.isOpen()).isFalse();
        assertThat(first.read).isEmpty();
        assertThat(pool.idleCount()).isZero();

        Recorder second = new Recorder();
        Channel next = newLease(second).channel();
        assertThat(next).isNotSameAs(stream);
        assertThat(streams).as("streams opened").containsExactly(stream, (EmbeddedChannel) next);
    }

    @Test
    void bytesWithoutALineBreakThatAnIdleStreamGetsCloseIt() {
        EmbeddedChannel stream = idleStreamOf(SERVICE);

        // A late body: no line break, so the decoder alone would hold it and decode nothing.
        stream.writeInbound(Unpooled.copiedBuffer("{\"user\":\"alice\"}", StandardCharsets.US_ASCII));
        assertThat(stream.isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
    }

    /** The lease of a new stream of {@code service} that carried one exchange and was given back: the stream is idle. */
    private UpstreamPool.Lease servedAndParked(Service service) {
        UpstreamPool.Lease lease = newLease(service, new Recorder());
        exchange(stream(lease));
        parked(lease);
        return lease;
    }

    /** A stream of {@code service} that carried one exchange and waits idle in the pool, watched. */
    private EmbeddedChannel idleStreamOf(Service service) {
        return stream(servedAndParked(service));
    }

    /** The lease of a stream that carried one exchange, went idle and was taken again by {@code next}. */
    private UpstreamPool.Lease givenBackAndTakenBy(Recorder next) {
        UpstreamPool.Lease lease = servedAndParked(SERVICE);
        assertThat(takenAgain(next).channel()).isSameAs(stream(lease));
        return lease;
    }

    @Test
    void bytesThatATakenStreamGetsBeforeItsRequestWentUpCloseIt() {
        Recorder second = new Recorder();
        EmbeddedChannel stream = stream(givenBackAndTakenBy(second));

        answer(stream); // before the second request was written: not its answer
        assertThat(stream.isOpen()).isFalse();
        assertThat(second.read).isEmpty();
    }

    @Test
    void aLeaseGivenBackTwiceFilesItsStreamOnceSoTwoExchangesNeverShareIt() {
        Recorder first = new Recorder();
        UpstreamPool.Lease lease = givenBackAndTakenBy(first);
        EmbeddedChannel stream = stream(lease);

        parked(lease); // given back by mistake, while the stream serves the next exchange
        Recorder second = new Recorder();
        Channel next = newLease(second).channel();

        assertThat(next).isNotSameAs(stream);
        exchange(stream);
        assertThat(first.read).containsExactly(200, "DefaultLastHttpContent");
        assertThat(second.read).isEmpty();
    }

    @Test
    void leasesGivenBackTwiceAreWarnedOfOnceAMinute() {
        try (LogCapture log = new LogCapture(UpstreamPool.class, Level.WARN)) {
            givenBackTwice(3);
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("given back twice: the second ignored");

            now.addAndGet(Duration.ofSeconds(59).toNanos());
            givenBackTwice(1);
            assertThat(log.messages(Level.WARN)).as("within the minute").hasSize(1);

            now.addAndGet(Duration.ofSeconds(2).toNanos());
            givenBackTwice(1);
            assertThat(log.messages(Level.WARN)).as("past the minute").hasSize(2).last().asString()
                    .contains("given back twice: the second ignored", "3 more like this not logged");
        }
    }

    private void givenBackTwice(int leases) {
        for (int i = 0; i < leases; i++) {
            UpstreamPool.Lease lease = pool.acquire(SERVICE, new Recorder()).getNow();
            pool.release(lease);
            pool.release(lease);
        }
    }

    @Test
    void aStreamClosedBeforeItsParkRanIsDroppedNotHandedOut() {
        UpstreamPool.Lease lease = newLease(new Recorder());
        EmbeddedChannel stream = stream(lease);
        pool.release(lease);
        stream.close();
        stream.runPendingTasks();
        assertThat(pool.idleCount()).isZero();

        Channel next = newLease(new Recorder()).channel();
        assertThat(next).isNotSameAs(stream);
    }

    @Test
    void anUpgradedExchangeTakesTheSlotOutOfThePipelineWithItsHandler() throws Exception {
        Recorder first = new Recorder();
        UpstreamPool.Lease lease = newLease(first);
        EmbeddedChannel stream = stream(lease);
        UpstreamSlot slot = UpstreamSlot.of(stream);
        assertThat(slot.current()).isSameAs(first);
        stream.pipeline().replace(slot, "hold", new ChannelInboundHandlerAdapter());
        assertThat(first.removed).isEqualTo(1);
        assertThat(UpstreamSlot.of(stream)).isNull();

        // Given back by mistake, it is dropped: no slot to hand it over with.
        parked(lease);
        assertThat(stream.isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
    }

    /** {@code service} with another target, as the API's edit makes it. */
    private static Service withTarget(Service service, String target) {
        return edited(service, service.domain(), service.pathPrefix(), target, service.enabled());
    }

    /** {@code service} with the domain, path prefix, target and state given, as the API's edit makes it. */
    private static Service edited(Service service, String domain, String pathPrefix, String target, boolean enabled) {
        return new Service(service.id(), service.tunnelId(), service.type(), domain, pathPrefix, service.tlsMode(),
                service.listenAddr(), target, enabled, service.createdAt());
    }

    @Test
    void aServiceEditedToAnotherTargetHasItsIdleStreamClosedAtOnceAndItsNextRequestGetsANewOne() {
        EmbeddedChannel stream = idleStreamOf(SERVICE);
        assertThat(pool.idleCount()).isEqualTo(1);

        Service moved = withTarget(SERVICE, "127.0.0.1:2");
        routes.onServiceChange(SERVICE, moved);
        assertThat(stream.isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
        assertThat(pool.keyCount()).isZero();

        Channel next = newLease(moved, new Recorder()).channel();
        assertThat(next).isNotSameAs(stream);
    }

    @Test
    void anEditThatKeepsTheTargetKeepsTheIdleStream() {
        EmbeddedChannel stream = idleStreamOf(SERVICE);
        Service renamed = edited(SERVICE, "b.test", "/api", SERVICE.targetAddr(), SERVICE.enabled());
        routes.onServiceChange(SERVICE, renamed);

        assertThat(stream.isOpen()).isTrue();
        assertThat(takenAgain(renamed, new Recorder()).channel()).isSameAs(stream);
    }

    @Test
    void aDisabledServiceHasItsIdleStreamClosedAtOnce() {
        EmbeddedChannel stream = idleStreamOf(SERVICE);
        routes.onServiceChange(SERVICE, edited(SERVICE, SERVICE.domain(), SERVICE.pathPrefix(), SERVICE.targetAddr(),
                false));

        assertThat(stream.isOpen()).isFalse();
        assertThat(pool.keyCount()).isZero();
    }

    @Test
    void aStreamGivenBackAfterItsServiceWasEditedIsClosedNotFiled() {
        Recorder inFlight = new Recorder();
        UpstreamPool.Lease lease = newLease(inFlight);
        EmbeddedChannel stream = stream(lease);
        routes.onServiceChange(SERVICE, withTarget(SERVICE, "127.0.0.1:2"));

        exchange(stream); // the exchange under way when the service changed ends as it would have
        assertThat(inFlight.read).containsExactly(200, "DefaultLastHttpContent");
        assertThat(stream.isOpen()).isTrue();
        parked(lease);

        assertThat(stream.isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
        assertThat(pool.keyCount()).isZero();
    }

    @Test
    void servicesCreatedAndDeletedOneAfterAnotherLeaveNoKeyBehind() {
        for (int i = 0; i < 50; i++) {
            Service service = new Service("s-" + i, "t1", ServiceType.HTTP, "churn-" + i + ".test", "/",
                    TlsMode.TERMINATE, null, "127.0.0.1:" + (1000 + i), true, Instant.now());
            routes.onServiceChange(null, service);
            EmbeddedChannel stream = idleStreamOf(service);
            assertThat(pool.keyCount()).isEqualTo(1);

            routes.onServiceChange(service, null);
            assertThat(stream.isOpen()).as("idle stream of the deleted service " + i).isFalse();
        }
        assertThat(pool.keyCount()).isZero();
        assertThat(pool.idleCount()).isZero();
    }

    @Test
    void aKeyWhoseIdleStreamsAllEndedIsRemoved() {
        UpstreamPool.Lease first = newLease(new Recorder());
        UpstreamPool.Lease second = newLease(new Recorder());
        parked(first);
        parked(second);
        assertThat(pool.idleCount()).isEqualTo(2);

        stream(first).close(); // its far end closed, or its tunnel session ended
        assertThat(pool.keyCount()).isEqualTo(1);
        stream(second).close();
        assertThat(pool.idleCount()).isZero();
        assertThat(pool.keyCount()).isZero();
    }

    @Test
    void aDeletedTunnelHasTheIdleStreamsOfEachOfItsServicesClosedAtOnce() throws Exception {
        EmbeddedChannel otherTunnels = idleStreamOf(SERVICE);
        try (Store store = Store.open(dataDir)) {
            store.addServiceListener(routes);
            String tunnel = store.createTunnel("deleted").id();
            List<EmbeddedChannel> idleStreams = new ArrayList<>();
            for (String domain : List.of("one.test", "two.test")) {
                idleStreams.add(idleStreamOf(store.createService(new Service(null, tunnel, ServiceType.HTTP, domain, "/",
                        TlsMode.TERMINATE, null, "127.0.0.1:1", true, null)).orElseThrow()));
            }
            assertThat(pool.idleCount()).isEqualTo(3);

            assertThat(store.deleteTunnel(tunnel)).isTrue();
            assertThat(idleStreams).as("idle streams of the deleted tunnel's services open")
                    .filteredOn(Channel::isOpen).isEmpty();
            assertThat(otherTunnels.isOpen()).as("another tunnel's idle stream open").isTrue();
            assertThat(pool.idleCount()).isEqualTo(1);
            assertThat(pool.keyCount()).isEqualTo(1);
        }
    }
}
