package io.picotunnel.protocol.relay;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.net.OnLoop;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Copies bytes both ways between two connected channels, each a socket or a {@link YamuxStreamChannel}, in the
 * style of Netty's proxy example: auto-read is off and a side is read again only while the other side is
 * writable, so a slow reader on either end slows the sender instead of filling memory.
 *
 * <p>EOF on one side shuts down the output of the other (after everything read before it has been written),
 * and the opposite direction goes on. When both directions have ended, or either side fails or is reset,
 * both channels are closed; a reset or error on one side aborts the other (RST on a stream, SO_LINGER 0 on
 * a socket) so the far end does not mistake it for a clean end of data. A stream reset because its yamux
 * session was lost counts as reset. Only when the failed side's EOF had already been passed on completely
 * is the other side closed normally: what it was sent was whole, and a reset could discard it in flight.
 * The abort reaches the other side whatever the order of events: before the relay has started (a side
 * already inactive when its handler is to be added), while writes are pending (the abort runs on the other
 * channel's event loop, after them), or while an EOF is being passed on. A socket under TLS (an upgraded HTTPS
 * connection) reset after its peer's close_notify counts as reset too: its TLS handler would take the reset for the
 * peer's ordinary leaving and close quietly ({@link ResetPastTls}).
 *
 * <p>A relayed socket ends with a reset, not a FIN, also when its own process dies (SIGKILL, a crash): while it
 * relays it has zero linger, which every close through its pipeline and the end of the data owed to it undo
 * ({@link ResetOnDeath}).
 *
 * <p>The channels may live on different event loops. Handlers in front of the relay may fire data and a
 * {@link ChannelInputShutdownEvent} they held back, after {@link #start}: the relay takes them as if read.
 */
public final class Relay {

    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);
    public static final String HANDLER_NAME = "relay";

    private final AtomicInteger directionsDone = new AtomicInteger();
    /** Handlers in their pipelines; at 2 the relay reads: before, a side's writability events would pass it by. */
    private final AtomicInteger sidesAdded = new AtomicInteger();
    private final AtomicBoolean finished = new AtomicBoolean();
    private final Side sideA;
    private final Side sideB;

    private Relay(Channel a, Channel b) {
        this.sideA = new Side(a, b);
        this.sideB = new Side(b, a);
        sideA.other = sideB;
        sideB.other = sideA;
    }

    /**
     * Starts relaying between {@code a} and {@code b}, both connected. Turns auto-read off on both, turns on
     * half-closure for sockets and has them read only when asked ({@link
     * HalfClosedEpollChannels#keepRegisteredReadingOnlyWhenAsked}, whose first handler on epoll also fires a reset no
     * read would find, as after the socket's end of input: the relay needs no look of its own; on NIO a write that
     * fails finds it), and adds a handler named {@value #HANDLER_NAME} last in each pipeline, on each channel's event
     * loop: at once for a channel of the calling thread's loop, else by a task queued now (so a task queued after this
     * call on that loop finds the handler in place).
     */
    public static Relay start(Channel a, Channel b) {
        Relay relay = new Relay(a, b);
        for (Channel channel : new Channel[] {a, b}) {
            channel.config().setAutoRead(false);
            if (channel instanceof DuplexChannel) {
                channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
                HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(channel);
            }
        }
        relay.sideA.install();
        relay.sideB.install();
        return relay;
    }

    /** True once both channels have been closed by the relay. */
    public boolean isFinished() {
        return finished.get();
    }

    private void directionDone() {
        if (directionsDone.incrementAndGet() == 2) {
            finish();
        }
    }

    private void finish() {
        if (finished.compareAndSet(false, true)) {
            closeOnFlush(sideA.self);
            closeOnFlush(sideB.self);
        }
    }

    private void abort(Channel failed) {
        if (finished.compareAndSet(false, true)) {
            Side failedSide = failed == sideA.self ? sideA : sideB;
            Channel other = failedSide.peer;
            failed.close();
            if (failedSide.eofPassedOn) {
                closeOnFlush(other);
            } else {
                abortChannel(other);
            }
        }
    }

    /**
     * Cuts {@code channel} from outside (its service closed, say) with a reset, and the channel it relays to, if
     * any, with a reset too: neither far end may take it for a clean end. A channel that is not relaying yet is
     * only reset. Runs on the channel's event loop.
     */
    public static void cut(Channel channel) {
        if (!channel.eventLoop().inEventLoop()) {
            channel.eventLoop().execute(() -> cut(channel));
            return;
        }
        if (channel.pipeline().get(HANDLER_NAME) instanceof Side side) {
            side.relay().cutBoth();
        }
        abortChannel(channel);
    }

    private void cutBoth() {
        if (finished.compareAndSet(false, true)) {
            abortChannel(sideA.self);
            abortChannel(sideB.self);
        }
    }

    /** Closes {@code channel} once everything written to it so far has been flushed. */
    public static void closeOnFlush(Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }

    /**
     * Ends {@code channel} so its far end sees an abnormal end, never a clean EOF: RST on a stream, a TCP reset
     * (SO_LINGER 0, then close) on a socket. Runs on the channel's event loop, after writes queued before it.
     */
    public static void abortChannel(Channel channel) {
        if (channel instanceof YamuxStreamChannel stream) {
            stream.reset();
            return;
        }
        if (!channel.eventLoop().inEventLoop()) {
            channel.eventLoop().execute(() -> abortChannel(channel));
            return;
        }
        if (channel instanceof DuplexChannel && channel.isActive()) {
            // Zero linger makes close send RST, which tells the far end the data ended abnormally.
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        }
        // Past the pipeline: a TLS handler in it would first send close_notify, a clean end of the TLS data.
        channel.unsafe().close(channel.unsafe().voidPromise());
    }

    private static ChannelFuture shutdownOutput(Channel channel) {
        if (channel instanceof YamuxStreamChannel stream) {
            return stream.shutdownOutput();
        }
        if (channel instanceof DuplexChannel duplex) {
            return duplex.shutdownOutput();
        }
        return channel.close();
    }

    private static boolean isReset(Channel channel) {
        return channel instanceof YamuxStreamChannel stream && stream.isReset();
    }

    /** Reads {@code self} and writes what it reads to {@code peer}. */
    private final class Side extends ChannelInboundHandlerAdapter {
        private final Channel self;
        private final Channel peer;
        private Side other;
        private volatile boolean eof;
        /** This side's EOF went through: the peer's output was shut down after everything before it. */
        private volatile boolean eofPassedOn;
        /** One listener for every write to the peer, where a lambda there was an object per relayed read. */
        private final ChannelFutureListener abortIfWriteFailed = this::abortOnFailure;

        Side(Channel self, Channel peer) {
            this.self = self;
            this.peer = peer;
        }

        Relay relay() {
            return Relay.this;
        }

        /**
         * Adds this side's handler on its channel's own loop. Added from another thread, the handler would wait for
         * a task of that loop, and a channel that closed meanwhile would tear its pipeline down first, dropping the
         * handler without a word: the relay would never hear of the close, nor the other side of the failure.
         */
        void install() {
            OnLoop.run(self.eventLoop(), this::addToPipeline, () -> abort(self));
        }

        private void addToPipeline() {
            if (!self.isActive()) {
                abort(self);
                return;
            }
            ResetOnDeath.arm(self);
            ResetPastTls.addIfTls(self.pipeline());
            self.pipeline().addLast(HANDLER_NAME, this);
        }

        /**
         * Reading starts once both handlers are in place, each added on its channel's loop: a side that read before
         * would fill the other channel, and should that channel turn unwritable and writable again before its
         * handler is there, no event would ever tell the relay to read on.
         */
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (sidesAdded.incrementAndGet() == 2) {
                readIfPeerWritable();
                other.readIfPeerWritable();
            }
        }

        void readIfPeerWritable() {
            if (sidesAdded.get() == 2 && !eof && self.isActive() && peer.isWritable()) {
                self.read();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (finished.get() || !peer.isActive()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            peer.write(msg).addListener(abortIfWriteFailed);
        }

        private void abortOnFailure(ChannelFuture written) {
            if (!written.isSuccess()) {
                LOG.debug("relay write to {} failed: {}", peer, written.cause().toString());
                abort(peer);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
            readIfPeerWritable();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (self.isWritable()) {
                other.readIfPeerWritable();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                onEof();
            }
            ctx.fireUserEventTriggered(evt);
        }

        private void onEof() {
            if (eof) {
                return;
            }
            eof = true;
            if (!peer.isActive()) {
                directionDone();
                return;
            }
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(flushed -> {
                if (!flushed.isSuccess()) {
                    abort(peer);
                    return;
                }
                // Everything before the EOF is in the kernel: a death from here on may end it with a FIN. Disarmed
                // before the shutdown, as a death between the two would reset the connection and drop its unsent end.
                // An abort after a failed shutdown sets zero linger itself.
                ResetOnDeath.disarm(peer);
                shutdownOutput(peer).addListener(shutdown -> {
                    eofPassedOn = shutdown.isSuccess();
                    directionDone();
                });
            });
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (isReset(self)) {
                abort(self);
            } else if (finished.compareAndSet(false, true)) {
                closeOnFlush(peer);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("relay: {} failed: {}", self, cause.toString());
            abort(self);
        }
    }
}
