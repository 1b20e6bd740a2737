package io.picotunnel.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.relay.ResetOnDeath;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Ends a connection after a last answer the way nginx's lingering close does (RFC 9112 9.6): once the answer is
 * written the output is shut (after a TLS close_notify, when there is TLS), and what the peer still sends is read
 * and dropped, before any decoder, until the peer closes or one of the {@link Bounds} is reached. Closing at once
 * with unread input would send a reset, and a reset that arrives before the peer has read the answer discards it.
 */
public final class LingeringClose {

    /** The name of the handler that drops what the peer sends meanwhile: first in the pipeline. */
    static final String HANDLER_NAME = "lingering-close";

    /**
     * How long and how much a lingering close reads before it closes anyway.
     *
     * @param idle  at most this long without a byte from the peer (nginx's {@code lingering_timeout})
     * @param total at most this long in all from the answer (nginx's {@code lingering_time})
     * @param bytes at most this many bytes read and dropped
     */
    public record Bounds(Duration idle, Duration total, long bytes) {

        /** 2 s without data, 5 s in all, 1 MiB: enough for a request body in flight, not for a hostile upload. */
        public static final Bounds DEFAULT = new Bounds(Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024);

        public Bounds {
            if (!idle.isPositive() || !total.isPositive() || bytes < 0) {
                throw new IllegalArgumentException("lingering close bounds must be positive");
            }
        }
    }

    /**
     * While the answer is still being written: how long the visitor may take none of it (nginx's send_timeout), unless
     * told otherwise ({@code --send-timeout}).
     */
    public static final Duration DEFAULT_SEND_TIMEOUT = Duration.ofSeconds(60);

    private LingeringClose() {
    }

    /**
     * As {@link #after(ChannelFuture, Bounds, Duration)} with the {@link #DEFAULT_SEND_TIMEOUT}: for the short refusals
     * (a connection limit's 429 or 503, a tunnel handshake's error, a WebSocket close frame). Each is far smaller than a
     * socket's send buffer, so it leaves the channel's outbound buffer, which is all the send watch looks at, in the
     * first write, and the bounds take over at once: {@code --send-timeout} would never come into play for them.
     */
    public static void after(ChannelFuture answered, Bounds bounds) {
        after(answered, bounds, DEFAULT_SEND_TIMEOUT);
    }

    /**
     * After {@code answered} completes on {@code channel}; on the channel's event loop. The {@link Bounds} count from
     * the moment the answer has been written whole, as nginx's do: a slow visitor still taking in a long answer (the
     * end of a download, which for an HTTP/1.0 visitor is delimited by the close) gets all of it. Until then only a
     * visitor that takes none of it for {@code sendTimeout} is given up on, with a reset: a close would end what the
     * kernel holds of the answer with a FIN, and a cut answer delimited by the close would pass for a whole one.
     */
    public static void after(ChannelFuture answered, Bounds bounds, Duration sendTimeout) {
        Channel channel = answered.channel();
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        ChannelPipeline pipeline = channel.pipeline();
        Drain drain = (Drain) pipeline.get(HANDLER_NAME);
        if (drain == null) {
            SendWatch send = new SendWatch(channel, sendTimeout);
            send.watch(answered);
            drain = new Drain(bounds, send);
            pipeline.addFirst(HANDLER_NAME, drain);
        }
        channel.config().setAutoRead(true);
        Drain lingering = drain;
        answered.addListener(written -> {
            if (!written.isSuccess() || !(channel instanceof DuplexChannel duplex)) {
                channel.close();
                return;
            }
            lingering.answerWritten();
            if (duplex.isInputShutdown()) {
                // The peer ended its side already (half-closure allowed): nothing of it is left to read. A close
                // (after TLS close_notify) ends the connection at once.
                channel.close();
                return;
            }
            // The answer is whole in the kernel (and close_notify after it): a death from here on may end it with a
            // FIN. Disarmed before the shutdown, not after it: in between, a death would reset the connection and
            // the kernel drop the answer's unsent end, though the FIN was queued behind it.
            SslHandler tls = pipeline.get(SslHandler.class);
            if (tls == null) {
                ResetOnDeath.disarm(channel);
                duplex.shutdownOutput();
            } else {
                tls.closeOutbound().addListener(notified -> {
                    ResetOnDeath.disarm(channel);
                    duplex.shutdownOutput();
                });
            }
        });
    }

    /** Drops what the peer sends and closes at the first bound reached, or when the peer closes. */
    private static final class Drain extends ChannelInboundHandlerAdapter {
        private final Bounds bounds;
        /** While the answer is written: the wait on the visitor to take it. */
        private final SendWatch send;
        private ChannelHandlerContext ctx;
        private long dropped;
        private long lastRead;
        private boolean answerWritten;
        private ScheduledFuture<?> sendLook;
        private ScheduledFuture<?> deadline;
        private ScheduledFuture<?> idle;

        Drain(Bounds bounds, SendWatch send) {
            this.bounds = bounds;
            this.send = send;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            send.poll((delay, look) -> sendLook = ctx.executor().schedule(look, delay, TimeUnit.NANOSECONDS),
                    () -> Relay.abortChannel(ctx.channel()));
        }

        /** The answer went out whole: the bounds of the lingering close start now. */
        void answerWritten() {
            if (answerWritten || ctx == null || ctx.isRemoved()) {
                return;
            }
            answerWritten = true;
            if (sendLook != null) {
                sendLook.cancel(false);
            }
            lastRead = System.nanoTime();
            deadline = ctx.executor().schedule(() -> ctx.channel().close(), bounds.total().toNanos(),
                    TimeUnit.NANOSECONDS);
            scheduleIdle(ctx, bounds.idle().toNanos());
        }

        private void scheduleIdle(ChannelHandlerContext ctx, long delayNanos) {
            idle = ctx.executor().schedule(() -> {
                long left = bounds.idle().toNanos() - (System.nanoTime() - lastRead);
                if (left <= 0) {
                    ctx.channel().close();
                } else {
                    scheduleIdle(ctx, left);
                }
            }, delayNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                dropped += buf.readableBytes();
            }
            ReferenceCountUtil.release(msg);
            lastRead = System.nanoTime();
            if (dropped > bounds.bytes()) {
                ctx.channel().close();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && answerWritten) {
                // The peer's end of input (with half-closure allowed): nothing more to wait for. While the answer is
                // still being written, it goes on: the close follows it (after).
                ctx.channel().close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancelTimers();
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            cancelTimers();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.channel().close();
        }

        private void cancelTimers() {
            if (sendLook != null) {
                sendLook.cancel(false);
            }
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (idle != null) {
                idle.cancel(false);
            }
        }
    }
}
