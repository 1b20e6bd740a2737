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

import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;

/**
 * A yamux stream as a Netty child channel (after codec-http2's {@code AbstractHttp2StreamChannel}). Everything
 * runs on the parent's event loop; only the flags read by {@link #isOpen()}, {@link #isWritable()} and friends
 * are volatile.
 */
final class YamuxChildChannel extends DefaultAttributeMap implements YamuxStreamChannel {

    /** Largest Data frame payload we send: small enough to interleave streams fairly. */
    static final int MAX_DATA_CHUNK = 16 * 1024;

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

    private long sendWindow = YamuxSpec.INITIAL_STREAM_WINDOW;
    private volatile boolean registered;
    private volatile boolean open = true;
    private volatile boolean writable = true;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private volatile boolean reset;

    private boolean queueOverHighWaterMark;
    private boolean finPending;
    private ChannelPromise finPromise;
    private boolean finReceived;
    private boolean readRequested;
    private boolean delivering;
    private boolean readCompletePending;
    private boolean waitingForParent;
    private boolean removed;
    private ScheduledFuture<?> timer;

    YamuxChildChannel(YamuxSession session, Channel parent, int streamId, StreamState state) {
        this.session = session;
        this.parent = parent;
        this.streamId = streamId;
        this.state = state;
        YamuxConfig yamuxConfig = session.config();
        this.receiveWindow = new ReceiveWindow(yamuxConfig.maxStreamWindow());
        this.channelId = new YamuxStreamChannelId(parent.id(), streamId);
        this.pipeline = new DefaultChannelPipeline(this) {
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
    public ChannelFuture reset() {
        ChannelPromise promise = newPromise();
        runOnLoop(() -> {
            sendReset();
            closeChannel();
            promise.trySuccess();
        });
        return promise;
    }

    @Override
    public boolean isReset() {
        return reset;
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

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public long bytesBeforeUnwritable() {
        long bytes = config.getWriteBufferHighWaterMark() - outbound.bytes() + 1;
        return bytes > 0 && writable ? bytes : 0;
    }

    @Override
    public long bytesBeforeWritable() {
        long bytes = outbound.bytes() - config.getWriteBufferLowWaterMark() + 1;
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
        long sum = 0;
        for (ByteBuf b : inbound) {
            sum += b.readableBytes();
        }
        return sum;
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
        session.writeFrame(YamuxFrame.windowUpdate(state.takeSendFlags(), streamId,
                receiveWindow.takeInitialDelta()));
        session.flushSoon();
    }

    void scheduleOpenTimeout(long nanos) {
        if (!open || removed) {
            return;
        }
        timer = eventLoop().schedule(() -> {
            if (state.awaitingAck() && !removed) {
                session.logStreamOpenTimeout(this);
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
        boolean deliverNow = inbound.isEmpty() && !delivering && (readRequested || config.isAutoRead());
        // A buffer that waits for a slow reader is copied out of the parent's read buffer, so the memory held
        // is what the window allows, not the larger buffers the slices would keep alive.
        inbound.add(deliverNow ? data : detach(data));
        deliverInbound();
    }

    private ByteBuf detach(ByteBuf data) {
        ByteBuf copy = alloc().buffer(data.readableBytes());
        copy.writeBytes(data);
        data.release();
        return copy;
    }

    void onAcknowledged() {
        // The open timeout only matters until the ACK.
        if (timer != null && open) {
            timer.cancel(false);
            timer = null;
        }
    }

    void onRemoteFin() {
        finReceived = true;
        maybeDeliverEof();
        endIfTerminal();
    }

    void onRemoteReset() {
        reset = true;
        dropOutbound(new StreamResetException("stream " + Integer.toUnsignedString(streamId)
                + " was reset by the peer"));
        endIfTerminal();
        closeChannel();
    }

    void onWindowUpdate(long delta) {
        sendWindow += delta;
        writePending();
    }

    /**
     * The session ended: the stream is reset, never closed as if complete, so relays abort the far side
     * (RST) instead of passing on a clean end of data.
     */
    void onSessionClosed() {
        state.onLocalReset();
        reset = true;
        removed = true;
        cancelTimer();
        dropOutbound(new StreamResetException("yamux session closed"));
        closeChannel();
    }

    /** Called by the session when the parent becomes writable again, or its writability changed. */
    void onParentWritabilityChanged() {
        waitingForParent = false;
        writePending();
    }

    void fireReadCompleteIfPending() {
        if (readCompletePending) {
            readCompletePending = false;
            if (open) {
                pipeline.fireChannelReadComplete();
            }
        }
    }

    /** Sends what the send window and the parent allow, then a pending FIN once everything went out. */
    void writePending() {
        boolean wrote = false;
        while (outbound.hasFlushed() && !reset) {
            if (outbound.headIsEmpty()) {
                // An empty write (often a flush marker before close) completes in order, window or not.
                OutboundQueue.Chunk empty = outbound.take(0);
                empty.data().release();
                empty.completes().trySuccess();
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
            OutboundQueue.Chunk chunk = outbound.take((int) Math.min(sendWindow, MAX_DATA_CHUNK));
            ByteBuf data = chunk.data();
            int length = data.readableBytes();
            sendWindow -= length;
            YamuxFrame frame = YamuxFrame.data(state.takeSendFlags(), streamId, data);
            ChannelPromise completes = chunk.completes();
            if (completes == null) {
                session.writeFrame(frame);
            } else {
                session.writeFrame(frame).addListener(f -> complete(f, completes));
            }
            wrote = true;
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

    void updateWritability() {
        long bytes = outbound.bytes();
        if (bytes > config.getWriteBufferHighWaterMark()) {
            queueOverHighWaterMark = true;
        } else if (bytes < config.getWriteBufferLowWaterMark()) {
            queueOverHighWaterMark = false;
        }
        boolean now = open && !outputShutdown && !queueOverHighWaterMark && sendWindow > 0
                && session.parentWritable();
        if (now != writable) {
            writable = now;
            if (open && registered) {
                pipeline.fireChannelWritabilityChanged();
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

    private void deliverInbound() {
        if (delivering) {
            return;
        }
        delivering = true;
        boolean delivered = false;
        try {
            while (open && (readRequested || config.isAutoRead()) && !inbound.isEmpty()) {
                // As a socket with autoRead off: one read() delivers one buffer; a read() from the handler
                // (even inside channelRead) asks for the next one.
                readRequested = false;
                ByteBuf data = inbound.poll();
                long credit = receiveWindow.onConsumed(data.readableBytes());
                if (credit > 0 && state.inputOpen()) {
                    session.writeFrame(YamuxFrame.windowUpdate(state.takeSendFlags(), streamId, credit));
                    session.flushSoon();
                }
                delivered = true;
                pipeline.fireChannelRead(data);
            }
        } finally {
            delivering = false;
        }
        if (delivered) {
            if (session.inReadLoop()) {
                if (!readCompletePending) {
                    readCompletePending = true;
                    session.readCompleteLater(this);
                }
            } else {
                readCompletePending = true;
                fireReadCompleteIfPending();
            }
        }
        maybeDeliverEof();
    }

    private void maybeDeliverEof() {
        if (!finReceived || inputShutdown || !open || !inbound.isEmpty()) {
            return;
        }
        inputShutdown = true;
        // A handler that flushes in channelReadComplete must see it before the EOF.
        fireReadCompleteIfPending();
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
        if (removed || state.isTerminal()) {
            return;
        }
        session.writeFrame(YamuxFrame.windowUpdate(state.takeSendFlags() | FLAG_RST, streamId, 0));
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
     * known to the session until the FINs are exchanged, bounded by the stream open timeout (then RST).
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
        if (!reset && !outputShutdown && state.outputOpen()) {
            outputShutdown = true;
            finPending = true;
            outbound.markFlushed();
            writePending();
        }
        if (!removed) {
            cancelTimer();
            timer = eventLoop().schedule(this::lingerExpired, session.config().streamOpenTimeout().toNanos(),
                    TimeUnit.NANOSECONDS);
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

    private void lingerExpired() {
        timer = null;
        if (!removed) {
            session.logLingerExpired(this);
            sendReset();
        }
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
