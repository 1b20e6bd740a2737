package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Upstream keep-alive, as nginx's {@code keepalive}: the streams that carried a complete keep-alive exchange
 * wait here, idle, for the next request to the same service (and so does the client's connection to the
 * target behind each, which the client's relay keeps open as long as the stream).
 *
 * <p>One pool per service (service id, tunnel and target address), at most {@code maxIdle} streams each (the
 * least recently used is closed beyond that). An idle stream is closed after {@code idleTimeout}, and dropped
 * the moment its far end closes, resets or sends anything, or its tunnel session goes away, so a stream handed
 * out was open the last time this side looked. It follows the routes: when a service is edited to another target
 * or type, disabled or deleted, the idle streams of its old key are closed at once, and a stream given back under a
 * key no longer served is closed rather than filed. Whether an exchange may give its stream back is the
 * exchange's call ({@link #release}); everything else is here. Thread-safe: streams live on their sessions' event
 * loops, exchanges on the public connections' loops, route changes on the API's threads.
 *
 * <p>The map holds a key only while its {@link IdleSet} does: a set is taken out (retired) when its last idle stream
 * is dropped or its key stops being served, so service churn leaves nothing behind. A set an exchange just took the
 * last stream of stays (its stream usually comes back at once; a new set per request would cost an allocation each)
 * until its key stops being served.
 */
public final class UpstreamPool implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamPool.class);
    static final String CODEC = "http-client";
    static final String HANDLER = "upstream";
    /** Streams are interchangeable only for the same service, tunnel and target. */
    private record Key(String serviceId, String tunnelId, String target) {
        static Key of(Service service) {
            return new Key(service.id(), service.tunnelId(), service.targetAddr());
        }

        /** Whether {@code routed}, the service routed now under this key's id (null: none), sends requests here. */
        boolean servedBy(Service routed) {
            return routed != null && routed.enabled() && routed.type() == ServiceType.HTTP
                    && routed.tunnelId().equals(tunnelId) && routed.targetAddr().equals(target);
        }
    }

    /**
     * The idle streams of one key, least recently used first; read and changed under its own monitor. Retired once
     * out of the map (emptied by drops, or its key no longer served): nothing is filed in it again, a release that
     * finds it so files its stream in the key's next set. Locks are taken set first, then the map's (its remove),
     * never the other way.
     *
     * <p>One timer for all its streams, rather than one per park cancelled at the next hand-out (a schedule and a
     * cancel per request): each parked stream keeps its own deadline, and the timer, armed by a park that finds none,
     * fires at the earliest, closes what is past its deadline and is armed again for the next. A hand-out leaves it
     * alone: it finds nothing to close when it fires, and is not armed again once no parked stream waits. Cancelled
     * when the set is retired.
     */
    private static final class IdleSet {
        private final ArrayDeque<IdleStream> streams = new ArrayDeque<>();
        private boolean retired;
        private ScheduledFuture<?> timer;
    }

    /**
     * A release, or a route change, that meets a retired set tries the key's next one, this many times at most; more
     * would be a bug of ours, warned of ({@link #setsRetired}).
     */
    private static final int SET_TRIES = 3;

    /**
     * A stream for one exchange; {@code reused} when it carried an exchange before. It keeps the pool's key of its
     * service, so that {@link #release} files the stream without building another per request, and is given back
     * once: a second release would file the stream again while another exchange may hold it. Only its exchange gives
     * it back, on that exchange's event loop (to which the lease came through the open's listener), so a plain flag
     * tells a second release.
     */
    static final class Lease {
        private final Channel channel;
        private final boolean reused;
        private final Key key;
        private boolean released;

        private Lease(Channel channel, boolean reused, Key key) {
            this.channel = channel;
            this.reused = reused;
            this.key = key;
        }

        Channel channel() {
            return channel;
        }

        boolean reused() {
            return reused;
        }
    }

    private final UpstreamOpener opener;
    private final HttpRoutes routes;
    private final Duration idleTimeout;
    private final int maxIdle;
    private final Map<Key, IdleSet> idle = new ConcurrentHashMap<>();
    private final Map<YamuxSession, Boolean> watchedSessions = new ConcurrentHashMap<>();
    /** Leases given back twice: a bug of ours, warned of once a minute with the count of the others. */
    private final RefusalLog givenBackTwice;
    /** Releases and route changes that met {@link #SET_TRIES} retired sets in a row: as {@link #givenBackTwice}. */
    private final RefusalLog setsRetired;
    private volatile boolean closed;

    /**
     * {@code idleTimeout} zero turns reuse off: every stream is closed after its exchange. The pool keeps streams only
     * for services as {@code routes} serve them, and follows its changes.
     */
    UpstreamPool(UpstreamOpener opener, HttpRoutes routes, Duration idleTimeout, int maxIdle) {
        this(opener, routes, idleTimeout, maxIdle, System::nanoTime);
    }

    /** With the clock its warnings' interval is read on ({@link System#nanoTime} but in tests). */
    UpstreamPool(UpstreamOpener opener, HttpRoutes routes, Duration idleTimeout, int maxIdle, LongSupplier nanoTime) {
        this.givenBackTwice = new RefusalLog(LOG, RefusalLog.DEFAULT_INTERVAL, nanoTime);
        this.setsRetired = new RefusalLog(LOG, RefusalLog.DEFAULT_INTERVAL, nanoTime);
        this.opener = opener;
        this.routes = routes;
        this.idleTimeout = idleTimeout;
        this.maxIdle = maxIdle;
        routes.afterEachChange(this::serviceChanged);
    }

    /**
     * A stream to {@code service} whose events go to {@code handler} (through the {@link UpstreamSlot} last in its
     * pipeline, behind an HTTP/1.1 client codec), auto-read off: an idle one when there is one that is still open,
     * else a new one. Cancelling the future cancels the open of a new one ({@link UpstreamOpener#open}).
     */
    Future<Lease> acquire(Service service, ChannelInboundHandler handler) {
        return acquire(service, handler, Set.of());
    }

    /**
     * As {@link #acquire(Service, ChannelInboundHandler)}; a new stream is asked of none of the tunnel's clients
     * whose session is in {@code passOver} ({@link UpstreamOpener#open(Service, ChannelHandler, Set)}).
     */
    Future<Lease> acquire(Service service, ChannelInboundHandler handler, Set<YamuxSession> passOver) {
        Promise<Lease> promise = ImmediateEventExecutor.INSTANCE.newPromise();
        takeIdle(Key.of(service), service, handler, passOver, promise);
        return promise;
    }

    /** A new stream, never an idle one (the retry after a reused stream failed); as {@link #acquire} otherwise. */
    Future<Lease> acquireNew(Service service, ChannelInboundHandler handler, Set<YamuxSession> passOver) {
        Promise<Lease> promise = ImmediateEventExecutor.INSTANCE.newPromise();
        openNew(Key.of(service), service, handler, passOver, promise);
        return promise;
    }

    private void takeIdle(Key key, Service service, ChannelInboundHandler handler, Set<YamuxSession> passOver,
            Promise<Lease> promise) {
        IdleStream taken = closed ? null : takeLast(key);
        if (taken == null) {
            openNew(key, service, handler, passOver, promise);
            return;
        }
        Channel channel = taken.channel;
        if (channel.eventLoop().inEventLoop()) {
            handOut(taken, service, handler, passOver, promise);
        } else {
            channel.eventLoop().execute(() -> handOut(taken, service, handler, passOver, promise));
        }
    }

    /** The key's most recently given back stream that no one else claimed; null when none waits. */
    private IdleStream takeLast(Key key) {
        IdleSet set = idle.get(key);
        if (set == null) {
            return null;
        }
        synchronized (set) {
            IdleStream s;
            while ((s = set.streams.pollLast()) != null) {
                if (s.claim()) {
                    return s;
                }
            }
            return null;
        }
    }

    /**
     * On the stream's loop: the stream goes to the exchange's handler, unless it went bad while idle or holds bytes
     * past its last response. Park may not have run yet (the next request came right after the release, on any
     * loop): it will see the stream taken and check nothing, so the bytes are looked for here too.
     */
    private void handOut(IdleStream taken, Service service, ChannelInboundHandler handler, Set<YamuxSession> passOver,
            Promise<Lease> promise) {
        Channel channel = taken.channel;
        if (taken.spoiled || !usable(channel) || holdsBytes(channel) || !handTo(channel, handler)) {
            channel.close();
            takeIdle(taken.key, service, handler, passOver, promise);
            return;
        }
        if (!promise.trySuccess(new Lease(channel, true, taken.key))) {
            channel.close();
        }
    }

    private void openNew(Key key, Service service, ChannelInboundHandler handler, Set<YamuxSession> passOver,
            Promise<Lease> promise) {
        if (promise.isCancelled()) {
            return;
        }
        Future<? extends Channel> future = opener.open(service, new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.config().setAutoRead(false);
                ch.pipeline().addLast(CODEC, new UpstreamCodec());
                ch.pipeline().addLast(HANDLER, new UpstreamSlot(handler));
            }
        }, passOver);
        promise.addListener(p -> {
            if (p.isCancelled()) {
                future.cancel(false);
            }
        });
        future.addListener(f -> {
            if (future.isSuccess()) {
                if (!promise.trySuccess(new Lease(future.getNow(), false, key))) {
                    future.getNow().close();
                }
            } else {
                promise.tryFailure(future.cause());
            }
        });
    }

    /**
     * Gives back the stream of a complete keep-alive exchange (request and response whole, no close asked by
     * either side, no upgrade): it waits for the next request to the lease's service, the service's least recently
     * used idle stream closed when that makes more than {@code maxIdle}; or it is closed when reuse is off, the pool
     * is closed, the service is no longer routed to the lease's target (edited, disabled or deleted while the
     * exchange ran), or the stream or its session is on its way out. A lease given back again is ignored (a bug:
     * logged, once a minute at most).
     */
    void release(Lease lease) {
        Channel channel = lease.channel;
        if (lease.released) {
            givenBackTwice.refused(true, () -> "upstream " + channel + " of " + lease.key.target()
                    + " given back twice: the second ignored");
            return;
        }
        lease.released = true;
        if (closed || idleTimeout.isZero()) {
            channel.close();
            return;
        }
        IdleStream stream = new IdleStream(lease.key, channel);
        // In the pool at once, so that the next request (often already read) finds it. A taker's work on the
        // stream's loop runs after park's, which is queued first.
        if (!file(stream)) {
            channel.close();
            return;
        }
        channel.eventLoop().execute(() -> park(stream));
        if (closed) {
            stream.drop();
        }
    }

    /**
     * Files {@code stream} in its key's set, closing the least recently used beyond {@code maxIdle}; false when its
     * key is no longer served, or its key's sets were retired {@link #SET_TRIES} times in a row (warned of). Asked
     * under the set's monitor, which a route change takes after the routes changed: either the change finds the
     * stream filed and closes it, or this sees the change.
     */
    private boolean file(IdleStream stream) {
        Key key = stream.key;
        inLiveSet(key, set -> {
            if (!key.servedBy(routes.service(key.serviceId()))) {
                retireIfEmpty(key, set);
                return List.of();
            }
            stream.set = set;
            set.streams.addLast(stream);
            return set.streams.size() > maxIdle ? List.of(set.streams.pollFirst()) : List.of();
        }, () -> "upstream " + stream.channel + " of " + key.target() + " not filed");
        return stream.set != null;
    }

    /**
     * Runs {@code work} under the monitor of {@code key}'s set, made if absent, and closes the streams it took out once
     * the monitor is left. Made if absent so that a release filing a stream and a route change's clean-up always meet
     * on one monitor: whichever comes second sees what the first did (the routes changed, or the stream filed). A set
     * found retired is no longer its key's: the key's next one is taken, {@link #SET_TRIES} times at most, then
     * {@code what} is warned of as not done.
     */
    private void inLiveSet(Key key, Function<IdleSet, List<IdleStream>> work, Supplier<String> what) {
        for (int tries = 0; tries < SET_TRIES; tries++) {
            IdleSet set = idle.computeIfAbsent(key, k -> new IdleSet());
            List<IdleStream> takenOut;
            synchronized (set) {
                if (set.retired) {
                    continue;
                }
                takenOut = work.apply(set);
            }
            for (IdleStream stream : takenOut) {
                stream.close();
            }
            return;
        }
        setsRetired.refused(true, () -> what.get() + ": its key's set was retired " + SET_TRIES + " times in a row");
    }

    /** Under {@code set}'s monitor: takes an emptied set out of the map, for good, and cancels its timer. */
    private void retireIfEmpty(Key key, IdleSet set) {
        if (set.streams.isEmpty() && !set.retired) {
            set.retired = true;
            idle.remove(key, set);
            if (set.timer != null) {
                set.timer.cancel(false);
                set.timer = null;
            }
        }
    }

    /**
     * The routes applied a change to the service that was {@code before} (null: a new one): when its key is no longer
     * served (edited to another target or type, disabled, deleted), its idle streams are closed and its set retired.
     * Streams leased to exchanges finish their exchange and are closed when given back ({@link #file}).
     */
    private void serviceChanged(Service before) {
        if (before == null) {
            return;
        }
        Key key = Key.of(before);
        if (key.servedBy(routes.service(key.serviceId()))) {
            return;
        }
        inLiveSet(key, set -> {
            List<IdleStream> gone = List.copyOf(set.streams);
            set.streams.clear();
            retireIfEmpty(key, set);
            return gone;
        }, () -> "idle upstreams of " + key.target() + " not looked for after a route change");
    }

    /**
     * On the stream's loop: the exchange's handler makes way for the idle watcher, unless an exchange took the stream
     * (or it was dropped) already.
     */
    private void park(IdleStream stream) {
        if (stream.isClaimed()) {
            return;
        }
        Channel channel = stream.channel;
        if (!usable(channel) || holdsBytes(channel) || !handTo(channel, stream)) {
            stream.drop();
            return;
        }
        watchSession(channel);
        if (!startIdleClock(stream)) {
            return;
        }
        // A read outstanding while idle shows the far end's close (or anything it should not send) at once.
        channel.read();
    }

    /**
     * On the stream's loop, as it parks: its idle timeout starts now, and its set's timer is armed when none is
     * pending (one pending fires before this deadline: every deadline is a park's time plus the same timeout). False
     * when a route change took it out (on the API's thread) meanwhile: it gets no deadline and arms no timer.
     */
    private boolean startIdleClock(IdleStream stream) {
        IdleSet set = stream.set;
        EventLoop loop = stream.channel.eventLoop();
        synchronized (set) {
            if (stream.isClaimed() || set.retired) {
                return false;
            }
            stream.idleDeadline = loop.ticker().nanoTime() + idleTimeout.toNanos();
            stream.parked = true;
            if (set.timer == null) {
                // The key, not the stream: the timer outlives the stream's hand-out and must not keep it reachable.
                Key key = stream.key;
                set.timer = loop.schedule(() -> closeExpired(key, set, loop), idleTimeout.toNanos(),
                        TimeUnit.NANOSECONDS);
            }
            return true;
        }
    }

    /**
     * The set's timer, on {@code loop}: closes the parked streams past their deadline (the set retired when that
     * empties it, as a drop does) and arms the timer again for the earliest deadline left, if any.
     */
    private void closeExpired(Key key, IdleSet set, EventLoop loop) {
        List<IdleStream> expired = null;
        synchronized (set) {
            set.timer = null;
            if (set.retired) {
                return;
            }
            long now = loop.ticker().nanoTime();
            boolean waiting = false;
            long next = 0;
            for (Iterator<IdleStream> it = set.streams.iterator(); it.hasNext(); ) {
                IdleStream stream = it.next();
                if (!stream.parked) {
                    continue; // its park, still to come, arms the timer if need be
                }
                if (stream.idleDeadline - now <= 0) {
                    it.remove();
                    if (expired == null) {
                        expired = new ArrayList<>();
                    }
                    expired.add(stream);
                } else if (!waiting || stream.idleDeadline - next < 0) {
                    waiting = true;
                    next = stream.idleDeadline;
                }
            }
            if (expired != null) {
                retireIfEmpty(key, set);
            }
            if (waiting) {
                set.timer = loop.schedule(() -> closeExpired(key, set, loop), next - now, TimeUnit.NANOSECONDS);
            }
        }
        if (expired != null) {
            for (IdleStream stream : expired) {
                stream.close();
            }
        }
    }

    /** The target sent more than its last response: those bytes would be read as the next response's. */
    private static boolean holdsBytes(Channel channel) {
        UpstreamCodec codec = channel.pipeline().get(UpstreamCodec.class);
        if (codec != null && codec.holdsBytes()) {
            LOG.debug("upstream {} sent bytes past its response: not reused", channel);
            return true;
        }
        return false;
    }

    /** Gives {@code channel}'s events to {@code handler} through its slot; false when it has no slot any more. */
    private static boolean handTo(Channel channel, ChannelInboundHandler handler) {
        UpstreamSlot slot = UpstreamSlot.of(channel);
        if (slot == null) {
            return false;
        }
        try {
            slot.handTo(handler);
            return true;
        } catch (Exception e) {
            LOG.debug("handing upstream {} over failed: {}", channel, e.toString());
            return false;
        }
    }

    /** When the client sends GoAway, its session's idle streams go at once rather than holding it open. */
    private void watchSession(Channel channel) {
        if (!(channel instanceof YamuxStreamChannel s)) {
            return;
        }
        YamuxSession session = s.session();
        if (watchedSessions.putIfAbsent(session, Boolean.TRUE) != null) {
            return;
        }
        Channel parent = session.parent();
        if (parent == null) {
            watchedSessions.remove(session);
            return;
        }
        parent.closeFuture().addListener(f -> watchedSessions.remove(session));
        session.goAwayReceived().addListener(f -> closeIdle(session));
    }

    private void closeIdle(YamuxSession session) {
        for (IdleSet set : idle.values()) {
            IdleStream[] all;
            synchronized (set) {
                all = set.streams.toArray(IdleStream[]::new);
            }
            for (IdleStream stream : all) {
                if (session == null || (stream.channel instanceof YamuxStreamChannel s && s.session() == session)) {
                    stream.drop();
                }
            }
        }
    }

    /** Open, both directions, and its session not going away: fit to carry a request. */
    private static boolean usable(Channel channel) {
        if (!channel.isActive()) {
            return false;
        }
        if (channel instanceof YamuxStreamChannel s) {
            return !s.isInputShutdown() && !s.isOutputShutdown() && !s.isReset() && !s.session().isGoingAway();
        }
        return !(channel instanceof DuplexChannel d) || (!d.isInputShutdown() && !d.isOutputShutdown());
    }

    /** Idle streams waiting now, over all services. */
    public int idleCount() {
        int count = 0;
        for (IdleSet set : idle.values()) {
            synchronized (set) {
                count += set.streams.size();
            }
        }
        return count;
    }

    /** Keys the pool holds a set for now (tests: none is left of a service gone). */
    int keyCount() {
        return idle.size();
    }

    /** Closes every idle stream and every stream given back from now on (a draining server). */
    @Override
    public void close() {
        closed = true;
        closeIdle(null);
    }

    /** The handler of a stream while it waits in the pool: anything but silence ends it. */
    private final class IdleStream extends ChannelInboundHandlerAdapter {
        private final Key key;
        private final Channel channel;
        private final AtomicBoolean claimed = new AtomicBoolean();
        /** The set it is filed in; null until filed. */
        private volatile IdleSet set;
        /** Its park ran and started its idle timeout, which ends at {@link #idleDeadline}; under its set's monitor. */
        private boolean parked;
        /** In its loop's {@link EventLoop#ticker()} nanoseconds. */
        private long idleDeadline;
        /** Something happened while idle (data, EOF, error): never hand it out. On the stream's loop. */
        private boolean spoiled;

        IdleStream(Key key, Channel channel) {
            this.key = key;
            this.channel = channel;
        }

        /** True for the one caller (taker or dropper) that gets this stream. */
        boolean claim() {
            return claimed.compareAndSet(false, true);
        }

        boolean isClaimed() {
            return claimed.get();
        }

        /** Takes the stream out of the pool and closes it, unless an exchange took it first. */
        void drop() {
            if (!claim()) {
                return;
            }
            IdleSet home = set;
            if (home != null) {
                synchronized (home) {
                    home.streams.remove(this);
                    retireIfEmpty(key, home);
                }
            }
            channel.close();
        }

        /**
         * Closes a stream already taken out of the pool (evicted, or its key no longer served after a route change),
         * unless an exchange took it first.
         */
        void close() {
            if (claim()) {
                channel.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            spoiled = true;
            LOG.debug("idle upstream {} of {} sent data unasked: closing it", channel, key.target());
            drop();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                spoiled = true;
                drop();
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            spoiled = true;
            drop();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("idle upstream {} failed: {}", channel, cause.toString());
            spoiled = true;
            drop();
        }
    }
}
