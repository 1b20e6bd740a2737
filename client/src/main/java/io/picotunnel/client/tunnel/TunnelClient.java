package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The tunnel client, embeddable: keeps one connection to the server, reconnecting with {@link Backoff} after
 * every failure except a rejected token, and serves the streams the server opens (see {@link TargetDialer}).
 * When the server sends GoAway (normal), as it does when it shuts down, the client connects anew at once
 * (after a random pause of up to {@link #GO_AWAY_RECONNECT_JITTER}) and keeps the old connection until the
 * server closes it or its last stream ends, so that streams on it can finish.
 *
 * <pre>{@code
 * TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:8443"), token));
 * client.start();
 * client.awaitConnected(Duration.ofSeconds(5));
 * ...
 * client.stop().join();
 * }</pre>
 *
 * <p>All connection state lives on one event loop; the public methods may be called from any thread.
 */
public final class TunnelClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TunnelClient.class);
    /**
     * How long an old connection with no stream left at the server's GoAway is kept for the close frame that may
     * follow, saying why (an older server sends none, and the client then closes the connection itself).
     */
    static final Duration CLOSE_FRAME_WAIT = Duration.ofSeconds(2);
    /** The longest random pause before reconnecting after the server's GoAway (normal). */
    public static final Duration GO_AWAY_RECONNECT_JITTER = Duration.ofSeconds(1);
    /** Old connections kept, after GoAway, for the streams still open on them. */
    static final int MAX_RETIRING = 4;

    /** Where the client is in its life. */
    public enum State {
        NEW, CONNECTING, CONNECTED, WAITING_TO_RECONNECT, STOPPING, STOPPED, TOKEN_REJECTED
    }

    private final ClientConfig config;
    private final EventLoopGroup group;
    /**
     * The targets' sockets: the tunnel's own loop by default (each hand-off between threads is a queued task and
     * a wake-up, which on a small machine cost more than the relaying: on 2 cores one thread moved 1.5x the bytes
     * and halved the round trip), or a pool of {@code --target-threads} loops of its own.
     */
    private final EventLoopGroup targets;
    /** Targets' sockets connected and still open. */
    private final ChannelGroup connectedTargets = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final TargetFailureLog targetFailures = new TargetFailureLog();
    private final EventLoop loop;
    private final ExecutorService resolver;
    private final TunnelConnector connector;
    private final Backoff backoff;
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final Object stateLock = new Object();

    private volatile State state = State.NEW;
    /** The connection new streams come on; null while (re)connecting. */
    private Channel channel;
    /** Older connections the server sent GoAway on, kept while their streams finish. */
    private final List<Channel> retiring = new ArrayList<>();
    private Future<Channel> pendingConnect;
    private ScheduledFuture<?> pendingReconnect;
    private boolean stopping;
    /**
     * The last connection ended with the server's GoAway: a token then rejected was regenerated or its tunnel deleted
     * (the server says GoAway to the clients of both), not mistyped.
     */
    private volatile boolean goneAwayBeforeConnecting;
    /**
     * A redial refused now is the server stopping after its GoAway: set with {@link #goneAwayBeforeConnecting}, but
     * cleared as well by an answer that says the server is back ({@link #endStop}), which does not make a later 401
     * any less a token changed since the GoAway.
     */
    private boolean refusalMeansStop;
    /** Why the server ended that connection, from its close frame; null when it did not say (an older server). */
    private TunnelCloseStatus goneAwayBecause;
    /**
     * The connection whose GoAway is not logged yet: the line waits for the server's close frame, which follows the
     * GoAway when the token was regenerated or the tunnel deleted, until the connection closes or the reconnection.
     */
    private Channel goAwayUnlogged;
    /** When a stop's grace period ends and the streams still open are reset; {@link #stopNow} runs it at once. */
    private ScheduledFuture<?> drainDeadline;
    private boolean stoppingNow;
    /** The server said it is stopping and its coming back is awaited: the WARN once that wait is over is not written. */
    private boolean restartAwaited;
    /** The server has drained for {@link Backoff#RESTART_WAIT} and still says it is stopping: the WARN is written. */
    private boolean longDrainWarned;

    public TunnelClient(ClientConfig config) {
        this(config, config.limits().yamux(), new Backoff());
    }

    TunnelClient(ClientConfig config, YamuxConfig yamuxConfig, Backoff backoff) {
        this(config, yamuxConfig, backoff, config.connectTimeout());
    }

    /** {@code connectTimeout}: see {@link TunnelConnector}; tests give it here, or in {@code config}. */
    TunnelClient(ClientConfig config, YamuxConfig yamuxConfig, Backoff backoff, Duration connectTimeout) {
        this(config, yamuxConfig, backoff, connectTimeout, TunnelConnector.HANDSHAKE_TIMEOUT);
    }

    /** {@code handshakeTimeout}: for TLS to the server and the upgrade together ({@link TunnelConnector}). */
    TunnelClient(ClientConfig config, YamuxConfig yamuxConfig, Backoff backoff, Duration connectTimeout,
                 Duration handshakeTimeout) {
        this.config = config;
        this.backoff = backoff;
        SslContext ssl = config.server().tls() ? sslContext(config.insecure()) : null;
        this.group = Transport.newEventLoopGroup(1, "picotunnel-client");
        this.targets = config.targetThreads() == 0 ? group
                : Transport.newEventLoopGroup(config.targetThreads(), "picotunnel-target");
        this.loop = group.next();
        this.resolver = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("picotunnel-resolve-", 0).factory());
        this.connector = new TunnelConnector(config, ssl, yamuxConfig, streamInitializer(),
                ClientIdentity.version(), ClientIdentity.hostname(), connectTimeout)
                .withHandshakeTimeout(handshakeTimeout);
    }

    /** The loop all connection state lives on (tests count what is scheduled on it). */
    EventLoop loop() {
        return loop;
    }

    private ChannelHandler streamInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel stream) {
                stream.config().setAutoRead(false);
                stream.pipeline().addLast(new StreamHeaderDecoder(),
                        new TargetDialer(config.allow(), config.dialTimeout(), resolver, targets, connectedTargets,
                                targetFailures));
            }
        };
    }

    private static SslContext sslContext(boolean insecure) {
        return sslContext(insecure, null);
    }

    /**
     * BoringSSL where its native library loads (the jar brings it for Linux x86-64), else the JDK's engine.
     * {@code trust}: the CAs to trust, null for the system's (tests name their own).
     */
    static SslContext sslContext(boolean insecure, TrustManagerFactory trust) {
        try {
            SslContextBuilder builder = SslContextBuilder.forClient();
            if (insecure) {
                builder.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
            } else {
                builder.trustManager(trust).endpointIdentificationAlgorithm("HTTPS");
            }
            return builder.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** Connects in the background; returns at once. */
    public void start() {
        synchronized (stateLock) {
            if (state != State.NEW) {
                throw new IllegalStateException("already started");
            }
            state = State.CONNECTING;
        }
        loop.execute(this::connect);
    }

    public State state() {
        return state;
    }

    /** Waits until the client is connected; false when it is not within {@code timeout} or has ended. */
    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stateLock) {
            while (state != State.CONNECTED) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || terminated.isDone()) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(stateLock, left);
            }
            return true;
        }
    }

    /**
     * Completes when the client has ended: normally after {@link #stop()}, exceptionally with
     * {@link TokenRejectedException} when the server rejected the token.
     */
    public CompletableFuture<Void> terminated() {
        return terminated;
    }

    /** Streams open right now, on the current connection and on those retiring (0 while disconnected). */
    public int activeStreams() {
        if (loop.inEventLoop()) {
            return countStreams();
        }
        try {
            return loop.submit(this::countStreams).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return 0;
        }
    }

    /** Connections open right now: the current one and those retiring after the server's GoAway. */
    public int openConnections() {
        if (loop.inEventLoop()) {
            return openChannels().size();
        }
        try {
            return loop.submit(() -> openChannels().size()).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return 0;
        }
    }

    private int countStreams() {
        int count = 0;
        for (Channel ch : openChannels()) {
            YamuxSession session = YamuxSession.of(ch);
            count += session == null ? 0 : session.activeStreams();
        }
        return count;
    }

    private List<Channel> openChannels() {
        List<Channel> open = new ArrayList<>(retiring);
        if (channel != null) {
            open.add(channel);
        }
        return open;
    }

    /** {@link #stop(Duration)} with the configured grace period. */
    public CompletableFuture<Void> stop() {
        return stop(config.shutdownGrace());
    }

    /**
     * Stops taking new streams (GoAway), lets open streams finish for up to {@code grace}, then closes the
     * connection and releases all threads. The future completes when everything is shut down.
     */
    public CompletableFuture<Void> stop(Duration grace) {
        if (loop.isShuttingDown()) {
            return terminated.handle((v, e) -> null);
        }
        try {
            loop.execute(() -> beginStop(grace));
        } catch (RejectedExecutionException stopped) {
            // A stop under way ended the loop between the check and now (close() while it stops): stopped already.
        }
        return terminated.handle((v, e) -> null);
    }

    /**
     * Ends the grace period of a stop at once (or stops with none): the streams still open are reset as at its end, and
     * the future of {@link #stop} completes once the connection is closed. For a second Ctrl-C.
     */
    public void stopNow() {
        if (loop.isShuttingDown()) {
            return;
        }
        try {
            loop.execute(this::stopNowOnLoop);
        } catch (RejectedExecutionException stopped) {
            // The loop ended meanwhile: stopped already.
        }
    }

    private void stopNowOnLoop() {
        stoppingNow = true;
        if (stopping) {
            if (drainDeadline != null && drainDeadline.cancel(false)) {
                endDrain();
            }
        } else {
            beginStop(Duration.ZERO);
        }
    }

    @Override
    public void close() {
        stop().orTimeout(config.shutdownGrace().toSeconds() + 10, TimeUnit.SECONDS).join();
    }

    private void connect() {
        if (stopping) {
            return;
        }
        // The GoAway line not written yet (no close frame said why) waits for this attempt's outcome, whether the old
        // connection carries streams or not: a new connection taken says the token still holds.
        setState(State.CONNECTING);
        pendingConnect = dial();
        // Listeners of the connect future and of the channel run on this same loop.
        Future<Channel> attempt = pendingConnect;
        attempt.addListener(f -> onConnectResult(attempt));
    }

    /**
     * The connector's attempt. One that throws before it is under way (a connect timeout past ClientConfig's checks,
     * as tests give one) fails as a dial does, retried after the backoff delay, instead of leaving the client
     * connecting for ever.
     */
    private Future<Channel> dial() {
        try {
            return connector.connect(loop, resolver);
        } catch (RuntimeException e) {
            return loop.newFailedFuture(e);
        }
    }

    private void onConnectResult(Future<Channel> result) {
        pendingConnect = null;
        if (result.isSuccess()) {
            Channel ch = result.getNow();
            if (stopping) {
                ch.close();
                return;
            }
            logGoAwayReconnected();
            channel = ch;
            goneAwayBeforeConnecting = false;
            refusalMeansStop = false;
            goneAwayBecause = null;
            restartAwaited = false;
            longDrainWarned = false;
            backoff.connected();
            LOG.info("connected to {}", config.server());
            setState(State.CONNECTED);
            ch.closeFuture().addListener(f -> onDisconnected(ch));
            YamuxSession session = YamuxSession.of(ch);
            if (session != null) {
                session.goAwayReceived().addListener((Future<GoAwayCode> code) -> onGoAway(ch, code.getNow()));
            }
            Future<TunnelCloseStatus> closeStatus = ServerCloseStatus.of(ch);
            if (closeStatus != null) {
                closeStatus.addListener((Future<TunnelCloseStatus> status) -> onCloseStatus(ch, status.getNow()));
            }
            return;
        }
        if (stopping) {
            return;
        }
        Throwable cause = result.cause();
        boolean stoppingAnswer = cause instanceof ConnectFailures.UpgradeRefusedException refused
                && refused.serverStopping();
        boolean refusedAfterGoAway = refusalMeansStop && ConnectFailures.connectionRefused(cause);
        boolean firstSignOfStop = !restartAwaited && !backoff.restartOverdue() && (stoppingAnswer || refusedAfterGoAway);
        // A stop answered after the WARN "still unreachable" is news too: the operator who read that must read it is back.
        boolean announceStop = firstSignOfStop || !restartAwaited && stoppingAnswer;
        if (firstSignOfStop || stoppingAnswer) {
            // Each answer that it still drains starts the wait for its restart over, however long the drain lasts
            // (its --shutdown-grace): not delays that grow as for one down, but its pace (Retry-After), slowed down
            // beyond the first minute (Backoff.LONG_DRAIN_MAX) so that a drain of hours is not redialled every 5 s.
            awaitRestart(stoppingAnswer);
        }
        if (ConnectFailures.answeredTooManyAttempts(cause)) {
            // Only a server that no longer drains checks the address's wrong tokens: it is back, its stop is over.
            endStop();
        }
        boolean goAwayLogged = logGoAway(stoppingAnswer, ConnectFailures.connectionRefused(cause));
        if (cause instanceof TokenRejectedException) {
            LOG.error(tokenRejectedLine());
            setState(State.TOKEN_REJECTED);
            shutDown(cause);
            return;
        }
        Duration serverWait = ConnectFailures.retryAfter(cause);
        boolean waitingForRestart = backoff.waitingForRestart();
        Duration delay = backoff.next(serverWait);
        if (waitingForRestart && stoppingAnswer && !longDrainWarned
                && backoff.stoppingFor().compareTo(Backoff.RESTART_WAIT) >= 0) {
            longDrainWarned = true;
            LOG.warn("the server at {} said it was stopping {} ago and still does: it waits for open streams to end, for"
                    + " up to its --shutdown-grace. Retrying in {}, then less often the longer it drains, up to {}"
                    + " apart (its Retry-After when longer), and every {} once it no longer answers so, until it is"
                    + " back.", config.server(), Durations.format(backoff.stoppingFor()), Durations.format(delay),
                    Durations.format(Backoff.LONG_DRAIN_MAX), Durations.format(Backoff.INITIAL));
        } else if (waitingForRestart) {
            logAttemptWhileRestarting(cause, serverWait, delay, announceStop && !goAwayLogged);
        } else if (restartAwaited) {
            restartAwaited = false;
            // The stop is over: a server that says it is stopping again later starts a new one, warned about anew.
            longDrainWarned = false;
            // A 429 here is a proxy's, or the server's too_many_connections: an answer, though no sign it is back.
            LOG.warn("cannot connect to {}: the server said it was stopping {} ago and {}: {}{} Retrying in {}, then less"
                    + " and less often.", config.server(), Durations.format(backoff.stoppingFor()),
                    ConnectFailures.answeredTooManyRequests(cause) ? "no answer since says it is back"
                            : "is still unreachable",
                    ConnectFailures.explain(config.server(), cause, connector.connectTimeout()), askedWait(serverWait),
                    Durations.format(delay));
        } else if (serverWait == null) {
            LOG.warn("cannot connect to {}: {} Retrying in {}.", config.server(),
                    ConnectFailures.explain(config.server(), cause, connector.connectTimeout()), Durations.format(delay));
        } else {
            LOG.warn("cannot connect to {}: {} {} asked to wait {} (Retry-After): retrying in {}.", config.server(),
                    ConnectFailures.explain(config.server(), cause, connector.connectTimeout()),
                    cause instanceof ConnectFailures.ProxyFailedException ? "The proxy" : "It",
                    Durations.format(serverWait), Durations.format(delay));
        }
        scheduleReconnect(delay);
    }

    /**
     * The error line of a 401, whose cause is told by what the server said before it: a close status that explains it
     * (a regenerated token, a deleted tunnel), or a GoAway (a token changed since it was accepted), or nothing (a token
     * perhaps mistyped).
     */
    private String tokenRejectedLine() {
        String setToken = Setting.TOKEN.flag() + " / " + Setting.TOKEN.envVar();
        if (goneAwayBecause != null && explains401(goneAwayBecause)) {
            return "the server at " + config.server() + " ended the connection (" + goneAwayBecause.description()
                    + ") and now rejects the token (HTTP 401)"
                    + (goneAwayBecause == TunnelCloseStatus.TUNNEL_DELETED ? "."
                            : ": set the new token in " + setToken + ".")
                    + " Not retrying.";
        }
        if (goneAwayBecause != null || goneAwayBeforeConnecting) {
            // The server stopped, or could not check the token (1011), or did not say why: none of them says why the
            // token is refused now.
            String closeStatus = goneAwayBecause == null ? ""
                    : " (close status " + goneAwayBecause.code() + ": " + goneAwayBecause.description() + ")";
            return "the server at " + config.server() + " ended the connection" + closeStatus + " and now rejects the "
                    + "token (HTTP 401): the tunnel's token was regenerated or the tunnel deleted. Set the new token in "
                    + setToken + ". Not retrying.";
        }
        return "the server at " + config.server() + " rejected the token (HTTP 401): check " + setToken + "; the token "
                + "may have been regenerated or the tunnel deleted. Not retrying.";
    }

    /**
     * The server said it is stopping: it is redialled every {@link Backoff#INITIAL} for {@link Backoff#RESTART_WAIT}, a
     * redial already put off further brought forward, as a server restarted (systemctl restart) is back within seconds.
     * {@code stillDraining}: it answered the redial that it drains (503 server_stopping), so the next is no sooner than
     * the pace of its drain.
     */
    private void awaitRestart(boolean stillDraining) {
        restartAwaited = true;
        if (stillDraining) {
            backoff.serverDraining();
        } else {
            backoff.serverStopping();
        }
        if (pendingReconnect != null && !pendingReconnect.isDone()
                && pendingReconnect.getDelay(TimeUnit.MILLISECONDS) > Backoff.INITIAL.toMillis()
                && pendingReconnect.cancel(false)) {
            scheduleReconnect(backoff.next());
        }
    }

    /**
     * A failed attempt while the server restarts is expected: at INFO when it is the first sign that the server stops,
     * or its answer that it stops after it was said to be still unreachable, and no GoAway line said so
     * ({@code announce}), else at DEBUG, so that a restart does not read like an outage.
     */
    private void logAttemptWhileRestarting(Throwable cause, Duration serverWait, Duration delay, boolean announce) {
        String explained = ConnectFailures.explain(config.server(), cause, connector.connectTimeout());
        String wait = askedWait(serverWait);
        if (!announce && ConnectFailures.answeredTooManyRequests(cause)) {
            // A proxy's 429, or the server's too_many_connections (answered while it drains too): not yet a sign that
            // it is back, nor a reason to warn about each of the restart's redials.
            LOG.debug("no answer yet says that the server at {} is back: {}{} Retrying in {}.", config.server(),
                    explained, wait, Durations.format(delay));
        } else if (!announce) {
            LOG.debug("the server at {} is not back yet: {}{} Retrying in {}.", config.server(), explained, wait,
                    Durations.format(delay));
        } else {
            LOG.info("the server at {} is stopping or restarting: {}{} Retrying in {}, then {}.", config.server(),
                    explained, wait, Durations.format(delay), restartRetries());
        }
    }

    /** " It asked to wait 2 s (Retry-After).", or nothing when it did not ask. */
    private static String askedWait(Duration serverWait) {
        return serverWait == null ? "" : " It asked to wait " + Durations.format(serverWait) + " (Retry-After).";
    }

    /**
     * The server answered as it does only once it is back (its 429 too_many_attempts): its stop, and the GoAway before
     * it, are over, so a redial refused later is a server down, not the same stop again, and the delays grow as at any
     * time.
     */
    private void endStop() {
        restartAwaited = false;
        longDrainWarned = false;
        refusalMeansStop = false;
        backoff.serverBack();
    }

    /** How the client redials while the server restarts, for the lines that say it is stopping. */
    private static String restartRetries() {
        return "every " + Durations.format(Backoff.INITIAL) + " for up to " + Durations.format(Backoff.RESTART_WAIT)
                + " while it restarts";
    }

    /** A close status that is itself why the token is refused: a regenerated token, a deleted tunnel. */
    private static boolean explains401(TunnelCloseStatus status) {
        return status == TunnelCloseStatus.TOKEN_REGENERATED || status == TunnelCloseStatus.TUNNEL_DELETED;
    }

    /**
     * The server will open no more streams on {@code ch}: connect anew (within a second, unless the connection before
     * also ended with a GoAway before it lasted: then after the next backoff delay, see {@link Backoff#afterGoAway}),
     * and keep {@code ch} until the server closes it or its last
     * stream ends, at most {@link #MAX_RETIRING} of them. Other codes end the session, and the disconnect
     * reconnects.
     */
    private void onGoAway(Channel ch, GoAwayCode code) {
        if (code != GoAwayCode.NORMAL || channel != ch || stopping) {
            return;
        }
        channel = null;
        goneAwayBeforeConnecting = true;
        refusalMeansStop = true;
        retiring.add(ch);
        if (retiring.size() > MAX_RETIRING) {
            // A server saying GoAway again and again while streams hang on: the oldest connections go, so their
            // number stays bounded.
            Channel oldest = retiring.getFirst();
            LOG.warn("{} old connections to {} still have open streams: closing the oldest", retiring.size(),
                    config.server());
            oldest.close();
        }
        Duration delay = backoff.afterGoAway(GO_AWAY_RECONNECT_JITTER);
        YamuxSession session = YamuxSession.of(ch);
        goAwayUnlogged = ch;
        scheduleReconnect(delay);
        if (session == null) {
            return;
        }
        if (session.activeStreams() == 0) {
            awaitServerClose(ch);
        } else {
            session.whenNoStreams(() -> closeIdle(ch));
        }
    }

    /**
     * Keeps {@code ch}, idle at the GoAway, until the server closes it, for the close frame that may follow, saying why:
     * read first, it names the cause in the GoAway line and after a 401. At most {@link #CLOSE_FRAME_WAIT}.
     */
    private void awaitServerClose(Channel ch) {
        ScheduledFuture<?> timeout = loop.schedule(() -> closeIdle(ch), CLOSE_FRAME_WAIT.toMillis(),
                TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(f -> timeout.cancel(false));
    }

    /** The server's close frame said why it ended {@code ch}: the GoAway line says so, and a 401 after it. */
    private void onCloseStatus(Channel ch, TunnelCloseStatus status) {
        if (status == TunnelCloseStatus.SERVER_STOPPING && channel == null && !stopping
                && (ch == goAwayUnlogged || retiring.contains(ch))) {
            // The server closes once this client's streams ended: from now on it may exit, and restart.
            awaitRestart(false);
        }
        if (ch == goAwayUnlogged) {
            goneAwayBecause = status;
            logGoAway();
        } else if (retiring.contains(ch)) {
            // Its GoAway was logged already (a stopping server closes once its grace period is over).
            if (channel == null) {
                goneAwayBecause = status;
            }
            String restarting = restartAwaited && backoff.waitingForRestart() ? "; reconnecting " + restartRetries() : "";
            LOG.info("the server at {} closed an old connection (close status {}: {}){}", config.server(), status.code(),
                    status.description(), restarting);
        }
    }

    private void logGoAway() {
        logGoAway(false, false);
    }

    /**
     * The line of the last GoAway, once: with the server's reason if its close frame came, or if it answered the
     * reconnection that it is stopping ({@code serverStopping}) or refused it at the TCP level ({@code refused}: nothing
     * listens on its port any more, as when it drains or its process is gone), else every cause.
     */
    private boolean logGoAway(boolean serverStopping, boolean refused) {
        Channel ch = goAwayUnlogged;
        if (ch == null) {
            return false;
        }
        goAwayUnlogged = null;
        YamuxSession session = YamuxSession.of(ch);
        int open = session == null || !ch.isActive() ? 0 : session.activeStreams();
        String reconnection = reconnection();
        String restarting = !restartAwaited || !backoff.waitingForRestart() || stopping ? ""
                : reconnection.isEmpty() ? "; reconnecting " + restartRetries() : ", then " + restartRetries();
        if (goneAwayBecause != null) {
            LOG.info("the server at {} ended this connection (GoAway, then close status {}: {}){}{}", config.server(),
                    goneAwayBecause.code(), goneAwayBecause.description(), reconnection, restarting);
        } else if (serverStopping) {
            LOG.info("the server at {} ended this connection (GoAway: it is stopping, as its answer to the new "
                    + "connection says){}; {} open stream(s) finish on the old connection{}", config.server(),
                    reconnection, open, restarting);
        } else if (refused) {
            LOG.info("the server at {} ended this connection (GoAway: it is stopping or stopped, as the new connection"
                    + " was refused){}; {} open stream(s) finish on the old connection{}", config.server(),
                    reconnection, open, restarting);
        } else {
            LOG.info("the server at {} ended this connection (GoAway: it is stopping, or the tunnel's token was "
                    + "regenerated or the tunnel deleted){}; {} open stream(s) finish on the old connection",
                    config.server(), reconnection, open);
        }
        return true;
    }

    /**
     * The GoAway line's word on the reconnection, which can come well after the GoAway: ": reconnecting in" the time
     * left, ": reconnecting now" once that is over, nothing once the reconnection's result is in (the next line says it).
     */
    private String reconnection() {
        if (pendingConnect != null) {
            return ": reconnecting now";
        }
        if (pendingReconnect == null || pendingReconnect.isDone()) {
            return "";
        }
        long left = TimeUnit.NANOSECONDS.toMillis(pendingReconnect.getDelay(TimeUnit.NANOSECONDS));
        return left <= 0 ? ": reconnecting now" : ": reconnecting in " + Durations.format(Duration.ofMillis(left));
    }

    /**
     * The line of the last GoAway, once, when the new connection was taken before the server said why it ended the old
     * one: its token still holds, so neither a regenerated token nor a deleted tunnel is the cause.
     */
    private void logGoAwayReconnected() {
        Channel ch = goAwayUnlogged;
        if (ch == null || goneAwayBecause != null) {
            logGoAway();
            return;
        }
        goAwayUnlogged = null;
        LOG.info("the server at {} ended the previous connection (GoAway) and accepted a new one{}", config.server(),
                carriesStreams(ch) ? "; " + YamuxSession.of(ch).activeStreams()
                        + " open stream(s) finish on the old connection" : "");
    }

    private static boolean carriesStreams(Channel ch) {
        YamuxSession session = ch == null ? null : YamuxSession.of(ch);
        return session != null && ch.isActive() && session.activeStreams() > 0;
    }

    /** Closes a retiring connection with no stream left on it (no new one can start after GoAway). */
    private void closeIdle(Channel ch) {
        if (!ch.isActive() || stopping) {
            return;
        }
        LOG.debug("the old connection to {} has no open streams left, closing it", config.server());
        ch.close();
    }

    private void onDisconnected(Channel ch) {
        if (ch == goAwayUnlogged && (stopping || !redialSoon())) {
            logGoAway();
        }
        if (retiring.remove(ch)) {
            if (stopping && channel == null && retiring.isEmpty()) {
                finishStop();
            }
            return;
        }
        if (channel != ch) {
            return;
        }
        channel = null;
        if (stopping) {
            if (retiring.isEmpty()) {
                finishStop();
            }
            return;
        }
        Duration delay = backoff.next();
        LOG.warn("disconnected from {}; reconnecting in {}", config.server(), Durations.format(delay));
        scheduleReconnect(delay);
    }

    /**
     * A redial is connecting, or due within {@link #GO_AWAY_RECONNECT_JITTER}: its outcome writes the GoAway line still
     * unwritten, that soon. A redial the backoff put off further (the server said GoAway again before the connection
     * lasted: up to {@link Backoff#MAX}) is not waited for, or the line would come that delay late.
     */
    private boolean redialSoon() {
        if (pendingConnect != null) {
            return true;
        }
        return pendingReconnect != null && !pendingReconnect.isDone()
                && pendingReconnect.getDelay(TimeUnit.MILLISECONDS) <= GO_AWAY_RECONNECT_JITTER.toMillis();
    }

    private void scheduleReconnect(Duration delay) {
        setState(State.WAITING_TO_RECONNECT);
        pendingReconnect = loop.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beginStop(Duration grace) {
        if (stopping) {
            return;
        }
        stopping = true;
        setState(State.STOPPING);
        if (pendingReconnect != null) {
            pendingReconnect.cancel(false);
        }
        if (pendingConnect != null) {
            pendingConnect.cancel(false);
        }
        // No redial's outcome will come to write it.
        logGoAway();
        List<Channel> open = openChannels();
        if (open.isEmpty()) {
            finishStop();
            return;
        }
        LOG.info("stopping: no new streams, waiting up to {} for {} open stream(s)", Durations.format(grace),
                countStreams());
        // First: closing the last idle connection below finishes the stop.
        drainDeadline = loop.schedule(this::endDrain, grace.toNanos(), TimeUnit.NANOSECONDS);
        for (Channel ch : open) {
            YamuxSession session = YamuxSession.of(ch);
            if (session == null || !ch.isActive()) {
                ch.close();
            } else {
                session.goAway(GoAwayCode.NORMAL);
                session.whenNoStreams(ch::close);
            }
        }
    }

    /**
     * The grace period is over: the streams still open are reset with {@link ResetReason#CLIENT_STOPPING}, so that the
     * server can tell their visitors the client stopped (a close alone would end them without a reason), and each
     * connection closes once those resets are written.
     */
    private void endDrain() {
        for (Channel ch : openChannels()) {
            YamuxSession session = YamuxSession.of(ch);
            if (!ch.isActive() || session == null || session.activeStreams() == 0) {
                ch.close();
                continue;
            }
            LOG.warn("{}, resetting {} open stream(s)", stoppingNow ? "stopping now" : "grace period over",
                    session.activeStreams());
            session.resetStreams(ResetReason.CLIENT_STOPPING).addListener(f -> ch.close());
        }
    }

    private void finishStop() {
        if (state == State.STOPPED) {
            return;
        }
        setState(State.STOPPED);
        if (drainDeadline != null) {
            drainDeadline.cancel(false);
        }
        LOG.info("stopped");
        shutDown(null);
    }

    private void shutDown(Throwable cause) {
        resolver.shutdownNow();
        // A group shutting down closes its channels, in no set order, before it runs the tasks queued on it: targets
        // still relayed (on a connection kept after GoAway when the token is then rejected, say) would read a clean
        // EOF, an upload cut short taken for a whole one. So they are reset first, then the groups shut down.
        for (Channel target : connectedTargets) {
            Relay.abortChannel(target);
        }
        if (targets != group) {
            connectedTargets.newCloseFuture().addListener(f -> targets.shutdownGracefully(0, 2, TimeUnit.SECONDS));
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).addListener(f -> {
            if (cause == null) {
                terminated.complete(null);
            } else {
                terminated.completeExceptionally(cause);
            }
        });
    }

    private void setState(State next) {
        synchronized (stateLock) {
            state = next;
            stateLock.notifyAll();
        }
    }
}
