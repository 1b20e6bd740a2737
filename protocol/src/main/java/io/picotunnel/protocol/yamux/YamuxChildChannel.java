package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelId;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.DefaultChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.VoidChannelPromise;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.DefaultAttributeMap;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.buffer.NewBuffers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;

/**
 * A yamux stream as a Netty child channel (after codec-http2's {@code AbstractHttp2StreamChannel}). Everything
 * runs on the parent's event loop; only the flags read by {@link #isOpen()}, {@link #isWritable()} and friends
 * are volatile.
 */
final class YamuxChildChannel extends DefaultAttributeMap implements YamuxStreamChannel {

    /**
     * Largest Data frame payload we send. Each frame costs a pass through both pipelines on each side, so bulk
     * transfers want them large: at 16 KiB a 64 KiB read made four frames, and one stream over the tunnel spent
     * 8% more of the server's event-loop time per byte (bench/README.md). Streams still interleave, one frame at a
     * time, and a hashicorp/yamux peer accepts a frame as large as the window it granted (256 KiB by default).
     */
    static final int MAX_DATA_CHUNK = 64 * 1024;

    /**
     * Received frames smaller than this that wait for the reader are appended to the last waiting buffer, so a
     * window full of tiny frames costs a few buffers, not one per frame.
     */
    static final int COALESCE_LIMIT = 16 * 1024;

    private static final AtomicLongFieldUpdater<YamuxChildChannel> PENDING_FROM_OTHER_THREADS =
            AtomicLongFieldUpdater.newUpdater(YamuxChildChannel.class, "pendingFromOtherThreads");
    private static final AtomicIntegerFieldUpdater<YamuxChildChannel> PARENT_BLOCKED =
            AtomicIntegerFieldUpdater.newUpdater(YamuxChildChannel.class, "parentBlocked");

    private static final Logger log = LoggerFactory.getLogger(YamuxChildChannel.class);
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final YamuxSession session;
    private final Channel parent;
    private final int streamId;
    private final StreamState state;
    private final ReceiveWindow receiveWindow;
    private final YamuxStreamChannelId channelId;
    private final DefaultChannelPipeline pipeline;
    private final DefaultChannelConfig config;
    private final ChildUnsafe unsafe = new ChildUnsafe();
    private final VoidChannelPromise unsafeVoidPromise;
    private final ChannelPromise closePromise;
    private final OutboundQueue outbound = new OutboundQueue();
    private final ArrayDeque<ByteBuf> inbound = new ArrayDeque<>(4);
    /** The last buffer of {@link #inbound} is our own copy, so more small frames may be appended to it. */
    private boolean inboundTailOwned;
    private final Runnable afterUnwritableFromOtherThread = this::afterUnwritableFromOtherThread;

    private long sendWindow = YamuxSpec.INITIAL_STREAM_WINDOW;
    private volatile boolean registered;
    private volatile boolean open = true;
    /** This stream's own writability (queue, window, open); {@link #isWritable()} also asks the parent. */
    private volatile boolean writable = true;
    /** 1 while this stream waits in the session's queue for the parent to turn writable. */
    private volatile int parentBlocked;
    /** Writes queued from other threads that have not reached this stream's event loop yet, in bytes. */
    private volatile long pendingFromOtherThreads;
    /** {@link OutboundQueue#bytes()} as last seen on the event loop, for writers on other threads. */
    private volatile long queuedOutboundBytes;
    /** The writability last announced with channelWritabilityChanged (event loop only). */
    private boolean announcedWritable = true;
    /** Most bytes this stream held at once: received and not delivered plus written and not sent. */
    private long peakBufferedBytes;
    /** When a data frame or window update last went either way, or the channel closed; the linger counts from it. */
    private long lastProgressNanos;
    /**
     * When the reader last took bytes, or what this stream holds went from none to some, whichever is later: the
     * session buffer limit resets the holder whose reader has gone longest without taking any of its data.
     */
    private long readerProgressNanos;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private volatile boolean reset;
    private volatile ResetReason peerResetReason = ResetReason.NONE;
    /** The write of our SYN failed: the connection closed before it left. */
    private volatile boolean synNeverSent;
    /** This side reset the stream: the peer did not acknowledge it within the stream open timeout. */
    private volatile boolean openTimedOut;
    /** The session ended while this stream was open, the peer having sent neither FIN nor RST on it. */
    private volatile boolean sessionLost;

    private boolean queueOverHighWaterMark;
    private boolean finPending;
    private ChannelPromise finPromise;
    private boolean finReceived;
    private boolean readRequested;
    /**
     * A read() served during the session's read batch stays open until the batch ends, as a socket's read takes
     * every byte at hand: frames of the same batch go to the reader as they arrive instead of waiting (copied)
     * for the read() that the reader's channelReadComplete would ask for.
     */
    private boolean readOpenForBatch;
    private boolean delivering;
    private boolean readCompletePending;
    private boolean readCompleteQueued;
    /** Bytes in {@link #inbound}. */
    private long inboundBytes;
    /** Bytes handlers of this stream hold for later ({@link #countHeld}). */
    private long handlerHeldBytes;
    private boolean waitingForParent;
    private boolean removed;
    private ScheduledFuture<?> timer;

