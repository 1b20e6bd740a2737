package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.log.OncePerIntervalLog;
import io.picotunnel.protocol.net.OnLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.MAX_LENGTH_FIELD;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;

/**
 * A yamux session (hashicorp/yamux spec.md) on a Netty channel whose pipeline carries the raw yamux byte
 * stream as {@code ByteBuf} in both directions (a TCP socket, or a WebSocket behind a frame/ByteBuf adapter).
 * Add it as the last handler of the parent pipeline.
 *
 * <p>Every stream is a {@link YamuxStreamChannel}. Streams the peer opens get {@code inboundStreamHandler}
 * added to their pipeline (a {@code ChannelInitializer} or a {@code @Sharable} handler) and are registered
 * on the parent's event loop. A protocol error from the peer sends GoAway(PROTOCOL_ERROR) and closes the
 * parent channel; it never throws out of the pipeline.
 */
public final class YamuxSession extends ChannelDuplexHandler {

    private static final Logger log = LoggerFactory.getLogger(YamuxSession.class);

    /** How long a GoAway before close may take to be written before the parent is closed anyway. */
    private static final long GO_AWAY_CLOSE_GRACE_SECONDS = 5;
    /**
     * How often at most each WARN for streams reset at a buffer limit, or for frames that found no memory, is logged:
     * for all connections together (of the process, or of one server's --total-buffer-limit for that limit's WARN),
     * as a flood of connections would otherwise flood the log.
     */
    public static final Duration BUFFER_LIMIT_LOG_INTERVAL = Duration.ofMinutes(1);
    /** The WARN for streams reset at --session-buffer-limit, for all sessions of the process. */
    private static final OncePerIntervalLog SESSION_LIMIT_LOG = sessionLimitLog(System::nanoTime);

    /**
     * How long a stream's reader must have taken none of what it holds for that stream to be reset when another's
     * Data frame finds no memory to wait in: a reader between two reads is not stalled, however much it holds.
     */
    static final Duration STALLED_FOR_MEMORY = Duration.ofSeconds(1);

    /** Bytes of frames waiting for an unwritable parent beyond which the peer is considered not reading. */
    static final long CONTROL_BACKLOG_LIMIT = 4L * 1024 * 1024;

    @FunctionalInterface
    private interface FrameHandler {
        void handle(YamuxFrame frame);
    }

    private final YamuxRole role;
    private final YamuxConfig config;
    private final ChannelHandler inboundStreamHandler;
    /** session.go's handler table, indexed by frame type. */
    private final FrameHandler[] handlers = {
            this::onStreamFrame, // TYPE_DATA
            this::onStreamFrame, // TYPE_WINDOW_UPDATE
            this::onPing,        // TYPE_PING
            this::onGoAway,      // TYPE_GO_AWAY
    };
    private final IntObjectHashMap<YamuxChildChannel> streams = new IntObjectHashMap<>();
    /**
     * Streams ended on the wire (FIN both ways) whose readers have not taken all they hold: gone from
     * {@link #streams}, still counted in {@link #inboundHeld} and still the buffer limit's to reset.
     */
    private final HashSet<YamuxChildChannel> endedHolders = new HashSet<>();
    private final ArrayDeque<YamuxChildChannel> waitingForParent = new ArrayDeque<>();
    /** Streams whose callers were told "not writable" because of the parent; any thread adds, the loop drains. */
    private final Queue<YamuxChildChannel> parentBlocked = new ConcurrentLinkedQueue<>();
    private final Runnable wakeParentBlocked = this::wakeParentBlocked;
    private final ArrayDeque<YamuxChildChannel> readCompletePending = new ArrayDeque<>();
    private final PendingPings pings = new PendingPings();
    private final WindowBudget windowBudget;
    /** Smoothed round-trip time from answered pings, 0 until the first answer. */
    private volatile long rttNanos;
    private boolean rttProbed;
    private long keepAliveSentNanos;

    private volatile ChannelHandlerContext ctx;
    private volatile Promise<GoAwayCode> goAwayReceived;
    private volatile int activeStreams;
    private volatile long peakStreamBuffered;
    /** Bytes received on all streams and not yet taken by their readers (see YamuxChildChannel.heldBytes). */
    private long inboundHeld;
    private OncePerIntervalLog sessionLimitLog = SESSION_LIMIT_LOG;
    /** Shared with the process's other sessions; null when it has no limit. */
    private final TotalBufferBudget totalBudget;
    /** Of sessions holding as much of {@link #totalBudget}, the newer pays. */
    private final long budgetOrder;
    /** {@link #inboundHeld} for the other sessions' event loops, which compare it when the total is over. */
    private volatile long heldForBudget;
    /** This session's loop refused a reset for {@link #totalBudget} (shutting down): it is chosen no more. */
    private volatile boolean loopRefusedReset;
    private NoMemoryLog noMemoryLog = NoMemoryLog.PROCESS;
    /** Of the heap copies small frames wait in for their readers (YamuxChildChannel.queueForReader). */
    private ByteBufAllocator heapCopyAllocator = UnpooledByteBufAllocator.DEFAULT;
    private volatile boolean localGoAway;
    private volatile boolean remoteGoAway;
    private volatile boolean peerTakesNoStreamAfterItsGoAway;
    private long nextStreamId;
    private boolean closing;
    /** The connection is gone: streams that ended on the wire and still hold bytes are bounded only in time. */
    private boolean ended;
    private boolean inReadLoop;
    private boolean readBatchFallbackScheduled;
    private final Runnable readBatchFallback = () -> {
        readBatchFallbackScheduled = false;
        finishReadBatch();
    };
    private boolean flushPending;
    private boolean flushScheduled;
    private final Runnable scheduledFlush = () -> {
        flushScheduled = false;
        if (flushPending && !inReadLoop) {
            flushPending = false;
            ctx.flush();
        }
    };
    /** Run once no stream is open; see {@link #whenNoStreams}. */
    private final List<Runnable> noStreamsActions = new ArrayList<>();
    private ScheduledFuture<?> keepAliveTask;
    private boolean keepAliveOutstanding;
    private long keepAliveOpaque;

