package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * The connected tunnel clients: every tunnel may have several, each with its own yamux session (replicas for
 * high availability and load balancing). A new stream goes to the client with the fewest open streams; ties go
 * round-robin. A client that leaves takes only its own streams with it.
 */
public final class TunnelRegistry implements TunnelPresence {

    /** How often at most the WARN for connections reset at --max-streams is logged per tunnel. */
    public static final Duration STREAM_LIMIT_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;

    private static final SecureRandom IDS = new SecureRandom();
    /**
     * How long a stream asked of a tunnel without a usable client waits for one whose upgrade is under way (its 101
     * sent, its registration not done): a moment, unless the server is badly overloaded.
     */
    static final Duration ARRIVAL_WAIT = Duration.ofSeconds(5);

    /** One client connection of a tunnel. */
    public static final class Connection {
        private final String id;
        private final String tunnelId;
        /** The SHA-256 of the token it came with; null when registered without one. */
        private final String tokenSha256;
        private final YamuxSession session;
        private final Instant connectedAt;
        private final String remoteAddr;
        private final String version;
        private final String hostname;
        /** Opens asked of this session that have not completed yet: they count as load before the session counts them. */
        private final AtomicInteger pendingOpens = new AtomicInteger();
        private final AtomicLong streamsOpened = new AtomicLong();
        /** Why the server ended this connection (a token regenerated, a tunnel deleted); null while it has not. */
        private volatile TunnelCloseStatus closedBy;

        Connection(String id, String tunnelId, String tokenSha256, YamuxSession session, Instant connectedAt,
                   String remoteAddr, String version, String hostname) {
            this.id = id;
            this.tunnelId = tunnelId;
            this.tokenSha256 = tokenSha256;
            this.session = session;
            this.connectedAt = connectedAt;
            this.remoteAddr = remoteAddr;
            this.version = version;
            this.hostname = hostname;
        }

        /** The server-generated id of this connection: 16 hex characters. */
        public String id() {
            return id;
        }

        public String tunnelId() {
            return tunnelId;
        }

        public YamuxSession session() {
            return session;
        }

        public Instant connectedAt() {
            return connectedAt;
        }

        /** How many streams were opened on this connection so far. */
        public long streamsOpened() {
            return streamsOpened.get();
        }

        public ConnectedClient describe() {
            return new ConnectedClient(id, remoteAddr, version, hostname, connectedAt);
        }

        /** Can take new streams: connected and not going away. */
        boolean usable() {
            Channel parent = session.parent();
            return parent != null && parent.isActive() && !session.isGoingAway();
        }

        /** The event loop of the client's connection (and of its streams); null before it has one. */
        EventLoop loop() {
            Channel parent = session.parent();
            return parent == null ? null : parent.eventLoop();
        }

        boolean runsOn(EventLoop loop) {
            return loop() == loop;
        }

        int load() {
            return session.activeStreams() + pendingOpens.get();
        }

        /**
         * GoAway, the open streams reset, then a close frame that tells the client why (an older client reads it as any
         * close), and the connection ended once the client's answer is read: the client may still be sending (stream
         * data, pings), and closed with that unread, the connection would be reset before the client has read the close
         * frame. The streams end at once, as the close would end them: what the client still sends on them is dropped,
         * and their visitors would wait for the connection's end, up to 5 s.
         */
        void close(TunnelCloseStatus why) {
            closedBy = why;
            session.goAway(GoAwayCode.NORMAL);
            Channel parent = session.parent();
            if (parent != null) {
                // After the GoAway, queued on the same loop: the RSTs, then the close frame, written below the session,
                // which takes yamux frames only. Not once the RSTs have left: a client that does not read would hold
                // the close frame back (behind a drain's, when one came meanwhile).
                parent.eventLoop().execute(() -> {
                    session.resetStreams(ResetReason.NONE);
                    WebSocketControlFrames.closeAfterTheAnswer(parent, why);
                });
            }
        }

