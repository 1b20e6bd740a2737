package io.picotunnel.protocol.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;

/**
 * Makes a socket end with a TCP reset, not a FIN, should its process die (SIGKILL, the OOM killer, a crash): where a
 * FIN is the only end marker (a tcp service, TLS passthrough, a target's connection, an HTTP/1.0 answer delimited by
 * the close) the far end would take a transfer cut by the death for a complete one. The kernel closes a dead
 * process's sockets; with SO_LINGER 0 that close sends RST. The relay arms its sockets; the HTTP proxy arms a
 * visitor's connection when it starts an answer delimited by the close.
 *
 * <p>Zero linger also makes an ordinary {@code close()} a reset, discarding data not yet acknowledged, so this handler
 * turns linger back to the default on every close that goes through the pipeline: every graceful close does. It is
 * put at the head end when armed, behind every handler then in the pipeline (TLS included), so a close started at
 * the tail ({@code channel.close()}) or from any of their contexts passes it; a handler put in front of it later
 * must close through the channel, as the lingering close's (inbound only) does. An abort ({@link Relay#abortChannel}) closes past the pipeline and keeps the reset. Shutting
 * the output down (the FIN after the last byte) is not touched by linger: once the data owed to the far end is all
 * written to the kernel, {@link #disarm} comes first and the shutdown after it, so a death at any moment from then on
 * ends the connection with the FIN (in the other order, a death between the two would reset a connection whose FIN was
 * queued and drop the data not yet sent).
 */
@ChannelHandler.Sharable
public final class ResetOnDeath extends ChannelOutboundHandlerAdapter {

    static final String NAME = "reset-on-death";
    private static final ResetOnDeath INSTANCE = new ResetOnDeath();

    private ResetOnDeath() {
    }

    /** Sets zero linger on {@code channel}, if it is a socket, and adds the handler that undoes it on close. */
    public static void arm(Channel channel) {
        if (!(channel instanceof DuplexChannel) || !channel.isActive() || channel.pipeline().get(NAME) != null) {
            return;
        }
        channel.pipeline().addFirst(NAME, INSTANCE);
        setLinger(channel, 0);
    }

    /** Gives {@code channel} back the default linger: its close, whenever it comes, is a normal one. */
    public static void disarm(Channel channel) {
        if (channel instanceof DuplexChannel && channel.pipeline().get(NAME) != null) {
            setLinger(channel, -1);
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        disarm(ctx.channel());
        ctx.close(promise);
    }

    private static void setLinger(Channel channel, int seconds) {
        if (!channel.isOpen()) {
            return;
        }
        try {
            channel.config().setOption(ChannelOption.SO_LINGER, seconds);
        } catch (RuntimeException e) {
            // closed meanwhile: nothing left to guard
        }
    }
}