    /**
     * @param inboundStreamHandler added to every stream the peer opens; null refuses them all (RST)
     */
    public YamuxSession(YamuxRole role, YamuxConfig config, ChannelHandler inboundStreamHandler) {
        this.role = role;
        this.config = config;
        this.inboundStreamHandler = inboundStreamHandler;
        this.nextStreamId = role.firstStreamId();
        this.windowBudget = new WindowBudget(config.sessionWindowBudget());
        this.totalBudget = config.totalBufferBudget().bounded() ? config.totalBufferBudget() : null;
        this.budgetOrder = totalBudget == null ? 0 : totalBudget.nextOrder();
    }

    /** The session installed on {@code parent}, or null. */
    public static YamuxSession of(Channel parent) {
        return parent.pipeline().get(YamuxSession.class);
    }

    /**
     * Opens a stream (sends SYN) from any thread. {@code handler} is added to the stream's pipeline before
     * it is registered. The future completes once the stream is registered and may be written to (data
     * written before the peer's ACK is sent within the initial window); it fails when the session is
     * closed or going away, or the stream limit is reached.
     */
    public Future<YamuxStreamChannel> openStream(ChannelHandler handler) {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(
                    new StreamOpenException("the yamux session is not in a pipeline"));
        }
        Promise<YamuxStreamChannel> promise = c.executor().newPromise();
        OnLoop.run(c.executor(), () -> doOpenStream(handler, promise),
                () -> promise.tryFailure(new StreamOpenException("the yamux session is closed")));
        return promise;
    }

    /** Sends GoAway: no new streams in either direction, open streams go on until they end. */
    public void goAway(GoAwayCode code) {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            localGoAway = true;
            return;
        }
        OnLoop.run(c.executor(), () -> sendGoAway(code), () -> {
        });
    }

    /**
     * Resets every open stream with {@code reason} in its RST, for a side about to close the connection: the peer
     * learns why its streams end, where the close alone would end them without a word. Here they end as the close
     * would end them ({@link YamuxStreamChannel#sessionLost}), at once, however long the connection still lingers.
     * Completes (never fails) once the RSTs were written to the connection, or could not be: the moment to close it.
     * Called on the session's loop, the RSTs are written before it returns: what the caller writes next follows them.
     */
    public Future<Void> resetStreams(ResetReason reason) {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(null);
        }
        Promise<Void> written = c.executor().newPromise();
        OnLoop.run(c.executor(), () -> {
            for (YamuxChildChannel child : snapshotStreams()) {
                child.resetAsTheSessionEnds(reason);
            }
            // Behind the RSTs, in order: done once they are written.
            c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> written.trySuccess(null));
        }, () -> written.trySuccess(null));
        return written;
    }

    /** True once either side sent GoAway. */
    public boolean isGoingAway() {
        return localGoAway || remoteGoAway;
    }

    /**
     * Completes with the peer's GoAway code when it sends one (never fails; stays pending if the session
     * ends without it).
     */
    public Future<GoAwayCode> goAwayReceived() {
        Promise<GoAwayCode> p = goAwayReceived;
        if (p == null) {
            throw new IllegalStateException("the yamux session is not in a pipeline yet");
        }
        return p;
    }

    /**
     * Sends a ping and completes with the round-trip time (fails after the ping timeout). Cancelling the future
     * forgets the ping: a caller that gave up sooner leaves nothing waiting in the session.
     */
    public Future<Duration> ping() {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(
                    new IOException("the yamux session is not in a pipeline"));
        }
        Promise<Duration> promise = c.executor().newPromise();
        OnLoop.run(c.executor(), () -> sendPing(promise),
                () -> promise.tryFailure(new IOException("the yamux session is closed")));
        return promise;
    }

    public int activeStreams() {
        return activeStreams;
    }

    /** Pings sent with {@link #ping()} (or to measure the round trip) still waiting for an answer; read on the loop. */
    public int pendingPings() {
        return pings.size();
    }

    /**
     * Runs {@code action} on the session's loop once no stream is open: at once if none is, else when the last one
     * ends or the session does. For a side that sent or received GoAway, after which no stream opens, so that it can
     * close the connection when its streams are done without asking again and again.
     */
    public void whenNoStreams(Runnable action) {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            throw new IllegalStateException("the yamux session is not in a pipeline yet");
        }
        OnLoop.run(c.executor(), () -> {
            if (streams.isEmpty()) {
                action.run();
            } else {
                noStreamsActions.add(action);
            }
        }, action);
    }

    /**
     * The peer takes no stream after its GoAway, as this class refuses every SYN once it sent one: a stream we opened
     * that it had not acknowledged when the session ends after its GoAway went nowhere, and ends as refused
     * ({@link ResetReason#REFUSED_GOING_AWAY}). Not so by default: hashicorp/yamux still accepts, after its GoAway,
     * the streams waiting in its accept backlog and acknowledges them only then, so an ACK lost with the connection
     * may follow its GoAway while the stream's bytes already reached a target.
     */
    public void peerTakesNoStreamAfterItsGoAway() {
        peerTakesNoStreamAfterItsGoAway = true;
    }

    boolean peerTookNoStreamAfterItsGoAway() {
        return peerTakesNoStreamAfterItsGoAway && goAwayReceived.isSuccess();
    }

    /** The smoothed round-trip time measured with pings, or null before the first answer. */
    public Duration roundTripTime() {
        long rtt = rttNanos;
        return rtt == 0 ? null : Duration.ofNanos(rtt);
    }

    /**
     * The most bytes one stream of this session has held at once: received and not yet read by its reader,
     * plus written and not yet sent (writes on their way from other threads included). Bounded by the receive
     * window plus the write high-water mark (and what a writer hands over in one go) when readers and writers
     * respect flow control.
     */
    public long peakStreamBufferedBytes() {
        return peakStreamBuffered;
    }

    /**
     * Bytes of {@link YamuxConfig#sessionWindowBudget()} taken now by the growth of its streams' receive windows
     * (auto-tuning), each stream's given back when it ends: 0 once no grown stream is left. From any thread.
     */
    public long windowBudgetInUse() {
        return windowBudget.granted();
    }

    public Channel parent() {
        ChannelHandlerContext c = ctx;
        return c == null ? null : c.channel();
    }

    public YamuxRole role() {
        return role;
    }

    /** For tests: the next stream this side opens gets id {@code next} (of this side's parity). On the event loop. */
    void useStreamIdsFrom(long next) {
        if ((next & 1) != (role.firstStreamId() & 1) || next > MAX_LENGTH_FIELD) {
            throw new IllegalArgumentException("not a stream id of the " + role + " side: " + next);
        }
        nextStreamId = next;
    }

    // ---- pipeline events ----

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        goAwayReceived = ctx.executor().newPromise();
        if (totalBudget != null) {
            totalBudget.join(this);
        }
        ctx.pipeline().addBefore(ctx.name(), null, new YamuxFrameDecoder(config.maxDataFrame(), this::dataLimit));
        if (ctx.pipeline().get(EncodesYamuxFrames.class) == null) {
            ctx.pipeline().addBefore(ctx.name(), null, YamuxFrameEncoder.INSTANCE);
        }
        if (localGoAway) {
            localGoAway = false;
            if (ctx.channel().isActive()) {
                sendGoAway(GoAwayCode.NORMAL);
            }
        }
        if (ctx.channel().isActive()) {
            startKeepAlive();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        endSession("the yamux session was removed from its pipeline");
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        startKeepAlive();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        endSession("the yamux session's connection closed");
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof YamuxFrame frame)) {
            log.debug("{}: dropping a {} that is not a yamux frame", ctx.channel(), msg.getClass().getName());
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!inReadLoop) {
            inReadLoop = true;
            if (!readBatchFallbackScheduled) {
                // Should a handler in front of us fire channelRead without channelReadComplete, the flushes
                // and read completions held back for the batch still happen once this event-loop task ends.
                readBatchFallbackScheduled = true;
                ctx.executor().execute(readBatchFallback);
            }
        }
        try {
            if (!closing) {
                handlers[frame.type()].handle(frame);
            }
        } catch (YamuxProtocolException e) {
            protocolError(e.getMessage());
        } catch (RuntimeException e) {
            internalError(e);
        } finally {
            frame.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        finishReadBatch();
        ctx.fireChannelReadComplete();
    }

    private void finishReadBatch() {
        if (!inReadLoop) {
            return;
        }
        inReadLoop = false;
        YamuxChildChannel child;
        while ((child = readCompletePending.poll()) != null) {
            child.fireReadCompleteIfPending();
        }
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        YamuxChildChannel child;
        while (ctx.channel().isWritable() && (child = waitingForParent.poll()) != null) {
            child.onParentWritabilityChanged();
        }
        // Only streams that were refused because of the parent hear of it, not all of them.
        wakeParentBlocked();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof YamuxProtocolException) {
            protocolError(c.getMessage());
        } else if (c instanceof IOException) {
            log.debug("{}: connection error, closing the yamux session: {}", ctx.channel(), c.toString());
            closing = true;
            ctx.close();
        } else if (c instanceof DecoderException) {
            // Raised by a handler in front of us (the WebSocket layer, TLS): the peer's bytes make no sense.
            log.warn("{}: undecodable input from the peer, closing the yamux session: {}", ctx.channel(),
                    c.toString());
            closing = true;
            ctx.close();
        } else {
            internalError(c);
        }
    }

    // ---- frame handlers (session.go's handleStreamMessage, handlePing, handleGoAway) ----

    private void onStreamFrame(YamuxFrame frame) {
        int id = frame.streamId();
        int flags = frame.flags();
        YamuxChildChannel stream = streams.get(id);
        if (frame.hasFlag(FLAG_SYN)) {
            if (stream != null) {
                throw new YamuxProtocolException("duplicate SYN for open stream " + frame.unsignedStreamId());
            }
            stream = acceptStream(id);
            if (stream == null || stream.state().isTerminal()) {
                return;
            }
            flags &= ~FLAG_SYN;
        } else if (stream == null) {
            // As stream.go: a frame for a stream we no longer know (we may have sent RST) is dropped.
            log.trace("{}: dropping {} for an unknown stream", ctx.channel(), frame);
            return;
        }
        boolean isData = frame.type() == TYPE_DATA;
        StreamState.Transition t = stream.state().onFrame(flags, isData && frame.length() > 0, id);
        if (t.reset()) {
            // Ours: a WindowUpdate|RST may carry a ResetReason in its length (a Data frame's length is its payload).
            stream.onRemoteReset(isData ? ResetReason.NONE : ResetReason.of(frame.length()));
            return;
        }
        if (t.dataAfterFin()) {
            // Still within the window (beyond it is a protocol error, as in stream.go), then dropped with the stream.
            stream.receiveWindow().onData(frame.length(), id);
            log.debug("{}: data after FIN on stream {}, resetting the stream", ctx.channel(), frame.unsignedStreamId());
            stream.reset();
            return;
        }
        if (t.acknowledged()) {
            // Before the data the ACK came with: the stream's handlers learn it was taken, then what it says.
            stream.onAcknowledged();
        }
        if (isData) {
            if (frame.length() > 0) {
                stream.receiveWindow().onData(frame.length(), id);
                stream.onData(frame.payload().retain(), t.remoteFinished());
                if (inboundHeld > config.sessionBufferLimit()) {
                    resetStalledHolders();
                }
                if (totalBudget != null && totalBudget.over()) {
                    totalBudget.resetOnFullest(this);
                }
            }
        } else if (frame.length() > 0) {
            stream.onWindowUpdate(frame.length());
        }
        if (t.remoteFinished()) {
            stream.onRemoteFin();
        }
    }

    /**
     * How much a Data frame may carry, from its header (for {@link YamuxFrameDecoder}): a stream's receive window;
     * the initial window for one the frame opens; for a stream we no longer know, nothing to keep, since
     * {@link #onStreamFrame} would drop the frame (as stream.go discards its body).
     */
    private long dataLimit(int streamId, int flags) {
        if (closing) {
            return YamuxFrameDecoder.DataLimits.DISCARD;
        }
        YamuxChildChannel stream = streams.get(streamId);
        if (stream != null) {
            return stream.receiveWindow().window();
        }
        return (flags & FLAG_SYN) != 0 ? YamuxSpec.INITIAL_STREAM_WINDOW : YamuxFrameDecoder.DataLimits.DISCARD;
    }

    private void onPing(YamuxFrame frame) {
        if (frame.hasFlag(FLAG_SYN)) {
            writeFrame(YamuxFrame.ping(FLAG_ACK, frame.length()));
            flushSoon();
            return;
        }
        if (keepAliveOutstanding && frame.length() == keepAliveOpaque) {
            keepAliveOutstanding = false;
            onRoundTrip(nanoTime() - keepAliveSentNanos);
        }
        pings.answered(frame.length(), nanoTime());
    }

    private void onGoAway(YamuxFrame frame) {
        remoteGoAway = true;
        GoAwayCode code = GoAwayCode.of((int) frame.length());
        goAwayReceived.trySuccess(code);
        if (code == GoAwayCode.NORMAL) {
            log.debug("{}: the peer sent GoAway, no new streams", ctx.channel());
            return;
        }
        // As session.go: an error GoAway ends the session.
        log.warn("{}: the peer ended the yamux session with GoAway({}, code {})", ctx.channel(), code,
                frame.length());
        closing = true;
        ctx.close();
    }

    private YamuxChildChannel acceptStream(int id) {
        int peerParity = role == YamuxRole.SERVER ? 1 : 0;
        if (id == 0 || (id & 1) != peerParity) {
            throw new YamuxProtocolException("SYN for stream " + Integer.toUnsignedLong(id)
                    + ", which is not the peer's to open (" + role + " side)");
        }
        if (localGoAway) {
            // The peer opened it before it read our GoAway: it went nowhere, and the reason says the opener may
            // open it elsewhere.
            sendReset(id, ResetReason.REFUSED_GOING_AWAY);
            return null;
        }
        if (inboundStreamHandler == null) {
            sendReset(id, ResetReason.NONE);
            return null;
        }
        if (streams.size() >= config.maxStreams()) {
            log.debug("{}: refusing stream {}: {} streams open", ctx.channel(), Integer.toUnsignedLong(id),
                    streams.size());
            sendReset(id, ResetReason.REFUSED_STREAM_LIMIT);
            return null;
        }
        YamuxChildChannel child = new YamuxChildChannel(this, ctx.channel(), id, StreamState.inbound());
        addStream(child);
        child.sendOpeningFrame();
        try {
            child.register(inboundStreamHandler);
        } catch (RuntimeException e) {
            log.warn("{}: could not set up inbound stream {}, resetting it", ctx.channel(),
                    Integer.toUnsignedLong(id), e);
            child.reset();
        }
        return child;
    }

    // ---- local actions ----

    private void doOpenStream(ChannelHandler handler, Promise<YamuxStreamChannel> promise) {
        if (!promise.setUncancellable()) {
            return;
        }
        if (closing || !ctx.channel().isActive()) {
            promise.setFailure(new StreamOpenException("the yamux session is closed"));
            return;
        }
        if (isGoingAway()) {
            promise.setFailure(new StreamOpenException("the yamux session is going away (GoAway "
                    + (remoteGoAway ? "received" : "sent") + ")"));
            return;
        }
        if (streams.size() >= config.maxStreams()) {
            promise.setFailure(StreamOpenException.streamLimit(config.maxStreams()));
            return;
        }
        if (nextStreamId > MAX_LENGTH_FIELD) {
            promise.setFailure(new StreamOpenException("stream ids exhausted, open a new session"));
            return;
        }
        int id = (int) nextStreamId;
        nextStreamId += 2;
        YamuxChildChannel child = new YamuxChildChannel(this, ctx.channel(), id, StreamState.outbound());
        addStream(child);
        child.sendOpeningFrame();
        try {
            child.register(handler);
        } catch (RuntimeException e) {
            child.reset();
            promise.setFailure(e);
            return;
        }
        child.scheduleOpenTimeout(config.streamOpenTimeout().toNanos());
        if (nextStreamId > MAX_LENGTH_FIELD) {
            // Ids are never reused: without GoAway the session would look usable and refuse every stream from now on.
            // GoAway(normal) has the peer (our client) connect anew at once while the open streams finish here.
            log.info("{}: stream {} took the last stream id of this connection; sending GoAway so that the peer"
                    + " connects anew", ctx.channel(), Integer.toUnsignedLong(id));
            sendGoAway(GoAwayCode.NORMAL);
        }
        promise.setSuccess(child);
    }

    private void sendGoAway(GoAwayCode code) {
        if (localGoAway || closing) {
            return;
        }
        localGoAway = true;
        ctx.writeAndFlush(YamuxFrame.goAway(code));
    }

    private void sendPing(Promise<Duration> promise) {
        sendPing(promise, config.pingTimeout());
    }

    private void sendPing(Promise<Duration> promise, Duration timeout) {
        if (promise.isDone()) {
            return;
        }
        if (closing || !ctx.channel().isActive()) {
            promise.tryFailure(new IOException("the yamux session is closed"));
            return;
        }
        long opaque = pings.nextOpaque();
        ScheduledFuture<?> timer = ctx.executor().schedule(() -> pings.timedOut(opaque, timeout),
                timeout.toNanos(), TimeUnit.NANOSECONDS);
        pings.add(opaque, promise, nanoTime(), timer);
        promise.addListener(f -> {
            if (f.isSuccess()) {
                onRoundTrip(((Duration) f.getNow()).toNanos());
            } else if (f.isCancelled()) {
                pings.forget(opaque);
            }
        });
        writeFrame(YamuxFrame.ping(FLAG_SYN, opaque));
        flushSoon();
    }

    private void sendReset(int id, ResetReason reason) {
        writeFrame(YamuxFrame.windowUpdate(FLAG_RST, id, reason.code()));
        flushSoon();
    }

    private void startKeepAlive() {
        boolean keepAliveOn = !config.keepAliveInterval().isZero();
        if ((config.windowAutoTuning() || keepAliveOn) && !rttProbed && !closing) {
            // Window auto-tuning needs a round-trip estimate from the start, not after the first keepalive; with
            // keepalive on, a peer silent from the start is found after one wait, not two intervals, tuning or not.
            rttProbed = true;
            probeRoundTrip();
        }
        long nanos = config.keepAliveInterval().toNanos();
        if (keepAliveTask != null || nanos == 0 || closing) {
            return;
        }
        keepAliveTask = ctx.executor().scheduleAtFixedRate(this::keepAlive, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The start-up ping waits the ping timeout, or the keepalive interval if shorter. With keepalive on, a peer that
     * leaves it unanswered is as dead as one that misses a keepalive, and is closed at once, not a second interval
     * later; with keepalive off, only the estimate is missing.
     */
    private void probeRoundTrip() {
        Duration interval = config.keepAliveInterval();
        boolean keepAlive = !interval.isZero();
        Duration wait = keepAlive && interval.compareTo(config.pingTimeout()) < 0 ? interval : config.pingTimeout();
        Promise<Duration> probe = ctx.executor().newPromise();
        probe.addListener(f -> {
            if (f.isSuccess() || !keepAlive || closing) {
                return;
            }
            log.warn("{}: no answer to the start-up yamux ping within {}, closing the session", ctx.channel(),
                    Durations.format(wait));
            closeUnanswered();
        });
        sendPing(probe, wait);
    }

    private void keepAlive() {
        if (closing) {
            return;
        }
        if (keepAliveOutstanding) {
            log.warn("{}: no answer to the yamux keepalive ping within {}, closing the session", ctx.channel(),
                    Durations.format(config.keepAliveInterval()));
            closeUnanswered();
            return;
        }
        keepAliveOutstanding = true;
        keepAliveOpaque = pings.nextOpaque();
        keepAliveSentNanos = nanoTime();
        writeFrame(YamuxFrame.ping(FLAG_SYN, keepAliveOpaque));
        flushSoon();
    }

    /**
     * Ends the session of a peer that left a ping unanswered: GoAway(protocol error) first, so a peer that is only slow
     * learns why, then the close at once. Unlike {@link #goAwayAndClose} it does not wait for the GoAway to be
     * written: a dead peer's full buffers would hold the close back, and finding it dead is the point.
     */
    private void closeUnanswered() {
        closing = true;
        localGoAway = true;
        ctx.writeAndFlush(YamuxFrame.goAway(GoAwayCode.PROTOCOL_ERROR));
        ctx.close();
    }

    private void protocolError(String message) {
        if (closing) {
            return;
        }
        log.warn("{}: yamux protocol error from the peer: {}; sending GoAway and closing", ctx.channel(), message);
        goAwayAndClose(GoAwayCode.PROTOCOL_ERROR);
    }

    private void internalError(Throwable cause) {
        if (closing) {
            return;
        }
        if (cause instanceof OutOfMemoryError) {
            log.error("{}: out of memory: {}", ctx.channel(), memoryReport());
        }
        log.error("{}: internal error in the yamux session; sending GoAway and closing", ctx.channel(), cause);
        goAwayAndClose(GoAwayCode.INTERNAL_ERROR);
    }

    /** {@link #flowReport()} from any thread. */
    Future<String> flowReportSoon() {
        return ctx.executor().submit(this::flowReport);
    }

    /** Every stream's flow-control state and the parent's writability, for a diagnosis of a stall. On the event loop. */
    String flowReport() {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        StringBuilder report = new StringBuilder(ctx.channel() + " writable=" + ctx.channel().isWritable()
                + " waitingForParent=" + waitingForParent.size() + " parentBlocked=" + parentBlocked.size()
                + " flushPending=" + flushPending + " flushScheduled=" + flushScheduled + " inReadLoop=" + inReadLoop
                + (out == null ? "" : " parentOutbound=" + out.totalPendingWriteBytes() + " bytes, "
                        + out.size() + " flushed messages"));
        for (YamuxChildChannel stream : streams.values()) {
            report.append("\n  ").append(stream.flowState());
        }
        return report.toString();
    }

    /**
     * What this session's streams hold and where the JVM's direct memory stands, for the log of an out-of-memory
     * error: which of them held the memory is otherwise lost with the session. On the event loop.
     */
    String memoryReport() {
        long buffered = 0;
        long most = -1;
        int mostId = 0;
        for (YamuxChildChannel stream : streams.values()) {
            long bytes = stream.bufferedBytes();
            buffered += bytes;
            if (bytes > most) {
                most = bytes;
                mostId = stream.streamId();
            }
        }
        StringBuilder report = new StringBuilder();
        report.append(streams.size()).append(" streams hold ").append(buffered).append(" bytes");
        if (most >= 0) {
            report.append(" (stream ").append(mostId).append(": ").append(most).append(")");
        }
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                report.append("; JVM direct buffers: ").append(pool.getCount()).append(", ")
                        .append(pool.getMemoryUsed()).append(" bytes");
            }
        }
        if (ctx != null && ctx.alloc() instanceof ByteBufAllocatorMetricProvider provider) {
            report.append("; the channel's allocator: ").append(provider.metric().usedDirectMemory())
                    .append(" bytes direct");
        }
        return report.toString();
    }

    private void goAwayAndClose(GoAwayCode code) {
        closing = true;
        localGoAway = true;
        ChannelHandlerContext c = ctx;
        c.writeAndFlush(YamuxFrame.goAway(code)).addListener(ChannelFutureListener.CLOSE);
        c.executor().schedule(() -> {
            c.close();
        }, GO_AWAY_CLOSE_GRACE_SECONDS, TimeUnit.SECONDS);
    }

    private void endSession(String reason) {
        closing = true;
        if (keepAliveTask != null) {
            keepAliveTask.cancel(false);
            keepAliveTask = null;
        }
        pings.failAll(reason);
        List<YamuxChildChannel> children = snapshotStreams();
        streams.clear();
        activeStreams = 0;
        waitingForParent.clear();
        parentBlocked.clear();
        readCompletePending.clear();
        for (YamuxChildChannel child : children) {
            child.onSessionClosed();
        }
        ended = true;
        if (totalBudget != null && inboundHeld == 0) {
            totalBudget.leave(this);
        }
        runNoStreamsActions();
        for (YamuxChildChannel child : new ArrayList<>(endedHolders)) {
            child.watchReaderAfterSessionEnd();
        }
    }

    // ---- for the stream channels ----

    YamuxConfig config() {
        return config;
    }

    WindowBudget windowBudget() {
        return windowBudget;
    }

    long rttNanos() {
        return rttNanos;
    }

    long nanoTime() {
        return ctx.executor().ticker().nanoTime();
    }

    private void onRoundTrip(long sample) {
        if (sample <= 0) {
            sample = 1;
        }
        long previous = rttNanos;
        rttNanos = previous == 0 ? sample : (7 * previous + sample) / 8;
    }

    ChannelFuture writeFrame(YamuxFrame frame) {
        if (frame.type() != TYPE_DATA && controlBacklogExceeded()) {
            frame.release();
            return ctx.newFailedFuture(new IOException("the yamux peer does not read what we send"));
        }
        return ctx.write(frame);
    }

    /**
     * Data frames are only written while the parent is writable, but answers (pings, ACK, RST) are written
     * regardless. A peer that keeps asking while never reading would make them pile up: past a limit the
     * session is closed instead.
     */
    private boolean controlBacklogExceeded() {
        Channel parent = ctx.channel();
        // a closed parent has no outbound buffer (bytesBeforeWritable is Long.MAX_VALUE): its writes just fail
        if (!parent.isActive() || parent.isWritable() || parent.bytesBeforeWritable() <= CONTROL_BACKLOG_LIMIT) {
            return false;
        }
        if (!closing) {
            log.warn("{}: the peer does not read while {} bytes wait to be sent, closing the yamux session",
                    parent, parent.bytesBeforeWritable());
            closing = true;
            ctx.close();
        }
        return true;
    }

    /**
     * Flushes the parent at the end of the current read batch, or else once the event loop has handled the other
     * sockets that were ready with this one: streams fed by many sockets of one loop (visitors, targets) share one
     * write to the connection instead of one each. What made the parent unwritable goes out at once, so that bulk
     * streams do not stop and resume at every write.
     */
    void flushSoon() {
        flushPending = true;
        if (inReadLoop) {
            return;
        }
        if (!ctx.channel().isWritable()) {
            flushPending = false;
            ctx.flush();
            return;
        }
        if (flushScheduled) {
            return;
        }
        flushScheduled = true;
        try {
            ctx.executor().execute(scheduledFlush);
        } catch (RejectedExecutionException e) {
            flushScheduled = false;
            flushPending = false;
            ctx.flush();
        }
    }

    boolean inReadLoop() {
        return inReadLoop;
    }

    boolean parentWritable() {
        return ctx.channel().isWritable();
    }

    /** From any thread: {@code child} was refused because of the parent; wake it once the parent is writable. */
    void wakeWhenParentWritable(YamuxChildChannel child) {
        parentBlocked.add(child);
        ChannelHandlerContext c = ctx;
        if (c != null && c.channel().isWritable()) {
            // The parent drained between the caller's check and now: nobody else would wake the stream.
            OnLoop.run(c.executor(), wakeParentBlocked, () -> {
            });
        }
    }

    private void wakeParentBlocked() {
        YamuxChildChannel child;
        while (ctx.channel().isWritable() && (child = parentBlocked.poll()) != null) {
            child.onParentWritable();
        }
    }

    void awaitParentWritable(YamuxChildChannel child) {
        waitingForParent.add(child);
    }

    void notePeakStreamBuffered(long bytes) {
        if (bytes > peakStreamBuffered) {
            peakStreamBuffered = bytes;
        }
    }

    void inboundHeldChanged(long delta) {
        inboundHeld += delta;
        if (totalBudget != null) {
            heldForBudget = inboundHeld;
            totalBudget.changed(delta);
            if (ended) {
                // An ended session stays choosable while its streams that outlived it hold bytes.
                if (inboundHeld == 0) {
                    totalBudget.leave(this);
                } else {
                    totalBudget.join(this);
                }
            }
        }
    }

    long heldForBudget() {
        return heldForBudget;
    }

    long budgetOrder() {
        return budgetOrder;
    }

    /**
     * This session holds the most of {@link YamuxConfig#totalBufferBudget()}, which is over its limit, and the
     * budget's one pending reset is given to it: asks its event loop to reset its streams as
     * {@link #resetStalledHolders} does, as a task (never inside another session's frame, even on one loop). False
     * when the loop refused the task (shutting down): the budget then passes this session by.
     */
    boolean askResetForTotalBudget() {
        try {
            ctx.executor().execute(this::resetForTotalBudget);
            return true;
        } catch (RejectedExecutionException stopped) {
            loopRefusedReset = true;
            return false;
        }
    }

    /** Whether this session's loop refused a task of {@link #askResetForTotalBudget}: it would refuse the next. */
    boolean loopRefusedReset() {
        return loopRefusedReset;
    }

    /**
     * On this session's loop, the budget's pending reset being this session's: while the total is over its limit, if
     * this session holds the most, resets; else passes the reset on to the one that does (as a task, also should it be
     * this one again). Ends the reset otherwise, however it stops.
     */
    void resetForTotalBudget() {
        boolean passedOn = false;
        try {
            while (totalBudget.over()) {
                YamuxSession fullest = totalBudget.fullest();
                if (fullest == null) {
                    return; // none holds anything: the reset ends
                }
                if (fullest != this) {
                    passedOn = true;
                    totalBudget.passOn(null, fullest);
                    return;
                }
                YamuxChildChannel stalled = stalledLongest(streams.values(), stalledLongest(endedHolders, null));
                if (stalled == null) {
                    return;
                }
                logTotalBufferLimit(stalled);
                stalled.resetHoldingTooMuch();
            }
        } finally {
            if (!passedOn) {
                totalBudget.resetEnded();
            }
        }
    }

    /**
     * Bytes received on all streams and not yet taken by their readers (handlers' {@code countHeld} included):
     * what {@link YamuxConfig#sessionBufferLimit()} bounds. On the session's event loop (from elsewhere, ask
     * through {@code parent().eventLoop()}).
     */
    public long inboundHeld() {
        return inboundHeld;
    }

    /**
     * Resets streams that hold received bytes until the session holds no more than its limit: readers that do not
     * read (or a peer that opens streams only to fill them) must not take the process's memory. The first to go is
     * the one whose reader has gone longest without taking any of its data (ties: the one holding the most), not
     * the one holding the most: a healthy download with a large window may hold megabytes for a moment, while the
     * streams whose readers stopped keep theirs for good. Scans the streams, only when over.
     */
    private void resetStalledHolders() {
        while (inboundHeld > config.sessionBufferLimit()) {
            YamuxChildChannel stalled = stalledLongest(streams.values(), stalledLongest(endedHolders, null));
            if (stalled == null) {
                return;
            }
            logBufferLimit(stalled);
            stalled.resetHoldingTooMuch();
        }
    }

    private static YamuxChildChannel stalledLongest(Iterable<YamuxChildChannel> streams, YamuxChildChannel stalled) {
        for (YamuxChildChannel stream : streams) {
            if (stream.heldBytes() > 0 && (stalled == null || stream.stalledLongerThan(stalled))) {
                stalled = stream;
            }
        }
        return stalled;
    }

    /** Once per interval for all the sessions sharing the budget, apart from {@link #logBufferLimit}. */
    private void logTotalBufferLimit(YamuxChildChannel stream) {
        totalBudget.logReset(() -> resetLine(stream) + ", the most of all connections, which together hold %d bytes,"
                .formatted(totalBudget.held())
                + " over the limit of %d (--total-buffer-limit)".formatted(totalBudget.limit()));
    }

    /** Once per interval for all sessions of the process: each its own limit. */
    private void logBufferLimit(YamuxChildChannel stream) {
        warnOfReset(sessionLimitLog, () -> resetLine(stream)
                + ", over the limit of %d (--session-buffer-limit)".formatted(config.sessionBufferLimit()));
    }

    private String resetLine(YamuxChildChannel stream) {
        return "%s: resetting stream %d, whose reader has taken none of the %d bytes it holds for %s,"
                .formatted(ctx.channel(), Integer.toUnsignedLong(stream.streamId()), stream.heldBytes(),
                        Durations.format(Duration.ofNanos(stream.nanosWithoutReaderProgress())))
                + " the longest of the streams holding any: the streams of this connection hold %d bytes"
                .formatted(inboundHeld);
    }

    /**
     * {@code line} built and logged at WARN, with the number of resets not logged since the last, if {@code lines} had
     * none this interval; else only counted.
     */
    static void warnOfReset(OncePerIntervalLog lines, Supplier<String> line) {
        lines.warn(before -> line.get()
                + (before == 0 ? "" : " (" + before + " more streams reset for it since the last such line)")
                + "; logged at most once per " + Durations.format(lines.interval()) + " for all connections");
    }

    /** The limit on the --session-buffer-limit WARN, with {@code nanoTime} for its interval. */
    static OncePerIntervalLog sessionLimitLog(LongSupplier nanoTime) {
        return new OncePerIntervalLog(log, BUFFER_LIMIT_LOG_INTERVAL, nanoTime);
    }

    /** For tests: the limit on the --session-buffer-limit WARN, with its own clock, instead of the process's. */
    void sessionLimitLog(OncePerIntervalLog lines) {
        sessionLimitLog = lines;
    }

    /** For tests: the limit this session's --session-buffer-limit WARN goes through. */
    OncePerIntervalLog sessionLimitLog() {
        return sessionLimitLog;
    }

    void readCompleteLater(YamuxChildChannel child) {
        readCompletePending.add(child);
    }

    void streamEnded(YamuxChildChannel child) {
        if (streams.get(child.streamId()) == child) {
            streams.remove(child.streamId());
            activeStreams = streams.size();
        }
        if (child.isOpen() && child.heldBytes() > 0) {
            endedHolders.add(child);
        }
        if (streams.isEmpty()) {
            runNoStreamsActions();
        }
    }

    private void runNoStreamsActions() {
        if (noStreamsActions.isEmpty()) {
            return;
        }
        List<Runnable> actions = new ArrayList<>(noStreamsActions);
        noStreamsActions.clear();
        for (Runnable action : actions) {
            action.run();
        }
    }

    /** A stream that ended on the wire holding nothing began to hold bytes again (a handler's countHeld). */
    void endedStreamHolds(YamuxChildChannel child) {
        endedHolders.add(child);
        if (ended) {
            child.watchReaderAfterSessionEnd();
        }
    }

    /** The stream's channel closed and gave back all it held. */
    void streamClosed(YamuxChildChannel child) {
        if (!endedHolders.isEmpty()) {
            endedHolders.remove(child);
        }
    }

    void closeForLostOpeningFrame(YamuxChildChannel child, Throwable cause) {
        if (closing) {
            return;
        }
        log.warn("{}: the opening frame of stream {} could not be written, closing the yamux session: {}",
                ctx.channel(), Integer.toUnsignedLong(child.streamId()), String.valueOf(cause));
        closing = true;
        ctx.close();
    }

    void logStreamOpenTimeout(YamuxChildChannel child) {
        log.warn("{}: no ACK for stream {} within {}, resetting it", ctx.channel(),
                Integer.toUnsignedLong(child.streamId()), Durations.format(config.streamOpenTimeout()));
    }

    /**
     * Bytes whose sender saw its writes and its FIN go out complete are dropped: at WARN, once for the stream (it is
     * reset once); an ended session leaves no more such streams than it had holding data.
     */
    void logReaderStalledAfterSessionEnd(YamuxChildChannel child) {
        log.warn("{}: resetting stream {}, which outlived its session (its connection lost or ended): its reader (a"
                        + " target or visitor that stopped reading) took none of the {} bytes the stream still held"
                        + " within {}, so they are dropped and the reader sees a reset instead of the end of the data",
                ctx.channel(), Integer.toUnsignedLong(child.streamId()), child.heldBytes(),
                Durations.format(config.stalledReaderTimeout()));
    }

    /**
     * A Data frame of {@code length} bytes for {@code needing} found no memory to wait in for its reader, in a
     * {@code direct} buffer or on the heap: resets the other stream whose reader has taken nothing for longest, at
     * least {@link #STALLED_FOR_MEMORY}, among those whose reset gives back at once memory of that kind for it
     * ({@link YamuxChildChannel#givesBackAtOnce}: for a direct copy, a single queued direct copy at least as long),
     * so that the frame can be held in it. With a pooled allocator the retry can still fail (the pool need not hand
     * the memory given back to this allocation); the frame's own stream is then reset too. Returns what it was, for
     * the log, or null when there is none.
     */
    String resetStalledHolderForMemory(YamuxChildChannel needing, int length, boolean direct) {
        YamuxChildChannel stalled = null;
        for (Iterable<YamuxChildChannel> holders : List.of(streams.values(), endedHolders)) {
            for (YamuxChildChannel stream : holders) {
                if (stream != needing && stream.nanosWithoutReaderProgress() >= STALLED_FOR_MEMORY.toNanos()
                        && stream.givesBackAtOnce(length, direct)
                        && (stalled == null || stream.stalledLongerThan(stalled))) {
                    stalled = stream;
                }
            }
        }
        if (stalled == null) {
            return null;
        }
        String what = "stream " + Integer.toUnsignedLong(stalled.streamId()) + ", whose reader has taken none of the "
                + stalled.heldBytes() + " bytes it holds for "
                + Durations.format(Duration.ofNanos(stalled.nanosWithoutReaderProgress()));
        stalled.resetHoldingTooMuch();
        return what;
    }

    /**
     * At WARN, at most once per {@link #BUFFER_LIMIT_LOG_INTERVAL} for the whole process ({@link NoMemoryLog}):
     * direct memory runs out for all sessions at once, and every stream waiting for its reader may then lose a frame.
     */
    void logNoMemoryToHoldData(YamuxChildChannel child, int length, OutOfMemoryError cause, String freed,
            boolean held) {
        noMemoryLog.frameFoundNoMemory(() -> {
            String frame = "no memory to hold a Data frame of " + length + " bytes for stream "
                    + Integer.toUnsignedLong(child.streamId()) + " until its reader takes it (" + cause + ")";
            String what;
            if (held) {
                what = "resetting " + freed + ", the longest of this connection's whose reset gave enough back: "
                        + frame + "; the frame then found room";
            } else if (freed != null && !child.isOpen()) {
                what = "resetting " + freed + ", whose close closed stream " + Integer.toUnsignedLong(child.streamId())
                        + " too: " + frame;
            } else if (freed != null) {
                what = "resetting " + freed + ", then stream " + Integer.toUnsignedLong(child.streamId()) + ": "
                        + frame + ", nor once the other gave its memory back";
            } else {
                what = "resetting stream " + Integer.toUnsignedLong(child.streamId()) + ": " + frame
                        + "; no other stream's reader had stopped taking its data for "
                        + Durations.format(STALLED_FOR_MEMORY);
            }
            return ctx.channel() + ": " + what + "; the session goes on; " + memoryReport();
        });
    }

    /**
     * At WARN with its trace, at most once per {@link #BUFFER_LIMIT_LOG_INTERVAL} for the whole process
     * ({@link NoMemoryLog}): when direct memory runs out, the merge buffer of every stream writing then fails.
     */
    void logNoMemoryToSend(YamuxChildChannel child, OutOfMemoryError cause) {
        noMemoryLog.writeFoundNoMemory(() -> ctx.channel() + ": stream " + Integer.toUnsignedLong(child.streamId())
                + " reset: no memory to send a write (" + cause + "); the session goes on; " + memoryReport(), cause);
    }

    ByteBufAllocator heapCopyAllocator() {
        return heapCopyAllocator;
    }

    /** For tests: heap copies counted on their own, not with every other unpooled buffer in the process. */
    void heapCopyAllocator(ByteBufAllocator allocator) {
        heapCopyAllocator = allocator;
    }

    /** For tests: the limit on the no-memory WARNs, with its own clock, instead of the process's. */
    void noMemoryLog(NoMemoryLog log) {
        noMemoryLog = log;
    }

    void logLingerExpired(YamuxChildChannel child) {
        log.debug("{}: closed stream {} did not finish within {}, resetting it", ctx.channel(),
                Integer.toUnsignedLong(child.streamId()), Durations.format(config.closedStreamLinger()));
    }

    private void addStream(YamuxChildChannel child) {
        streams.put(child.streamId(), child);
        activeStreams = streams.size();
    }

    private List<YamuxChildChannel> snapshotStreams() {
        return new ArrayList<>(streams.values());
    }
}