        @Override
        public String toString() {
            return "client " + id + " of tunnel " + tunnelId + " from " + remoteAddr;
        }
    }

    /** Per tunnel, its connections in the order they came; each list is immutable and replaced as a whole. */
    private final Map<String, List<Connection>> connections = new ConcurrentHashMap<>();
    /** See {@link #soleClientLoop()}. */
    private volatile EventLoop soleClientLoop;
    private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    private final AtomicInteger rotation = new AtomicInteger();
    private final List<ClientListener> listeners = new CopyOnWriteArrayList<>();
    /** Per tunnel, its clients upgraded and not yet registered, and the streams waiting for them; guarded by itself. */
    private final Map<String, Arrivals> arrivals = new HashMap<>();
    /** See {@link #ARRIVAL_WAIT}; shorter in tests. */
    volatile Duration arrivalWait = ARRIVAL_WAIT;
    /**
     * For tests: runs each upgraded client's registration (given its channel, called on its event loop once the 101
     * is written); a test holds one back to stand in the moment between the 101 and the registration.
     */
    volatile BiConsumer<Channel, Runnable> registration = (channel, register) -> register.run();
    /**
     * For tests: runs what follows each client's token lookup (given its channel, called where the lookup completed);
     * a test holds one back to stand in the moment between the lookup and the client's arrival.
     */
    volatile BiConsumer<Channel, Runnable> lookedUp = (channel, proceed) -> proceed.run();
    /**
     * The WARN for tcp and TLS passthrough connections reset because every client connection of their tunnel is at
     * the server's --max-streams: at most once a minute per tunnel (a flood of visitors makes one line, and one busy
     * tunnel does not hide another's), so kept here, where every such connection's stream is asked for, as the HTTP
     * proxy keeps its own.
     */
    final KeyedRefusalLog connectionsAtStreamLimit = new KeyedRefusalLog(LoggerFactory.getLogger(TcpStreamBridge.class),
            STREAM_LIMIT_LOG_INTERVAL, KeyedRefusalLog.MAX_KEYS);
    private final Clock clock;
    /** Set once by {@link #serverStopping}. */
    private volatile boolean serverStopping;

    public TunnelRegistry(Clock clock) {
        this.clock = clock;
    }

    public TunnelRegistry() {
        this(Clock.systemUTC());
    }

    /** Adds a listener told of every client that connects or leaves from now on. */
    public void addClientListener(ClientListener listener) {
        listeners.add(listener);
    }

    /**
     * A client of the tunnel whose upgrade is being answered: from now until it is registered or given up, a
     * stream asked of the tunnel while no client can take it waits for this one (at most {@link #ARRIVAL_WAIT})
     * instead of failing: the client takes itself for connected once it reads the 101, which goes out before the
     * registration. {@code tokenSha256}: the SHA-256 of the token it came with; {@code loop}: the connection's event
     * loop.
     */
    public Arrival arriving(String tunnelId, String tokenSha256, EventLoop loop) {
        Arrival arrival = new Arrival(tunnelId, tokenSha256);
        synchronized (arrivals) {
            arrivals.computeIfAbsent(tunnelId, id -> new Arrivals()).add(arrival, loop);
        }
        return arrival;
    }

    /** For tests: the streams asked of the tunnel that wait for a client under way. */
    int waitingStreams(String tunnelId) {
        synchronized (arrivals) {
            Arrivals pending = arrivals.get(tunnelId);
            return pending == null ? 0 : pending.waiting.size();
        }
    }

    /** A client announced by {@link #arriving}: registered, or given up, once. */
    public final class Arrival {
        private final String tunnelId;
        private final String tokenSha256;
        private boolean done;
        /** Set by {@link #disconnect}: why the token it came with was revoked, or its tunnel deleted; null until then. */
        private TunnelCloseStatus revokedBy;

