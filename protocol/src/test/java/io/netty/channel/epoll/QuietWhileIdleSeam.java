package io.netty.channel.epoll;

import io.netty.channel.Channel;

import java.util.function.Predicate;

/** {@link QuietWhileIdle}'s look at the socket's error, chosen by a test: for tests outside its package. */
public final class QuietWhileIdleSeam {

    /** {@link QuietWhileIdle#ROUNDS_WITHOUT_ERROR}. */
    public static final int ROUNDS_WITHOUT_ERROR = QuietWhileIdle.ROUNDS_WITHOUT_ERROR;

    private QuietWhileIdleSeam() {
    }

    /**
     * Puts first in {@code channel}'s pipeline a {@link QuietWhileIdle} that looks at the socket's error with {@code
     * errorLook}, on the channel's loop: {@link HalfClosedEpollChannels#keepRegisteredReadingOnlyWhenAsked} then adds
     * no other.
     */
    public static void addFirst(Channel channel, Predicate<Channel> errorLook) {
        channel.pipeline().addFirst(QuietWhileIdle.NAME, new QuietWhileIdle(errorLook));
    }
}