    YamuxChildChannel(YamuxSession session, Channel parent, int streamId, StreamState state) {
        this.session = session;
        this.parent = parent;
        this.streamId = streamId;
        this.state = state;
        YamuxConfig yamuxConfig = session.config();
        this.receiveWindow = new ReceiveWindow(yamuxConfig.maxStreamWindow(), yamuxConfig.windowAutoTuning(),
                session.windowBudget());
        this.channelId = new YamuxStreamChannelId(parent.id(), streamId);
        this.pipeline = new DefaultChannelPipeline(this) {
            // A write from another thread travels to the event loop as a task; as AbstractHttp2StreamChannel
            // does, count it against the watermark at once, or a writer on another loop never sees the stream
            // turn unwritable and buffers without bound.
            @Override
            protected void incrementPendingOutboundBytes(long size) {
                onWriteFromOtherThread(size);
            }

            @Override
            protected void decrementPendingOutboundBytes(long size) {
                onWriteFromOtherThread(-size);
            }
        };
        this.config = new DefaultChannelConfig(this);
        int high = yamuxConfig.writeBufferHighWaterMark();
        config.setWriteBufferWaterMark(new WriteBufferWaterMark(high / 2, high));
        this.unsafeVoidPromise = new VoidChannelPromise(this, false);
        this.closePromise = pipeline.newPromise();
    }

    // ---- YamuxStreamChannel ----

    @Override
    public int streamId() {
        return streamId;
    }

    @Override
    public YamuxSession session() {
        return session;
    }

    @Override
    public ChannelFuture shutdownOutput() {
        ChannelPromise promise = newPromise();
        runOnLoop(() -> doShutdownOutput(promise));
        return promise;
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown;
    }

    @Override
    public boolean isInputShutdown() {
        return inputShutdown;
    }

    @Override
    public ChannelFuture reset(ResetReason reason) {
        ChannelPromise promise = newPromise();
        runOnLoop(() -> {
            sendReset(reason);
            closeChannel();
            promise.trySuccess();
        });
        return promise;
    }

    @Override
    public boolean isReset() {
        return reset;
    }

    @Override
    public ResetReason peerResetReason() {
        return peerResetReason;
    }

    @Override
    public boolean synNeverSent() {
        return synNeverSent;
    }

    @Override
    public Duration openTimeout() {
        return session.config().streamOpenTimeout();
    }

    @Override
    public boolean openTimedOut() {
        return openTimedOut;
    }

    @Override
    public boolean sessionLost() {
        return sessionLost;
    }

    // ---- Channel ----

    @Override
    public ChannelId id() {
        return channelId;
    }

    @Override
    public EventLoop eventLoop() {
        return parent.eventLoop();
    }

    @Override
    public Channel parent() {
        return parent;
    }