        private Arrival(String tunnelId, String tokenSha256) {
            this.tunnelId = tunnelId;
            this.tokenSha256 = tokenSha256;
        }

        /**
         * Registers the client ({@link TunnelRegistry#register}), then hands it the streams waiting for it; null, and
         * nothing registered, when the tunnel was disconnected while it was under way.
         */
        public Connection register(YamuxSession session, String version, String hostname) {
            if (revoked()) {
                return null;
            }
            Connection connection = TunnelRegistry.this.register(tunnelId, tokenSha256, session, version, hostname);
            // disconnect marks arrivals before it takes the connections: one registered in between goes here.
            if (revoked()) {
                unregister(connection);
                return null;
            }
            end(true);
            return connection;
        }

        private boolean revoked() {
            return revokedBy() != null;
        }

        /**
         * Why {@link #register} returned null: the token was regenerated, or the tunnel deleted, while the client was
         * under way; null when it was not.
         */
        public TunnelCloseStatus revokedBy() {
            synchronized (arrivals) {
                return revokedBy;
            }
        }

        /** The upgrade failed or the connection closed first: the streams waiting fail unless another is under way. */
        public void abandon() {
            end(false);
        }

        private void end(boolean registered) {
            List<Runnable> woken;
            synchronized (arrivals) {
                if (done) {
                    return;
                }
                done = true;
                Arrivals pending = arrivals.get(tunnelId);
                woken = pending.arrived(this, registered);
                if (pending.underWay.isEmpty()) {
                    arrivals.remove(tunnelId);
                }
            }
            woken.forEach(Runnable::run);
        }
    }

    /** The clients of one tunnel under way, and the streams waiting for them. */
    private static final class Arrivals {
        private final List<Arrival> underWay = new ArrayList<>();
        /** The event loop of the newest: waiting streams are timed there when the caller named no loop. */
        private EventLoop loop;
        /** A set: each waiter that times out or is cancelled leaves it, which a long list would make quadratic. */
        private Set<Runnable> waiting = new LinkedHashSet<>();

        void add(Arrival arrival, EventLoop loop) {
            underWay.add(arrival);
            this.loop = loop;
        }

        /** The waiting streams to wake: all once one is registered or none is left under way, else none yet. */
        List<Runnable> arrived(Arrival arrival, boolean registered) {
            underWay.remove(arrival);
            if (!registered && !underWay.isEmpty()) {
                return List.of();
            }
            return takeWaiting();
        }

        /**
         * Those under way that {@code revoked} names will not register; the waiting streams are to be woken once
         * none is left under way, else they wait for the others.
         */
        List<Runnable> revoke(Predicate<String> revoked, TunnelCloseStatus why) {
            underWay.removeIf(arrival -> {
                if (!revoked.test(arrival.tokenSha256)) {
                    return false;
                }
                arrival.revokedBy = why;
                arrival.done = true;
                return true;
            });
            return underWay.isEmpty() ? takeWaiting() : List.of();
        }

        private List<Runnable> takeWaiting() {
            List<Runnable> woken = List.copyOf(waiting);
            waiting = new LinkedHashSet<>();
            return woken;
        }
    }

    /**
     * Records a new client connection of the tunnel, next to those it has already; it came with the token whose SHA-256
     * is {@code tokenSha256} (null: none, and only a tunnel deleted drops it).
     */
    public Connection register(String tunnelId, String tokenSha256, YamuxSession session, String version,
                               String hostname) {
        Channel parent = session.parent();
        Connection connection = new Connection(newId(), tunnelId, tokenSha256, session, clock.instant(),
                parent == null ? null : address(parent.remoteAddress()), version, hostname);
        connections.compute(tunnelId, (id, list) -> {
            List<Connection> next = list == null ? new ArrayList<>() : new ArrayList<>(list);
            next.add(connection);
            return List.copyOf(next);
        });
        lastSeen.put(tunnelId, connection.connectedAt());
        refreshSoleClientLoop();
        listeners.forEach(listener -> listener.clientConnected(tunnelId, connection.describe()));
        return connection;
    }

