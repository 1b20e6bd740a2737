package io.netty.channel.epoll;

import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;

/**
 * Works around a defect of Netty 4.2's epoll transport (seen in 4.2.18 to 4.2.20) for sockets that stay open
 * half-closed: once a socket's input has ended and it has no interest left, {@code EpollIoHandler} removes the fd
 * from epoll but keeps its registration marked as added, so the next write that must wait for EPOLLOUT fails with
 * {@code epoll_ctl(..) failed with error(-2)} and the data is cut short.
 *
 * <p>Asking for EPOLLERR keeps the interest set from ever becoming empty, so the fd stays in epoll. It changes
 * nothing else: the kernel reports EPOLLERR whether it is asked for or not. In Netty's package because
 * {@link AbstractEpollChannel#setFlag} is not public.
 *
 * <p>{@link #keepRegisteredReadingOnlyWhenAsked} also undoes a trait of the transport that breaks backpressure on
 * relayed sockets, and keeps such a socket's loop idle once it has ended both ways while its reads wait
 * ({@link QuietWhileIdle}).
 */
public final class HalfClosedEpollChannels {

    private HalfClosedEpollChannels() {
    }

    /**
     * Keeps {@code channel} in epoll for its whole life, if it is an epoll channel; on its event loop. Call it when
     * the channel is registered (in {@code initChannel}), before epoll can see its input end.
     */
    public static void keepRegistered(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll)) {
            return;
        }
        if (epoll.eventLoop().inEventLoop()) {
            askForErrors(epoll);
            return;
        }
        try {
            epoll.eventLoop().execute(() -> askForErrors(epoll));
        } catch (RejectedExecutionException stopped) {
            // The channel's loop has stopped, and closed it: nothing is left to keep registered.
        }
    }

    /**
     * {@link #keepRegistered} and, on the same loop task, makes {@code channel} read only when asked, also once its peer
     * has ended its output. Netty's epoll asks for EPOLLRDHUP, and at that event reads the socket to its end whatever
     * auto-read says: a visitor that wrote mebibytes the kernel buffered (up to {@code tcp_rmem}'s maximum, 32 MiB on
     * our machines) and then its FIN had all of it read into its stream's queue while the target read nothing. Without
     * EPOLLRDHUP the end of input is read as the NIO transport reads it, by the read that reaches it (the channels are
     * level-triggered); a reset still raises EPOLLERR, which stays asked for.
     *
     * <p>Adds a {@link QuietWhileIdle} first in its pipeline, once: a socket that reads only when asked can end both
     * ways with no read pending, and its loop would spin on EPOLLHUP; a reset it then gets is fired down its pipeline
     * as a {@link PeerResetWhileIdleException}. So is a reset after the end of its input, whoever read that end.
     */
    public static void keepRegisteredReadingOnlyWhenAsked(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll)) {
            return;
        }
        if (epoll.eventLoop().inEventLoop()) {
            askForErrorsNotPeerShutdown(epoll);
            return;
        }
        try {
            epoll.eventLoop().execute(() -> askForErrorsNotPeerShutdown(epoll));
        } catch (RejectedExecutionException stopped) {
            // The channel's loop has stopped, and closed it.
        }
    }

    /**
     * Makes epoll report {@code channel}'s events once each (EPOLLET) instead of at every wait, if it is an open epoll
     * socket whose output is shut and which asks for nothing but errors: no read pending, no write waiting. Once its
     * peer's FIN comes in too, the kernel raises EPOLLHUP, which no interest set can leave out and for which Netty's
     * epoll has no handler: level-triggered, every epoll_wait returned it at once and the loop spun. Only in that
     * state, as edge-triggered a read asked for while EPOLLIN is asked for already would never be reported, and a
     * write waiting for EPOLLOUT neither. Returns whether it did so; {@link #reportEventsWhileReady} undoes it, and must
     * run before any read is asked for. On the channel's loop.
     */
    static boolean reportEventsOnceWhileIdle(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll) || !epoll.eventLoop().inEventLoop()
                || !epoll.isOpen() || !epoll.isRegistered()
                || !(epoll instanceof DuplexChannel duplex) || !duplex.isOutputShutdown()
                || epoll.isFlagSet(Native.EPOLLIN) || epoll.isFlagSet(Native.EPOLLOUT)) {
            return false;
        }
        try {
            epoll.setFlag(Native.EPOLLET);
            return true;
        } catch (IOException | UncheckedIOException e) {
            epoll.pipeline().fireExceptionCaught(e);
            return false;
        }
    }

    /**
     * Undoes {@link #reportEventsOnceWhileIdle}, so that what is ready already (bytes waiting, the end of input) is
     * reported at the next wait. On the channel's loop.
     */
    static void reportEventsWhileReady(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll) || !epoll.isOpen() || !epoll.isFlagSet(Native.EPOLLET)) {
            return;
        }
        try {
            epoll.clearFlag(Native.EPOLLET);
        } catch (IOException | UncheckedIOException e) {
            epoll.pipeline().fireExceptionCaught(e);
        }
    }

    /** Whether {@link #reportEventsOnceWhileIdle} is in force for {@code channel}. On the channel's loop. */
    public static boolean reportsEventsOnce(Channel channel) {
        return channel instanceof AbstractEpollChannel epoll && epoll.isOpen() && epoll.isFlagSet(Native.EPOLLET);
    }

    /**
     * Has Netty's epoll read {@code channel}, an open epoll socket whose end of input it read, once more at its next
     * EPOLLERR, and returns whether it did so. Netty reads such a socket once only, at the end, and takes every later
     * EPOLLERR for that same end ({@code inputClosedSeenErrorOnRead}): a reset of its peer raised no event, and its
     * EPOLLERR and EPOLLHUP came back at every wait until something closed the socket. The read again finds the end,
     * not the error, and fires a {@link io.netty.channel.socket.ChannelInputShutdownReadComplete} once more: look at
     * {@link #hasFailed} then. A read asked for meanwhile is dropped, as Netty drops it once the end was read: the end
     * stays ready, and would be read at every wait. On the channel's loop, not while its read is under way.
     */
    static boolean readAgainAtAnError(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll) || !epoll.isOpen() || !epoll.socket.isInputShutdown()
                || !epoll.inputClosedSeenErrorOnRead) {
            return false;
        }
        ((AbstractEpollChannel.AbstractEpollUnsafe) epoll.unsafe()).clearEpollIn0();
        if (!epoll.isOpen()) {
            return false;
        }
        epoll.inputClosedSeenErrorOnRead = false;
        return true;
    }

    /** How often a socket that no event would tell of its peer's reset is checked for one ({@link #hasFailed}). */
    public static final Duration ERROR_WATCH = Duration.ofSeconds(5);

    /**
     * Whether the socket of an open epoll channel holds an error ({@code SO_ERROR}), which this clears: a peer that
     * half-closed and then reset leaves one, which Netty's epoll does not read from an input-shut socket unless
     * {@link #readAgainAtAnError asked to}. False for other channels.
     */
    public static boolean hasFailed(Channel channel) {
        if (!(channel instanceof AbstractEpollChannel epoll) || !epoll.isOpen()) {
            return false;
        }
        try {
            return epoll.socket.getSoError() != 0;
        } catch (IOException e) {
            return true;
        }
    }

    private static void askForErrors(AbstractEpollChannel channel) {
        if (!channel.isOpen()) {
            return;
        }
        try {
            channel.setFlag(Native.EPOLLERR);
        } catch (IOException | UncheckedIOException e) {
            // Too late: epoll already dropped the fd (input ended with nothing asked for). Say so rather than
            // let the channel's next wait for EPOLLOUT fail silently.
            channel.pipeline().fireExceptionCaught(e);
        }
    }

    private static void askForErrorsNotPeerShutdown(AbstractEpollChannel channel) {
        askForErrors(channel);
        if (!channel.isOpen()) {
            return;
        }
        try {
            // Errors first: with nothing asked for, epoll would drop the fd.
            channel.clearFlag(Native.EPOLLRDHUP);
        } catch (IOException | UncheckedIOException e) {
            channel.pipeline().fireExceptionCaught(e);
        }
        if (channel.pipeline().get(QuietWhileIdle.NAME) == null) {
            channel.pipeline().addFirst(QuietWhileIdle.NAME, new QuietWhileIdle());
        }
    }
}
