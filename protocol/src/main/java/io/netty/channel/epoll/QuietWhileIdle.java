package io.netty.channel.epoll;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * First in the pipeline of a socket that reads only when asked ({@link
 * HalfClosedEpollChannels#keepRegisteredReadingOnlyWhenAsked}): keeps its loop idle once its output is shut, its reads
 * wait and its peer's FIN comes in. The kernel then raises EPOLLHUP, which no interest set can leave out and for which
 * Netty 4.2's epoll has no handler: level-triggered, every epoll_wait returned it at once and the loop spun until the
 * socket was read again, for ever if nobody asked. Edge-triggered it is reported once.
 *
 * <p>The socket is made edge-triggered by a task queued when a read completes or its output is shut, which finds no
 * read pending (while a read completes, EPOLLIN stays asked for until Netty's read handler returns), and made
 * level-triggered again in {@link #read} before the request reaches the transport, whichever handler asks: a read
 * asked for while EPOLLIN is asked for already changes nothing in epoll, and edge-triggered no new edge would come,
 * so bytes or an end of input already waiting would never be read.
 *
 * <p>A reset of the peer raises EPOLLERR, at which Netty reads the socket whether a read was asked for or not, and a
 * read takes the bytes still waiting, not the error: edge-triggered the reset is reported once and raised no other
 * event; level-triggered (output open) it came at every wait, each read passing on a buffer of bytes that nobody asked
 * for (a relay writes them whatever its other side's writability), until the receive queue was empty. So the socket's
 * error is looked at when bytes come with no read asked for (auto-read off), and one found is fired down the pipeline
 * as a {@link PeerResetWhileIdleException} instead of the bytes, and the socket closed should no handler have done so
 * (the look cleared the error, and a later read would find a clean end). While the socket stays edge-triggered, its
 * error is also looked at every {@link HalfClosedEpollChannels#ERROR_WATCH}, should no event come, and one found is
 * fired and the socket closed the same way.
 *
 * <p>Once the end of input was read, by whichever handler asked (a relay, a hold or an HTTP codec before it), Netty's
 * epoll reads the socket no more, and a reset of its peer raised no event: its EPOLLERR and EPOLLHUP came at every
 * wait, and the loop spun until a relay's look at the socket's error every {@link HalfClosedEpollChannels#ERROR_WATCH}
 * (dropped since, as this handler's cover it) closed it, or else until another bound ended the wait (before a stream's
 * ACK, --stream-open-timeout; for an HTTP visitor, the answer's first write or --proxy-timeout). It is {@linkplain
 * HalfClosedEpollChannels#readAgainAtAnError read once more} at the next EPOLLERR, a read the handlers behind do not
 * see: its error, if any, is fired down the pipeline as a {@link PeerResetWhileIdleException}, and the socket closed
 * should no handler have done so. A read again that finds no error arms the next, {@value #ROUNDS_WITHOUT_ERROR} times
 * at most (an EPOLLERR without SO_ERROR would have it read at every wait); the socket's error is then looked at every
 * {@link HalfClosedEpollChannels#ERROR_WATCH} instead, for as long as it is open, whoever owns it (neither a relay nor
 * an HTTP/1.1 visitor's connection looks itself), and one found is fired and the socket closed the same way. The error
 * is also looked at as the end of input is read, and one found fired instead of the end: a FIN that came before a reset
 * is read as the end, and a relay would pass on a clean end of what its peer sent.
 */
final class QuietWhileIdle extends ChannelDuplexHandler {

    static final String NAME = "quiet-while-idle";
    private static final long WATCH_MILLIS = HalfClosedEpollChannels.ERROR_WATCH.toMillis();
    /** A handler asked for a read since the last one completed; on the channel's loop only. */
    private boolean readAsked;
    /** Reads again of an input-shut socket that found no error, none asked by a handler, before they stop. */
    static final int ROUNDS_WITHOUT_ERROR = 3;

    /** The look at the socket's error ({@link HalfClosedEpollChannels#hasFailed}); a test's seam. */
    private final Predicate<Channel> failed;

    /** The look at the socket's error every {@link #WATCH_MILLIS} scheduled, or null; on the channel's loop only. */
    private Watch watch;
    /** Netty's epoll reads the input-shut socket again at its next EPOLLERR; on the channel's loop only. */
    private boolean readingAgain;
    /** A handler asked for a read while {@link #readingAgain}: the read again may be its, not an EPOLLERR's. */
    private boolean readAskedWhileReadingAgain;
    /** Reads again that found no error and that no handler asked for; on the channel's loop only. */
    private int roundsWithoutError;

    QuietWhileIdle() {
        this(HalfClosedEpollChannels::hasFailed);
    }

    QuietWhileIdle(Predicate<Channel> failed) {
        this.failed = failed;
    }

    /** An end of input read before this handler was added (while a hold kept it, say) is watched from now on. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        readAgainAtAnError(ctx);
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        HalfClosedEpollChannels.reportEventsWhileReady(ctx.channel());
        readAskedWhileReadingAgain |= readingAgain;
        readAsked = true;
        ctx.read();
    }

    /** Bytes no handler asked for: Netty read them at an EPOLLERR, a reset's unless the socket holds no error. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!readAsked && !ctx.channel().config().isAutoRead() && failed.test(ctx.channel())) {
            ReferenceCountUtil.release(msg);
            fail(ctx, PeerResetWhileIdleException.WHILE_READS_WAITED);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readAsked = false;
        if (readingAgain) {
            // The read again of an input-shut socket: it read no byte, the end came before.
            return;
        }
        ctx.fireChannelReadComplete();
        quietWhenIdle(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownReadComplete.INSTANCE && readingAgain) {
            readingAgain = false;
            endIfReset(ctx);
            return;
        }
        // Linux reads a FIN that came before a reset as the end: a handler that took it (a relay) would pass on a
        // clean end of what a peer that reset sent. Not the seam's look: the reads again after it count theirs.
        if (evt == ChannelInputShutdownEvent.INSTANCE && HalfClosedEpollChannels.hasFailed(ctx.channel())) {
            fail(ctx, PeerResetWhileIdleException.AFTER_END_OF_INPUT);
            return;
        }
        ctx.fireUserEventTriggered(evt);
        if (evt == ChannelOutputShutdownEvent.INSTANCE) {
            quietWhenIdle(ctx);
        } else if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
            readAgainAtAnError(ctx);
        }
    }

    /** After the read under way, which the end of input ended: set up before it returns, it would read again. */
    private void readAgainAtAnError(ChannelHandlerContext ctx) {
        try {
            ctx.executor().execute(() -> {
                // Or as armed already: a second task (this handler added just before the end's event) finds no end.
                if (!ctx.isRemoved() && HalfClosedEpollChannels.readAgainAtAnError(ctx.channel())) {
                    readingAgain = true;
                }
            });
        } catch (RejectedExecutionException stopped) {
            // The channel's loop has stopped, and closed it.
        }
    }

    /**
     * The read again came at an EPOLLERR, or for a read a handler asked: without an error the socket is read again at
     * the next, unless {@link #ROUNDS_WITHOUT_ERROR} reads no handler asked for found none, when its error is looked at
     * every {@link #WATCH_MILLIS} instead. A socket left open after its reset would report EPOLLHUP at every wait.
     */
    private void endIfReset(ChannelHandlerContext ctx) {
        boolean asked = readAskedWhileReadingAgain;
        readAskedWhileReadingAgain = false;
        if (!failed.test(ctx.channel())) {
            if (asked || ++roundsWithoutError < ROUNDS_WITHOUT_ERROR) {
                readAgainAtAnError(ctx);
            } else {
                watch(ctx, Watch.AFTER_END);
            }
            return;
        }
        fail(ctx, PeerResetWhileIdleException.AFTER_END_OF_INPUT);
    }

    /**
     * The look cleared the socket's error: nothing would tell of the reset again (a later read finds a clean end), so
     * the socket is closed should no handler have done so.
     */
    private void fail(ChannelHandlerContext ctx, String message) {
        ctx.fireExceptionCaught(new PeerResetWhileIdleException(message));
        if (ctx.channel().isOpen()) {
            ctx.close();
        }
    }

    private void quietWhenIdle(ChannelHandlerContext ctx) {
        if (!(ctx.channel() instanceof DuplexChannel duplex) || !duplex.isOutputShutdown()) {
            return;
        }
        try {
            ctx.executor().execute(() -> quietIfIdle(ctx));
        } catch (RejectedExecutionException stopped) {
            // The channel's loop has stopped, and closed it.
        }
    }

    /** A socket whose input has ended is not read again: its owner closes it or watches it itself. */
    private void quietIfIdle(ChannelHandlerContext ctx) {
        if (ctx.isRemoved() || !(ctx.channel() instanceof DuplexChannel duplex) || duplex.isInputShutdown()) {
            return;
        }
        if (HalfClosedEpollChannels.reportEventsOnceWhileIdle(ctx.channel())) {
            watch(ctx, Watch.WHILE_QUIET);
        }
    }

    /**
     * Looks at the socket's error every {@link #WATCH_MILLIS} for as long as {@code what} holds; one chain of looks
     * at a time, which, scheduled already, goes on for {@code what} from its next look (quieted, then its input ended:
     * {@link Watch#AFTER_END} may follow {@link Watch#WHILE_QUIET}, never the other way, an input-shut socket is not
     * quieted).
     */
    private void watch(ChannelHandlerContext ctx, Watch what) {
        boolean scheduled = watch != null;
        watch = what;
        if (!scheduled) {
            ctx.executor().schedule(() -> look(ctx), WATCH_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void look(ChannelHandlerContext ctx) {
        Watch what = watch;
        if (ctx.isRemoved() || !what.holds.test(ctx.channel())) {
            watch = null;
            return;
        }
        if (failed.test(ctx.channel())) {
            watch = null;
            fail(ctx, what.resetFound);
            return;
        }
        ctx.executor().schedule(() -> look(ctx), WATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Why the socket's error is looked at every {@link #WATCH_MILLIS}: while what holds; the words of one found. */
    private enum Watch {
        /** Quieted: edge-triggered, the socket reports its events once, and a reset might bring no look of its own. */
        WHILE_QUIET(channel -> channel.isActive() && HalfClosedEpollChannels.reportsEventsOnce(channel),
                PeerResetWhileIdleException.WHILE_READS_WAITED),
        /** The reads again at an EPOLLERR stopped at their bound: a reset that comes later raises no read. */
        AFTER_END(Channel::isOpen, PeerResetWhileIdleException.AFTER_END_OF_INPUT);

        private final Predicate<Channel> holds;
        private final String resetFound;

        Watch(Predicate<Channel> holds, String resetFound) {
            this.holds = holds;
            this.resetFound = resetFound;
        }
    }
}