    /** Forgets the connection once it has ended; the tunnel's other connections stay. */
    public void unregister(Connection connection) {
        boolean[] removed = {false};
        connections.computeIfPresent(connection.tunnelId(), (id, list) -> {
            if (!list.contains(connection)) {
                return list;
            }
            removed[0] = true;
            List<Connection> next = new ArrayList<>(list);
            next.remove(connection);
            return next.isEmpty() ? null : List.copyOf(next);
        });
        if (removed[0]) {
            refreshSoleClientLoop();
            lastSeen.put(connection.tunnelId(), clock.instant());
            listeners.forEach(listener -> listener.clientLeft(connection.tunnelId(), connection.describe()));
        }
    }

    /**
     * The event loop of every connected client when they all share one (one tunnel with one client, the common
     * case); null when none is connected or they are spread over several loops. A visitor of the HTTP(S) proxy,
     * whose tunnel is known only once its request is read, is served on this loop when there is one: its
     * requests then reach their streams without a hop between threads. Kept up to date as clients come and go,
     * so that an accepted visitor costs a field read, not a walk over every client.
     */
    public EventLoop soleClientLoop() {
        return soleClientLoop;
    }

    /** Synchronized: a register and an unregister at once must not leave the older answer. */
    private synchronized void refreshSoleClientLoop() {
        soleClientLoop = findSoleClientLoop();
    }

    private EventLoop findSoleClientLoop() {
        EventLoop sole = null;
        for (List<Connection> list : connections.values()) {
            for (Connection connection : list) {
                EventLoop loop = connection.loop();
                if (loop == null) {
                    continue;
                }
                if (sole == null) {
                    sole = loop;
                } else if (sole != loop) {
                    return null;
                }
            }
        }
        return sole;
    }

    /** Every client connection of every tunnel. */
    public List<Connection> allConnections() {
        List<Connection> all = new ArrayList<>();
        connections.values().forEach(all::addAll);
        return all;
    }

    /** The tunnel's client connections, oldest first; empty when none is connected. */
    public List<Connection> connections(String tunnelId) {
        return connections.getOrDefault(tunnelId, List.of());
    }

    /**
     * Opens a stream to one of the tunnel's clients with {@code handler} in its pipeline: the one with the
     * fewest open streams. When that session refuses because it is closed, going away or full, the next one
     * is tried. Fails with {@link TunnelOfflineException} when no client can take streams: at once, or when a client
     * is under way ({@link #arriving}) once it was given up or the arrival wait passed, or when the last one tried was
     * lost between its choice and the stream's open ({@link TunnelOfflineException#clientLost}), or at once when the
     * server is stopping ({@link #serverStopping}); with
     * {@link ClientStoppingException} when the last one tried sent GoAway between its choice and the stream's open.
     */
    public Future<YamuxStreamChannel> openStream(String tunnelId, ChannelHandler handler) {
        return openStream(tunnelId, handler, null);
    }

    /** As above; among equally loaded clients, one whose session runs on {@code near} (a caller's event loop). */
    public Future<YamuxStreamChannel> openStream(String tunnelId, ChannelHandler handler, EventLoop near) {
        return openStream(tunnelId, handler, near, Set.of());
    }