    @Override
    public ChannelConfig config() {
        return config;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isRegistered() {
        return registered;
    }

    @Override
    public boolean isActive() {
        return open;
    }

    /**
     * Writable while its own queue and window allow it and the parent is writable. A caller told "no" because of
     * the parent hears channelWritabilityChanged once the parent drains: only streams that asked are woken, so
     * the parent's writability changes cost nothing for the others.
     */
    @Override
    public boolean isWritable() {
        if (!writable) {
            return false;
        }
        if (session.parentWritable()) {
            return true;
        }
        if (PARENT_BLOCKED.compareAndSet(this, 0, 1)) {
            session.wakeWhenParentWritable(this);
        }
        return false;
    }

    /** The parent turned writable: tell the pipeline, if this stream is writable itself. On the event loop. */
    void onParentWritable() {
        parentBlocked = 0;
        if (open && registered && writable) {
            pipeline.fireChannelWritabilityChanged();
        }
    }

    @Override
    public long bytesBeforeUnwritable() {
        long bytes = config.getWriteBufferHighWaterMark() - heldForWriting() + 1;
        return bytes > 0 && writable ? bytes : 0;
    }

    @Override
    public long bytesBeforeWritable() {
        long bytes = heldForWriting() - config.getWriteBufferLowWaterMark() + 1;
        return bytes <= 0 || writable ? 0 : bytes;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    public SocketAddress localAddress() {
        return parent.localAddress();
    }

    @Override
    public SocketAddress remoteAddress() {
        return parent.remoteAddress();
    }

    @Override
    public ChannelFuture closeFuture() {
        return closePromise;
    }

    @Override
    public Unsafe unsafe() {
        return unsafe;
    }

    @Override
    public ChannelPipeline pipeline() {
        return pipeline;
    }

    @Override
    public int hashCode() {
        return channelId.hashCode();
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int compareTo(Channel o) {
        return this == o ? 0 : id().compareTo(o.id());
    }

    @Override
    public String toString() {
        return "[yamux stream " + Integer.toUnsignedString(streamId) + " of " + parent + ']';
    }

    // ---- called by the session, on the event loop ----

    StreamState state() {
        return state;
    }

    ReceiveWindow receiveWindow() {
        return receiveWindow;
    }

    /** Bytes received and not yet delivered to the pipeline (at most one window). */
    long inboundQueuedBytes() {
        return inboundBytes;
    }

    /**
     * Whether closing this stream gives back at once the memory a copy of {@code length} bytes needs: for a direct
     * copy, one direct copy queued here at least that long, as with a pooled allocator (Netty 4.2's default) smaller
     * ones go back to their own size classes, not to memory one larger allocation can take (even then the pool may
     * not hand it out again); for a heap copy, heap copies queued here of at least that many bytes in all. What
     * handlers hold ({@link #countHeld}) goes back only later, if at all.
     */
    boolean givesBackAtOnce(int length, boolean direct) {
        long heapBytes = 0;
        for (ByteBuf queued : inbound) {
            if (direct && queued.isDirect() && queued.readableBytes() >= length) {
                return true;
            }
            if (!direct && !queued.isDirect()) {
                heapBytes += queued.readableBytes();
            }
        }
        return !direct && heapBytes >= length;
    }

    /** Bytes received and not yet taken by the reader: queued here, or held by a handler ({@link #countHeld}). */
    long heldBytes() {
        return inboundBytes + handlerHeldBytes;
    }

    /**
     * Whether this stream's reader has gone longer than {@code other}'s without taking any of its data, or as long
     * and it holds more. For the session buffer limit, among streams that hold something.
     */
    boolean stalledLongerThan(YamuxChildChannel other) {
        long sooner = other.readerProgressNanos - readerProgressNanos;
        return sooner != 0 ? sooner > 0 : heldBytes() > other.heldBytes();
    }

    /** Nanoseconds since this stream's reader last took bytes or it began to hold some. */
    long nanosWithoutReaderProgress() {
        return eventLoop().ticker().nanoTime() - readerProgressNanos;
    }

    @Override
    public void countHeld(long delta) {
        if (!eventLoop().inEventLoop()) {
            eventLoop().execute(() -> countHeld(delta));
            return;
        }
        if (!open) {
            // closeChannel gave back all this stream held.
            return;
        }
        boolean heldNothing = heldBytes() == 0;
        if (delta < 0 || heldNothing) {
            // A handler passed bytes on, or began to hold some while nothing else waits.
            readerProgressNanos = eventLoop().ticker().nanoTime();
        }
        handlerHeldBytes += delta;
        session.inboundHeldChanged(delta);
        if (removed && heldNothing && delta > 0) {
            // Ended on the wire while holding nothing: no longer among the session's streams, yet the limit must
            // see what it holds now.
            session.endedStreamHolds(this);
        }
    }

    /** Adds {@code handler} and fires channelRegistered / channelActive (which starts reading when autoRead). */
    void register(ChannelHandler handler) {
        pipeline.addLast(handler);
        registered = true;
        pipeline.fireChannelRegistered();
        if (open) {
            pipeline.fireChannelActive();
        }
    }

    /** Sends the first frame of the stream: WindowUpdate with SYN or ACK (and the initial window delta). */
    void sendOpeningFrame() {
        int flags = state.takeSendFlags();
        session.writeFrame(YamuxFrame.windowUpdate(flags, streamId,
                receiveWindow.takeInitialDelta())).addListener(f -> {
                    if (!f.isSuccess()) {
                        synNeverSent = (flags & FLAG_SYN) != 0;
                        // The session goes with it: a GoAway written after a lost ACK would let the peer take the
                        // stream, unacknowledged, for refused and open it again elsewhere although we have it.
                        session.closeForLostOpeningFrame(this, f.cause());
                    }
                });
        session.flushSoon();
    }

    /**
     * Over the session's buffer limit: RST saying so, and the channel closes with what it held. A stream already
     * ended on the wire (FIN both ways) sends nothing, but its reader is told, as with a reset, that data was lost.
     */
    void resetHoldingTooMuch() {
        if (removed) {
            reset = true;
        }
        sendReset(ResetReason.BUFFER_LIMIT);
        closeChannel();
    }

    void scheduleOpenTimeout(long nanos) {
        if (!open || removed) {
            return;
        }
        timer = eventLoop().schedule(() -> {
            if (state.awaitingAck() && !removed) {
                session.logStreamOpenTimeout(this);
                openTimedOut = true;
                sendReset();
                closeChannel();
            }
        }, nanos, TimeUnit.NANOSECONDS);
    }

    /** @param finishes the frame also carries FIN, so the peer sends nothing more anyway */
    void onData(ByteBuf data, boolean finishes) {
        if (!open) {
            // Data after our close() is refused with RST: the application is gone.
            data.release();
            if (!finishes) {
                sendReset();
            }
            return;
        }
        noteProgress();
        if (heldBytes() == 0) {
            readerProgressNanos = lastProgressNanos;
        }
        int length = data.readableBytes();
        if (inbound.isEmpty() && !delivering && readerWants()) {
            inbound.add(data);
            inboundTailOwned = false;
        } else if (!heldForReader(data)) {
            if (open) {
                resetForLostData();
            } else if (!reset && !finishes) {
                // Closed by a listener of the stalled stream's reset (close(): FIN only): the peer learns the
                // frame was dropped for want of memory, as when the stream is reset for it while open.
                sendReset(ResetReason.BUFFER_LIMIT);
            }
            return;
        }
        // Counted once held: a frame that could not be copied is no longer anywhere.
        inboundBytes += length;
        session.inboundHeldChanged(length);
        notePeak();
        deliverInbound();
    }

    /**
     * Copies {@code data} to wait for its reader, and releases it. When the copy finds no memory (direct memory at
     * its cap, most likely), the session's stream whose reader stopped longest among those whose reset gives back
     * enough memory of the kind the copy needs at once gives it back, if another's, and the copy is tried once
     * more. False: the frame is lost (and this stream may have been closed meanwhile, by a listener of that reset).
     */
    private boolean heldForReader(ByteBuf data) {
        int length = data.readableBytes();
        try {
            queueForReader(data);
            return true;
        } catch (OutOfMemoryError e) {
            String freed = session.resetStalledHolderForMemory(this, length, length >= COALESCE_LIMIT);
            // open: the reset's close listeners may have closed this stream too, which then holds nothing more.
            boolean held = freed != null && open && retryQueueForReader(data);
            session.logNoMemoryToHoldData(this, length, e, freed, held);
            return held;
        } finally {
            // Also when a copy fails: the slice would pin the parent's read buffer.
            data.release();
        }
    }

    private boolean retryQueueForReader(ByteBuf data) {
        try {
            queueForReader(data);
            return true;
        } catch (OutOfMemoryError e) {
            return false;
        }
    }

    /** RST saying the data could not be held (unless the stream already ended on the wire); the reader sees a reset. */
    private void resetForLostData() {
        reset = true;
        sendReset(ResetReason.BUFFER_LIMIT);
        closeChannel();
    }

    /**
     * A buffer that waits for a slow reader is copied out of the parent's read buffer, so the memory held is what
     * the window allows, not the larger buffers the slices would keep alive; small ones join the last copy.
     * {@code data} stays the caller's to release; a copy that fails leaves the queue as it was, the new buffer
     * released.
     */
    private void queueForReader(ByteBuf data) {
        int length = data.readableBytes();
        if (length >= COALESCE_LIMIT) {
            // Pooled and direct, of exactly its size and never appended to: a socket writes it without copying
            // it again, and a bulk transfer to a slower target does not fill the heap with short-lived arrays
            // (with heap copies, 87% of the client's allocation under iperf3, and young collections every 50 ms).
            inbound.add(filled(alloc().directBuffer(length, length), data));
            inboundTailOwned = false;
            return;
        }
        ByteBuf tail = inboundTailOwned ? inbound.peekLast() : null;
        if (tail != null && tail.readableBytes() + length <= COALESCE_LIMIT) {
            tail.writeBytes(data);
            return;
        }
        // Heap copies outside the pool, as they are appended to: in a stress test (CrossLoopBackpressureTest)
        // pooled copies that later frames were appended to showed duplicated bytes at the far end; the cause is
        // not understood yet.
        inbound.add(filled(session.heapCopyAllocator().heapBuffer(Math.max(length, 256), COALESCE_LIMIT), data));
        inboundTailOwned = true;
    }

    /** {@code copy} with {@code data}'s readable bytes written to it; released if the copy fails. */
    private static ByteBuf filled(ByteBuf copy, ByteBuf data) {
        return NewBuffers.filled(copy, data, (to, from) -> to.writeBytes(from));
    }

    void onAcknowledged() {
        // The open timeout only matters until the ACK.
        if (timer != null && open) {
            timer.cancel(false);
            timer = null;
        }
        if (open && registered) {
            pipeline.fireUserEventTriggered(StreamAcknowledgedEvent.INSTANCE);
        }
    }

    void onRemoteFin() {
        finReceived = true;
        maybeDeliverEof();
        endIfTerminal();
    }

    void onRemoteReset(ResetReason reason) {
        // A refusal is only one before the ACK: a stream the peer acknowledged may have reached its target, and must
        // not be opened again elsewhere.
        peerResetReason = reason.refused() && !state.resetUnacknowledged() ? ResetReason.NONE : reason;
        if (reason == ResetReason.NONE && state.resetUnacknowledged() && session.goAwayReceived().isSuccess()) {
            // Reset at its SYN after the peer's GoAway, with no reason: hashicorp/yamux refuses every SYN so once it
            // sent GoAway (it has no reason codes), and an RST before the ACK means its application never took it.
            peerResetReason = ResetReason.REFUSED_GOING_AWAY;
        }
        reset = true;
        dropOutbound(new StreamResetException("stream " + Integer.toUnsignedString(streamId)
                + " was reset by the peer"));
        endIfTerminal();
        closeChannel();
    }

    void onWindowUpdate(long delta) {
        if (open || finPending || !outbound.isEmpty()) {
            // Credit is progress only while there is something to send with it: a peer that never sends FIN
            // must not keep a stream we closed, with nothing left to send, from its linger's reset.
            noteProgress();
        }
        sendWindow += delta;
        writePending();
    }

    /**
     * The session ended: the stream is reset, never closed as if complete, so relays abort the far side
     * (RST) instead of passing on a clean end of data.
     */
    void onSessionClosed() {
        if (state.unacknowledged() && session.peerTookNoStreamAfterItsGoAway()) {
            // The peer said GoAway and closed without taking the stream (an ACK it sent would have come before its
            // GoAway): as if it had refused it at its SYN, so that the opener may open it on another session.
            peerResetReason = ResetReason.REFUSED_GOING_AWAY;
        }
        // A FIN that came before is the peer's end, whatever the session did next.
        sessionLost = !finReceived && !reset;
        state.onLocalReset();
        reset = true;
        removed = true;
        receiveWindow.release();
        cancelTimer();
        dropOutbound(new StreamResetException("yamux session closed"));
        closeChannel();
    }

    /**
     * The session resets its streams as its side ends the connection ({@link YamuxSession#resetStreams}): RST with
     * {@code reason} to the peer, and for this side's handlers the end of a lost session ({@link #sessionLost}), which
     * is what the close right behind would have given them.
     */
    void resetAsTheSessionEnds(ResetReason reason) {
        sessionLost = !finReceived && !reset;
        sendReset(reason);
        closeChannel();
    }

    /**
     * The session ended while this stream, ended on the wire, is open for its reader: what it holds is complete and
     * stays the reader's while the reader takes it. A reader that takes none of it for the stalled reader timeout
     * loses it (reset, the bytes released): no session limit bounds the stream any more, and each lost session could
     * leave up to its whole buffer limit held for good by readers that never read (a target or visitor that stalled).
     */
    void watchReaderAfterSessionEnd() {
        if (open && timer == null) {
            scheduleReaderCheck(session.config().stalledReaderTimeout().toNanos());
        }
    }

    private void scheduleReaderCheck(long delayNanos) {
        timer = eventLoop().schedule(this::checkReaderAfterSessionEnd, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void checkReaderAfterSessionEnd() {
        timer = null;
        if (!open) {
            return;
        }
        long period = session.config().stalledReaderTimeout().toNanos();
        long stalled = nanosWithoutReaderProgress();
        if (heldBytes() == 0) {
            // Nothing to lose, so no timer: frames no longer come, and a handler that holds bytes again goes through
            // countHeld, which has the session watch this stream again. (Open and ended both ways, a stream still
            // has bytes queued, or it would have closed at its EOF; 0 here means a handler gave back more than it
            // counted.)
            return;
        }
        if (stalled < period) {
            scheduleReaderCheck(period - stalled);
        } else {
            session.logReaderStalledAfterSessionEnd(this);
            resetHoldingTooMuch();
        }
    }

    /** Called by the session when the parent becomes writable again, or its writability changed. */
    void onParentWritabilityChanged() {
        waitingForParent = false;
        writePending();
    }

    /** Called by the session at the end of its read batch. */
    void fireReadCompleteIfPending() {
        readCompleteQueued = false;
        readOpenForBatch = false;
        if (readCompletePending) {
            // Through the delivery loop: a reader that asks for more from channelReadComplete is served by the
            // loop, not by a nested call.
            deliverInbound();
        }
    }

    /** Sends what the send window and the parent allow, then a pending FIN once everything went out. */
    void writePending() {
        boolean wrote = false;
        while (outbound.hasFlushed() && !reset) {
            if (outbound.headIsEmpty()) {
                // An empty write (often a flush marker before close) completes in order, window or not.
                OutboundQueue.Chunk empty = takeOrReset(0);
                if (empty == null) {
                    break;
                }
                empty.data().release();
                empty.completes().forEach(ChannelPromise::trySuccess);
                continue;
            }
            if (sendWindow <= 0) {
                break;
            }
            if (!session.parentWritable()) {
                if (!waitingForParent) {
                    waitingForParent = true;
                    session.awaitParentWritable(this);
                }
                break;
            }
            OutboundQueue.Chunk chunk = takeOrReset((int) Math.min(sendWindow, MAX_DATA_CHUNK));
            if (chunk == null) {
                break;
            }
            ByteBuf data = chunk.data();
            int length = data.readableBytes();
            sendWindow -= length;
            YamuxFrame frame = YamuxFrame.data(state.takeSendFlags(), streamId, data);
            List<ChannelPromise> completes = chunk.completes();
            if (completes.isEmpty()) {
                session.writeFrame(frame);
            } else {
                session.writeFrame(frame).addListener(f -> {
                    for (ChannelPromise promise : completes) {
                        complete(f, promise);
                    }
                });
            }
            wrote = true;
            noteProgress();
        }
        if (finPending && outbound.isEmpty() && !reset) {
            sendFin();
            wrote = true;
        }
        if (wrote) {
            session.flushSoon();
        }
        updateWritability();
    }

    /**
     * Takes the next chunk to send, or resets this stream alone and answers null when taking it throws (a write whose
     * buffer its writer released, an Error while merging): the write stays at the queue's head, so every later take
     * would throw again, the close never completing and a window update's throw ending the whole session.
     */
    private OutboundQueue.Chunk takeOrReset(int max) {
        try {
            return outbound.take(max, alloc());
        } catch (RuntimeException | Error e) {
            dropOutbound(new StreamResetException("stream " + Integer.toUnsignedString(streamId)
                    + " was reset: a write could not be sent", e));
            sendReset();
            closeChannel();
            logNotSent(e);
            return null;
        }
    }

    /**
     * Says why a write could not be sent, as a writer on voidPromise() learns nothing else; after the reset, and a
     * throw of its own swallowed: short of heap, building the line can throw too, and the reset must happen anyway.
     * Out of memory (Netty's OutOfDirectMemoryError is one), every stream writing at that moment fails alike: one
     * line per interval for the process. Any other cause is a fault of this stream's own (its writer released its
     * buffer, a StackOverflowError while copying) that no frame of the peer's brings about, and the stream it resets
     * writes no more: one line for it.
     */
    private void logNotSent(Throwable cause) {
        try {
            if (cause instanceof OutOfMemoryError noMemory) {
                session.logNoMemoryToSend(this, noMemory);
            } else {
                log.warn("{}: stream {} reset: a write could not be sent", parent, Integer.toUnsignedString(streamId),
                        cause);
            }
        } catch (RuntimeException | Error unlogged) {
            // Nothing left to tell it with; the stream is reset and closed, and the session goes on.
        }
    }

    void updateWritability() {
        queuedOutboundBytes = outbound.bytes();
        long bytes = heldForWriting();
        if (bytes > config.getWriteBufferHighWaterMark()) {
            queueOverHighWaterMark = true;
        } else if (bytes < config.getWriteBufferLowWaterMark()) {
            queueOverHighWaterMark = false;
        }
        notePeak();
        boolean now = open && !outputShutdown && !queueOverHighWaterMark && sendWindow > 0;
        writable = now;
        if (now != announcedWritable) {
            announcedWritable = now;
            if (open && registered) {
                pipeline.fireChannelWritabilityChanged();
            }
        }
    }

    /** Bytes written to this stream and not sent yet, including writes still on their way from other threads. */
    private long heldForWriting() {
        return queuedOutboundBytes + pendingFromOtherThreads;
    }

    /** This stream's flow-control state, for a diagnosis of a stall. On the event loop. */
    String flowState() {
        return "stream " + Integer.toUnsignedString(streamId) + ": open=" + open + " registered=" + registered
                + " writable=" + writable + " announcedWritable=" + announcedWritable + " parentBlocked=" + parentBlocked
                + " waitingForParent=" + waitingForParent + " sendWindow=" + sendWindow
                + " outbound=" + outbound.bytes() + " flushed=" + outbound.hasFlushed()
                + " pendingFromOtherThreads=" + pendingFromOtherThreads + " overHighWaterMark=" + queueOverHighWaterMark
                + " inbound=" + inboundBytes + " autoRead=" + config.isAutoRead() + " readRequested=" + readRequested
                + " readOpenForBatch=" + readOpenForBatch + " readCompletePending=" + readCompletePending
                + " readCompleteQueued=" + readCompleteQueued + " delivering=" + delivering
                + " finReceived=" + finReceived + " inputShutdown=" + inputShutdown + " outputShutdown=" + outputShutdown
                + " reset=" + reset + " " + receiveWindow;
    }

    /** Bytes this stream holds right now: received and not delivered, written and not sent. On the event loop. */
    long bufferedBytes() {
        return inboundQueuedBytes() + outbound.bytes() + pendingFromOtherThreads;
    }

    private void notePeak() {
        long now = bufferedBytes();
        if (now > peakBufferedBytes) {
            peakBufferedBytes = now;
            session.notePeakStreamBuffered(now);
        }
    }

    /**
     * A writer on another thread saw this stream turn unwritable and may have stopped: whatever the event loop
     * decided meanwhile, it must hear channelWritabilityChanged once the stream is writable again.
     */
    private void afterUnwritableFromOtherThread() {
        announcedWritable = false;
        updateWritability();
    }

    /** From the writing thread (before the write task runs) with {@code size > 0}, on the loop with {@code size < 0}. */
    private void onWriteFromOtherThread(long size) {
        if (size == 0) {
            return;
        }
        long pending = PENDING_FROM_OTHER_THREADS.addAndGet(this, size);
        if (size > 0 && writable && pending + queuedOutboundBytes > config.getWriteBufferHighWaterMark()) {
            // Seen at once by the writer's next isWritable(); the event is fired on the event loop.
            writable = false;
            try {
                eventLoop().execute(afterUnwritableFromOtherThread);
            } catch (RejectedExecutionException e) {
                // The loop is shutting down: nothing will be sent anyway.
            }
        }
    }

    // ---- internals ----

    private static void complete(io.netty.util.concurrent.Future<?> written, ChannelPromise promise) {
        if (written.isSuccess()) {
            promise.trySuccess();
        } else {
            promise.tryFailure(written.cause());
        }
    }

    private void runOnLoop(Runnable task) {
        if (eventLoop().inEventLoop()) {
            task.run();
        } else {
            eventLoop().execute(task);
        }
    }

    /**
     * Hands queued data to the pipeline as the reader asks for it, then channelReadComplete. Iterative: a reader
     * that calls read() from channelRead or channelReadComplete (as the relay does) is served by this loop, never
     * by a nested call, so the stack stays flat however many frames wait.
     */
    private void deliverInbound() {
        if (delivering) {
            return;
        }
        delivering = true;
        try {
            while (true) {
                while (open && readerWants() && !inbound.isEmpty()) {
                    // As a socket with autoRead off: one read() delivers what is at hand (one buffer outside the
                    // session's read batch); a read() from the handler (even inside channelRead) asks for more.
                    readRequested = false;
                    readOpenForBatch = session.inReadLoop();
                    ByteBuf data = inbound.poll();
                    inboundBytes -= data.readableBytes();
                    session.inboundHeldChanged(-data.readableBytes());
                    if (inbound.isEmpty()) {
                        inboundTailOwned = false;
                    }
                    long now = session.nanoTime();
                    readerProgressNanos = now;
                    // Once the peer's FIN is in, credit is of no use, and growth would take budget that a stream
                    // already ended (its growth given back) never returns.
                    if (state.inputOpen()) {
                        long credit = receiveWindow.onConsumed(data.readableBytes(), now, session.rttNanos());
                        if (credit > 0) {
                            session.writeFrame(YamuxFrame.windowUpdate(state.takeSendFlags(), streamId, credit));
                            session.flushSoon();
                        }
                    }
                    readCompletePending = true;
                    pipeline.fireChannelRead(data);
                }
                if (!readCompletePending || !open) {
                    break;
                }
                if (session.inReadLoop()) {
                    // Once, at the end of the session's read batch (which calls back fireReadCompleteIfPending).
                    if (!readCompleteQueued) {
                        readCompleteQueued = true;
                        session.readCompleteLater(this);
                    }
                    break;
                }
                readCompletePending = false;
                pipeline.fireChannelReadComplete();
                // The reader may have asked for more: loop instead of recursing.
            }
        } finally {
            delivering = false;
        }
        maybeDeliverEof();
    }

    private boolean readerWants() {
        return readRequested || readOpenForBatch || config.isAutoRead();
    }

    private void maybeDeliverEof() {
        if (!finReceived || inputShutdown || !open || !inbound.isEmpty()) {
            return;
        }
        inputShutdown = true;
        // A handler that flushes in channelReadComplete must see it before the EOF.
        if (readCompletePending) {
            readCompletePending = false;
            pipeline.fireChannelReadComplete();
        }
        pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        if (outputShutdown) {
            closeChannel();
        }
    }

    private void doShutdownOutput(ChannelPromise promise) {
        if (reset || !open) {
            promise.tryFailure(reset ? new StreamResetException("stream was reset") : new ClosedChannelException());
            return;
        }
        if (outputShutdown) {
            if (finPromise != null) {
                finPromise.addListener(f -> complete(f, promise));
            } else {
                promise.trySuccess();
            }
            return;
        }
        outputShutdown = true;
        finPending = true;
        finPromise = promise;
        outbound.markFlushed();
        writePending();
        if (inputShutdown) {
            closeChannel();
        }
    }

    private void sendFin() {
        finPending = false;
        ChannelFuture written = session.writeFrame(
                YamuxFrame.windowUpdate(state.takeSendFlags() | FLAG_FIN, streamId, 0));
        ChannelPromise promise = finPromise;
        if (promise != null) {
            finPromise = null;
            written.addListener(f -> complete(f, promise));
        }
        state.onLocalFin();
        endIfTerminal();
    }

    /** Sends RST unless the stream already ended; drops everything not sent. */
    void sendReset() {
        sendReset(ResetReason.NONE);
    }

    /** Sends RST (WindowUpdate, {@code reason} in the length) unless the stream already ended; drops everything not sent. */
    void sendReset(ResetReason reason) {
        if (removed || state.isTerminal()) {
            return;
        }
        session.writeFrame(YamuxFrame.windowUpdate(state.takeSendFlags() | FLAG_RST, streamId, reason.code()));
        session.flushSoon();
        state.onLocalReset();
        reset = true;
        dropOutbound(new StreamResetException("stream " + Integer.toUnsignedString(streamId) + " was reset"));
        endIfTerminal();
    }

    /** Fails everything not sent yet, the pending FIN included. */
    private void dropOutbound(StreamResetException cause) {
        outbound.failAll(cause);
        finPending = false;
        if (finPromise != null) {
            finPromise.tryFailure(cause);
            finPromise = null;
        }
    }

    private void endIfTerminal() {
        if (state.isTerminal() && !removed) {
            removed = true;
            receiveWindow.release();
            cancelTimer();
            session.streamEnded(this);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /**
     * Closes the channel. Output still open gets a FIN after the data already written; the stream itself stays
     * known to the session until the FINs are exchanged, bounded by the closed stream linger (then RST).
     */
    private void closeChannel() {
        if (!open) {
            return;
        }
        open = false;
        writable = false;
        ByteBuf b;
        while ((b = inbound.poll()) != null) {
            b.release();
        }
        session.inboundHeldChanged(-inboundBytes - handlerHeldBytes);
        inboundBytes = 0;
        handlerHeldBytes = 0;
        session.streamClosed(this);
        if (!reset && !outputShutdown && state.outputOpen()) {
            outputShutdown = true;
            finPending = true;
            outbound.markFlushed();
            writePending();
        }
        cancelTimer();
        if (!removed) {
            noteProgress();
            scheduleLinger();
        }
        closePromise.trySuccess();
        if (registered) {
            // Later, as AbstractChannel does: the handler that called close() finishes first.
            try {
                eventLoop().execute(this::fireInactiveAndUnregistered);
            } catch (RejectedExecutionException e) {
                fireInactiveAndUnregistered();
            }
        }
    }

    private void fireInactiveAndUnregistered() {
        if (registered) {
            registered = false;
            pipeline.fireChannelInactive();
            pipeline.fireChannelUnregistered();
        }
    }

    private void noteProgress() {
        lastProgressNanos = eventLoop().ticker().nanoTime();
    }

    /** Resets the closed stream once a whole linger period passed without data or credit either way. */
    private void scheduleLinger() {
        long period = session.config().closedStreamLinger().toNanos();
        long idle = Math.max(0, eventLoop().ticker().nanoTime() - lastProgressNanos);
        long delay = Math.max(0, period - idle);
        timer = eventLoop().schedule(this::lingerExpired, delay, TimeUnit.NANOSECONDS);
    }

    private void lingerExpired() {
        timer = null;
        if (removed) {
            return;
        }
        long period = session.config().closedStreamLinger().toNanos();
        if (eventLoop().ticker().nanoTime() - lastProgressNanos < period) {
            // A slow reader is still draining the last window: count again from its latest progress.
            scheduleLinger();
            return;
        }
        session.logLingerExpired(this);
        sendReset();
    }

    private final class ChildUnsafe implements Unsafe {

        // Channel.Unsafe requires the deprecated Handle type; streams do not allocate, so it is never used.
        @SuppressWarnings("deprecation")
        private RecvByteBufAllocator.Handle recvHandle;

        @Override
        @SuppressWarnings("deprecation")
        public RecvByteBufAllocator.Handle recvBufAllocHandle() {
            if (recvHandle == null) {
                recvHandle = config.getRecvByteBufAllocator().newHandle();
            }
            return recvHandle;
        }

        @Override
        public SocketAddress localAddress() {
            return parent.localAddress();
        }

        @Override
        public SocketAddress remoteAddress() {
            return parent.remoteAddress();
        }

        @Override
        public void register(EventLoop eventLoop, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("yamux streams are registered by their session"));
        }

        @Override
        public void bind(SocketAddress localAddress, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a yamux stream cannot bind"));
        }

        @Override
        public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("open yamux streams with YamuxSession.openStream"));
        }

        @Override
        public void disconnect(ChannelPromise promise) {
            close(promise);
        }

        @Override
        public void close(ChannelPromise promise) {
            closeChannel();
            if (!promise.isVoid()) {
                promise.trySuccess();
            }
        }

        @Override
        public void closeForcibly() {
            closeChannel();
        }

        @Override
        public void deregister(ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a yamux stream cannot be deregistered"));
        }

        @Override
        public void beginRead() {
            if (!open) {
                return;
            }
            readRequested = true;
            deliverInbound();
        }

        @Override
        public void write(Object msg, ChannelPromise promise) {
            if (!(msg instanceof ByteBuf buf)) {
                String type = msg == null ? "null" : msg.getClass().getName();
                ReferenceCountUtil.release(msg);
                promise.setFailure(new UnsupportedOperationException("yamux streams write ByteBuf, not " + type));
                return;
            }
            if (reset) {
                buf.release();
                promise.setFailure(new StreamResetException("stream " + Integer.toUnsignedString(streamId)
                        + " was reset"));
                return;
            }
            if (!open || outputShutdown) {
                buf.release();
                promise.setFailure(new ClosedChannelException());
                return;
            }
            outbound.add(buf, promise.unvoid());
            updateWritability();
        }

        @Override
        public void flush() {
            outbound.markFlushed();
            writePending();
        }

        @Override
        public ChannelPromise voidPromise() {
            return unsafeVoidPromise;
        }

        @Override
        public ChannelOutboundBuffer outboundBuffer() {
            return null;
        }
    }
}
