package io.picotunnel.server.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Ends a connection after a last answer the way nginx's lingering close does: once the answer is written the output
 * is shut, and what the peer still sends is read (and dropped by the pipeline) until the peer closes or the linger
 * time passes. Closing at once with unread input would send a reset, and a reset that arrives before the peer has
 * read the answer discards it.
 */
public final class LingeringClose {

    private LingeringClose() {
    }

    /** After {@code answered} completes on {@code channel}; on the channel's event loop. */
    public static void after(ChannelFuture answered, Duration linger) {
        Channel channel = answered.channel();
        channel.config().setAutoRead(true);
        ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> channel.close(), linger.toMillis(),
                TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(f -> deadline.cancel(false));
        answered.addListener(written -> {
            if (written.isSuccess() && channel instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                channel.close();
            }
        });
    }
}