    /**
     * As above, never on a client whose session is in {@code passOver} (those that refused a stream to the same
     * request): with no other client, the open fails as for a tunnel without clients.
     */
    public Future<YamuxStreamChannel> openStream(String tunnelId, ChannelHandler handler, EventLoop near,
                                                 Set<YamuxSession> passOver) {
        if (serverStopping) {
            // The GoAway may not have left yet (the drain closes the listeners first), but a visitor accepted before
            // whose stream would open only now is past the drain's start all the same; so is one that would wait for
            // a client under way, which the tunnel endpoint still registers until its own drain.
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(TunnelOfflineException.serverDraining(tunnelId));
        }
        Set<Connection> tried = new HashSet<>();
        for (Connection connection : connections(tunnelId)) {
            if (passOver.contains(connection.session())) {
                tried.add(connection);
            }
        }
        Connection first = leastLoaded(tunnelId, tried, near, true);
        if (first == null) {
            Promise<YamuxStreamChannel> waiting = awaitArrival(tunnelId, handler, near, tried);
            if (waiting != null) {
                return waiting;
            }
            // Registered (or given up) between the look above and the one for arrivals.
            first = leastLoaded(tunnelId, tried, near, true);
        }
        if (first == null) {
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(offline(tunnelId));
        }
        if (serverStopping) {
            // Began since the check above: the stream is past the drain's start all the same, and the client found
            // may even have registered since.
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(TunnelOfflineException.serverDraining(tunnelId));
        }
        // On the first session's loop, as a single session's own future would be.
        Promise<YamuxStreamChannel> promise = first.session().parent().eventLoop().newPromise();
        attempt(first, tunnelId, handler, tried, promise);
        return promise;
    }

    /**
     * Why no client took the stream: none connected, or every one going away; a log then says that the server is
     * stopping or the clients are, not that none is connected.
     */
    private TunnelOfflineException offline(String tunnelId) {
        List<Connection> list = connections(tunnelId);
        if (list.isEmpty() || !list.stream().allMatch(c -> c.session().isGoingAway())) {
            return new TunnelOfflineException(tunnelId);
        }
        return TunnelOfflineException.goingAway(tunnelId,
                list.stream().allMatch(c -> c.session().goAwayReceived().isDone()));
    }

    /**
     * When a client of the tunnel is under way ({@link #arriving}), the stream waits for it: the promise completes
     * as {@link #openStream} would once a client arrives, or fails offline when none did within the arrival wait.
     * A caller whose visitor leaves cancels it: nothing is opened for it then. Null when none is under way.
     */
    private Promise<YamuxStreamChannel> awaitArrival(String tunnelId, ChannelHandler handler, EventLoop near,
                                                     Set<Connection> tried) {
        Promise<YamuxStreamChannel> promise;
        synchronized (arrivals) {
            Arrivals pending = arrivals.get(tunnelId);
            if (pending == null || pending.underWay.isEmpty()) {
                return null;
            }
            EventLoop loop = near != null ? near : pending.loop;
            promise = loop.newPromise();
            if (serverStopping) {
                // Set after openStream looked and its waiting streams taken: this one would wait only to fail at the end.
                promise.setFailure(TunnelOfflineException.serverDraining(tunnelId));
                return promise;
            }
            Duration wait = arrivalWait;
            ScheduledFuture<?> timeout = loop.schedule(
                    () -> promise.tryFailure(new TunnelOfflineException(tunnelId)), wait.toNanos(), TimeUnit.NANOSECONDS);
            Runnable wake = () -> {
                timeout.cancel(false);
                if (promise.isDone()) {
                    return;
                }
                if (serverStopping) {
                    // The client came after the drain began: a stream that waited for it is past the drain's start.
                    promise.tryFailure(TunnelOfflineException.serverDraining(tunnelId));
                    return;
                }
                Connection arrived = leastLoaded(tunnelId, tried, near, true);
                if (arrived == null) {
                    promise.tryFailure(new TunnelOfflineException(tunnelId));
                } else {
                    attempt(arrived, tunnelId, handler, tried, promise);
                }
            };
            pending.waiting.add(wake);
            // Timed out, or cancelled by a caller whose visitor left: its timer and its place in the wait go now.
            promise.addListener(f -> {
                timeout.cancel(false);
                stopWaiting(tunnelId, wake);
            });
        }
        return promise;
    }

    private void stopWaiting(String tunnelId, Runnable wake) {
        synchronized (arrivals) {
            Arrivals pending = arrivals.get(tunnelId);
            if (pending != null) {
                pending.waiting.remove(wake);
            }
        }
    }

    private void attempt(Connection connection, String tunnelId, ChannelHandler handler, Set<Connection> tried,
                         Promise<YamuxStreamChannel> promise) {
        tried.add(connection);
        connection.pendingOpens.incrementAndGet();
        connection.session().openStream(handler).addListener((Future<YamuxStreamChannel> opened) -> {
            connection.pendingOpens.decrementAndGet();
            if (opened.isSuccess()) {
                connection.streamsOpened.incrementAndGet();
                if (!promise.trySuccess(opened.getNow())) {
                    opened.getNow().reset();
                }
                return;
            }
            Connection next = opened.cause() instanceof StreamOpenException ? leastLoaded(tunnelId, tried, null, true) : null;
            if (next != null && serverStopping) {
                // Until the drain's GoAway leaves, the other clients still look usable: a stream moved to one now would
                // be relayed past the drain's start and hold the drain open.
                promise.tryFailure(TunnelOfflineException.serverDraining(tunnelId));
            } else if (next == null) {
                promise.tryFailure(whyNot(connection, tunnelId, opened.cause()));
            } else {
                attempt(next, tunnelId, handler, tried, promise);
            }
        });
    }

    /**
     * Why the last client tried took no stream: one that went away after it was chosen is stopping when it sent
     * GoAway; one the server ended for its token regenerated or its tunnel deleted ({@link Connection#close}) was lost
     * for that reason, which is said; once the stopping server sent its GoAway (the drain's, not one the session sent
     * on its own before, for an unanswered ping or a protocol error), that GoAway is why, not a lost client; otherwise
     * (its connection lost) it left the tunnel offline ({@link TunnelOfflineException#clientLost}). Anything else (its
     * stream limit, say) is {@code cause}.
     */
    private Throwable whyNot(Connection connection, String tunnelId, Throwable cause) {
        if (!(cause instanceof StreamOpenException) || connection.usable()) {
            return cause;
        }
        if (connection.session().goAwayReceived().isDone()) {
            return new ClientStoppingException(tunnelId);
        }
        if (connection.closedBy != null) {
            return TunnelOfflineException.revoked(tunnelId, connection.closedBy);
        }
        // Only the drain's own GoAway makes the stop the reason: a client whose connection is lost in the drain's first
        // steps, before that GoAway, is lost, also when the server gave up on it (an unanswered ping, a protocol error)
        // with a GoAway of its own.
        return WebSocketControlFrames.sentGoAwayForStop(connection.session().parent())
                ? TunnelOfflineException.serverStopping(tunnelId) : TunnelOfflineException.clientLost(tunnelId);
    }

    /**
     * The server drains or stops, before it closes its listeners: no stream opens from now on, though the GoAway on
     * every client connection comes only after (a visitor accepted just before, whose ClientHello the HTTPS listener
     * reads now, is closed at once, as is one waiting for a client under way); a stream that finds its chosen client
     * going away from now on is refused because the server stops, not because the client was lost.
     */
    public void serverStopping() {
        serverStopping = true;
        // The streams that wait for a client under way fail now, not once it registers or the arrival wait passes.
        List<Runnable> woken = new ArrayList<>();
        synchronized (arrivals) {
            arrivals.values().forEach(pending -> woken.addAll(pending.takeWaiting()));
        }
        woken.forEach(Runnable::run);
    }

    /**
     * The event loop of the client connection that a new stream of the tunnel would take now (the least loaded);
     * null when no client is connected. A connection accepted on this loop reaches its stream without a hop.
     */
    public EventLoop loopOfNextStream(String tunnelId) {
        Connection next = leastLoaded(tunnelId, Set.of(), null, false);
        return next == null ? null : next.loop();
    }

    /**
     * The usable connection with the fewest open streams, not yet tried; among equals the first on {@code near},
     * else turn by turn. Only a choice for a stream takes a turn ({@code advance}): a look ahead names the
     * connection the next stream will take.
     */
    private Connection leastLoaded(String tunnelId, Set<Connection> tried, EventLoop near, boolean advance) {
        List<Connection> list = connections(tunnelId);
        int size = list.size();
        if (size == 0) {
            return null;
        }
        int start = Math.floorMod(advance ? rotation.getAndIncrement() : rotation.get(), size);
        Connection best = null;
        int bestLoad = Integer.MAX_VALUE;
        for (int i = 0; i < size; i++) {
            Connection candidate = list.get((start + i) % size);
            if (tried.contains(candidate) || !candidate.usable()) {
                continue;
            }
            int load = candidate.load();
            if (load < bestLoad || (load == bestLoad && near != null && candidate.runsOn(near) && !best.runsOn(near))) {
                best = candidate;
                bestLoad = load;
            }
        }
        return best;
    }

    @Override
    public boolean isConnected(String tunnelId) {
        return !connections(tunnelId).isEmpty();
    }

    @Override
    public List<ConnectedClient> clients(String tunnelId) {
        return connections(tunnelId).stream().map(Connection::describe)
                .sorted(Comparator.comparing(ConnectedClient::connectedSince)).toList();
    }

    @Override
    public Optional<Instant> connectedSince(String tunnelId) {
        return connections(tunnelId).stream().map(Connection::connectedAt).min(Comparator.naturalOrder());
    }

    @Override
    public Optional<Instant> lastSeen(String tunnelId) {
        return isConnected(tunnelId) ? Optional.of(clock.instant()) : Optional.ofNullable(lastSeen.get(tunnelId));
    }

    @Override
    public int connectedCount() {
        return connections.size();
    }

    @Override
    public void disconnect(String tunnelId) {
        disconnect(tunnelId, token -> true, TunnelCloseStatus.TUNNEL_DELETED);
    }

    @Override
    public void disconnect(String tunnelId, String tokenSha256) {
        disconnect(tunnelId, tokenSha256::equals, TunnelCloseStatus.TOKEN_REGENERATED);
    }

    /** Drops the clients of the tunnel, connected or under way, that came with a token {@code revoked} names. */
    private void disconnect(String tunnelId, Predicate<String> revoked, TunnelCloseStatus why) {
        // Its clients under way that came with such a token do not register, and the streams waiting for them fail
        // offline once the connections are gone (a wake finds none), not on a client about to be dropped.
        List<Runnable> waiting;
        synchronized (arrivals) {
            Arrivals pending = arrivals.get(tunnelId);
            waiting = pending == null ? List.of() : pending.revoke(revoked, why);
            if (pending != null && pending.underWay.isEmpty()) {
                arrivals.remove(tunnelId);
            }
        }
        List<Connection> gone = new ArrayList<>();
        connections.computeIfPresent(tunnelId, (id, list) -> {
            List<Connection> kept = new ArrayList<>();
            for (Connection connection : list) {
                (revoked.test(connection.tokenSha256) ? gone : kept).add(connection);
            }
            return kept.isEmpty() ? null : List.copyOf(kept);
        });
        waiting.forEach(Runnable::run);
        if (!gone.isEmpty()) {
            // Their unregister finds them gone already: the loop the visitors are put on is worked out here.
            refreshSoleClientLoop();
            lastSeen.put(tunnelId, clock.instant());
            gone.forEach(connection -> connection.close(why));
            for (Connection connection : gone) {
                listeners.forEach(listener -> listener.clientLeft(tunnelId, connection.describe()));
            }
        }
    }

    private static String newId() {
        byte[] bytes = new byte[8];
        IDS.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** {@code 203.0.113.7:51234} or {@code [2001:db8::1]:51234}. */
    static String address(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            String host = inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return address == null ? null : address.toString();
    }
}
