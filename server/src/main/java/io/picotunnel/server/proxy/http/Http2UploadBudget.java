package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelOption;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.Http2UnknownFrame;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.OnLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The upload bytes the server's HTTP/2 connections hold, all together, for streams whose body cannot go on into the
 * tunnel yet (their target reads slower than the visitor sends), kept within one budget, as a yamux session keeps
 * what its streams hold within {@code --session-buffer-limit}.
 *
 * <p>A stream's credit goes back to the visitor only as its body goes on into the tunnel, and Netty gives the
 * connection's credit back with the stream's: what a stalled stream was sent counts against the connection's window
 * too. So each connection's window is opened to twice its streams' windows (Netty sends the connection's
 * WINDOW_UPDATE once half of it was taken): however many of its streams stall, each holding at most its own window,
 * the others still have a stream window's worth of the connection's. What that lets the connections hold is bounded
 * server-wide instead: when the bytes held pass the budget, a stream of the connection that holds the most is ended,
 * the one of its streams whose body has gone longest without moving on, which ends its exchange and frees what it
 * held: answered 503 when its answer had not begun ({@link OverBudgetAnswer}), else reset (RST_STREAM
 * ENHANCE_YOUR_CALM); one whose request went into the tunnel whole before the end ran holds nothing, and goes on. The
 * connection that holds the most pays first, of those holding as much the newer: one
 * connection that fills the budget with streams it keeps moving a little cannot get another's older upload ended
 * (many connections holding a stream's window each still can: shares are per connection, not per address). Each DATA
 * frame held counts
 * {@link #FRAME_COST} beyond its bytes, as Netty queues one object per frame. A
 * frame is copied out of the buffer it was read into when it waits behind others of its stream, or is under
 * {@link #COPY_ALWAYS_BELOW}: the first frame of a stall, 4 KiB or more, keeps its read buffer (64 KiB and more)
 * alive beyond what it is counted for, once per stalled stream.
 *
 * <p>A frame is held from its arrival until it is written into the tunnel, or is dropped: waiting in its stream's
 * channel, in the proxy's own queue while the tunnel stream opens or the access check runs, in the tunnel stream's own
 * queue until its write is done ({@link #passedOnOnceWritten}: sent on the tunnel's connection, or failed), or anywhere
 * else on its way. Only then does its stream's credit go back to the visitor (Netty's automatic stream flow control is
 * off), so what a visitor keeps the server holding, however slow the tunnel side, is what the budget counts, but for
 * the read buffer each stalled stream's first frame may keep. The WINDOW_UPDATEs of the credit given back in one turn
 * of the connection's event loop go out in one flush.
 */
final class Http2UploadBudget {

    /** What a queued DATA frame costs in the heap beyond its bytes (Netty's frame, its buffer, the queue's slot). */
    static final int FRAME_COST = 128;

    private static final Logger LOG = LoggerFactory.getLogger(Http2UploadBudget.class);
    private static final long WARN_EVERY = TimeUnit.MINUTES.toNanos(1);
    private static final String CONNECTION_UPLOADS = "http2-upload-budget";
    /** DATA frames smaller than this are copied out of their read buffer however they are read; see withOwnBytes. */
    static final int COPY_ALWAYS_BELOW = 4096;
    /** Streams chosen to be reset by one arrival at most: a bound for the choice racing the streams' event loops. */
    private static final int MAX_CHOICES = 1024;
    private static final String READ_SPAN = "http2-upload-budget-reads";
    /**
     * How long the end of an upload waits at most for its request's last write into the tunnel: long enough for a
     * write done within a turn of the tunnel stream's busy loop, not for one that waits for the stream's window.
     */
    static final Duration LAST_WRITE_WAIT = Duration.ofSeconds(1);

    private final long limit;
    private final long lastWriteWaitNanos;
    private final AtomicLong held = new AtomicLong();
    /** What the streams being reset hold: they free it once reset, and no more streams are reset for it meanwhile. */
    private final AtomicLong freeing = new AtomicLong();
    private final AtomicLong order = new AtomicLong();
    /** The watched connections, open ones. */
    private final Set<ConnectionUploads> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong resetsUnlogged = new AtomicLong();
    /** The waits for a last write whose bound is still timed; see {@link #waitsTimed}. */
    private final AtomicLong waitsTimed = new AtomicLong();
    private final AtomicLong nextWarn = new AtomicLong(System.nanoTime());

    Http2UploadBudget(long limit) {
        this(limit, LAST_WRITE_WAIT);
    }

    /** As above, the end of an upload waiting at most {@code lastWriteWait} for its last write into the tunnel. */
    Http2UploadBudget(long limit, Duration lastWriteWait) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive");
        }
        this.limit = limit;
        this.lastWriteWaitNanos = lastWriteWait.toNanos();
    }

    /** The bytes held now, frames counted, over all connections. */
    long held() {
        return held.get();
    }

    /** What the streams chosen to be reset hold and free once reset, out of the budget's check meanwhile. */
    long freeing() {
        return freeing.get();
    }

    /** The waits for an upload's last write whose bound is still timed on the upload's loop. */
    long waitsTimed() {
        return waitsTimed.get();
    }

    /** Counts what the streams of {@code codec}'s connection hold and opens its window; the codec was just added. */
    void watchConnection(Channel connection, Http2FrameCodec codec) {
        ReadSpan reads = new ReadSpan();
        ConnectionUploads uploads = new ConnectionUploads(codec.connection(), reads);
        connections.add(uploads);
        connection.closeFuture().addListener(closed -> connections.remove(uploads));
        String codecName = connection.pipeline().context(codec).name();
        connection.pipeline().addBefore(codecName, READ_SPAN, reads);
        connection.pipeline().addAfter(codecName, CONNECTION_UPLOADS, uploads);
        codec.connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamActive(Http2Stream stream) {
                uploads.openWindowForStreams();
            }

            @Override
            public void onStreamClosed(Http2Stream stream) {
                uploads.openWindowForStreams();
                uploads.endHeld(stream.id());
            }
        });
    }

    /**
     * Counts what {@code stream}, a stream of a watched connection, holds of what it was sent, and gives its credit
     * back only as that goes on ({@link #passedOn}). Returns the codec that makes its frames HTTP messages, whose
     * pieces of the body stay counted until passed on.
     */
    Http2StreamFrameToHttpObjectCodec watchStream(Http2StreamChannel stream) {
        ConnectionUploads uploads = (ConnectionUploads) stream.parent().pipeline().get(CONNECTION_UPLOADS);
        if (uploads == null) {
            return new Http2StreamFrameToHttpObjectCodec(true);
        }
        HeldUpload upload = uploads.watch(stream);
        stream.config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, false);
        stream.pipeline().addFirst(upload);
        return new CountingCodec(upload);
    }

    /**
     * {@code msg}, read from an HTTP/2 stream, was dropped, or goes nowhere: what it held leaves the budget and its
     * credit goes back to the visitor. Anything but a piece of an upload counted here is left alone; a piece is passed
     * on once, the first time. On the stream's event loop.
     */
    static void passedOn(Object msg) {
        if (msg instanceof HeldPiece piece) {
            piece.credit().give();
        }
    }

    /**
     * {@code msg}, read from an HTTP/2 stream, goes on into the tunnel with {@code write}: it stays counted, and its
     * credit withheld, until the write is done, the bytes sent into the tunnel then (or, failed, nowhere); a tunnel
     * stream that cannot send (its window taken by a target that reads nothing) keeps what it was written counted.
     * As {@link #passedOn} otherwise. {@code write} may complete on another event loop.
     */
    static void passedOnOnceWritten(Object msg, Future<?> write) {
        if (msg instanceof HeldPiece piece) {
            Credit credit = piece.credit();
            write.addListener(done -> credit.giveOnItsLoop());
        }
    }

    private void arrived(HeldUpload upload, int cost) {
        if (upload.resetting) {
            return;
        }
        if (upload.bytes == 0) {
            upload.stalledSince = System.nanoTime();
        }
        upload.bytes += cost;
        if (upload.bytes == cost) {
            upload.owner.byStall.add(upload);
        }
        upload.owner.held.addAndGet(cost);
        if (held.addAndGet(cost) - freeing.get() > limit) {
            resetOnFullestConnection();
        }
    }

    private void taken(HeldUpload upload, int cost) {
        if (upload.resetting) {
            return; // what it held is freed as it ends
        }
        upload.owner.byStall.remove(upload);
        upload.bytes -= cost;
        upload.stalledSince = System.nanoTime();
        if (upload.bytes > 0) {
            upload.owner.byStall.add(upload);
        }
        upload.owner.held.addAndGet(-cost);
        held.addAndGet(-cost);
    }

    private void ended(HeldUpload upload) {
        synchronized (upload) { // against its choice on another connection's event loop
            upload.owner.byStall.remove(upload);
            held.addAndGet(-upload.bytes);
            upload.owner.held.addAndGet(upload.freeing - upload.bytes); // its connection stopped counting freeing
            if (!upload.checkedWhileAwaited) {
                freeing.addAndGet(-upload.freeing);
            }
            upload.bytes = 0;
            upload.freeing = 0;
            upload.resetting = true;
        }
    }

    /** Resets, while the budget is passed, the longest-stalled upload of the connection that holds the most. */
    private void resetOnFullestConnection() {
        Set<ConnectionUploads> nothingToChoose = null;
        for (int choice = 0; choice < MAX_CHOICES && held.get() - freeing.get() > limit; choice++) {
            ConnectionUploads fullest = fullestConnection(nothingToChoose);
            if (fullest == null) {
                return;
            }
            HeldUpload oldest = fullest.byStall.pollFirst();
            if (oldest == null) {
                // Its streams took what they held meanwhile, its count not yet down: not chosen again in this call,
                // where it would be each time, a scan of all connections each, until its count came down
                if (nothingToChoose == null) {
                    nothingToChoose = new HashSet<>();
                }
                nothingToChoose.add(fullest);
                continue;
            }
            synchronized (oldest) {
                if (oldest.resetting) {
                    continue;
                }
                oldest.resetting = true;
                oldest.freeing = oldest.bytes;
                freeing.addAndGet(oldest.freeing);
                fullest.held.addAndGet(-oldest.freeing);
            }
            oldest.stream.eventLoop().execute(() -> end(oldest, true));
        }
    }

    /** The connection holding the most, of those not in {@code skipped} (null: none skipped). */
    private ConnectionUploads fullestConnection(Set<ConnectionUploads> skipped) {
        ConnectionUploads fullest = null;
        long most = 0;
        for (ConnectionUploads connection : connections) {
            if (skipped != null && skipped.contains(connection)) {
                continue;
            }
            long connectionHeld = connection.held.get();
            // Of connections holding as much, the newer: a stalled upload that was there first is not the one to go
            boolean newer = fullest != null && connection.order > fullest.order;
            if (connectionHeld > most || connectionHeld == most && newer) {
                fullest = connection;
                most = connectionHeld;
            }
        }
        return fullest;
    }

    /**
     * Ends {@code upload}, chosen to free what it holds. Its request may have gone into the tunnel whole since it was
     * chosen (on another event loop, or by a task queued before this one), which {@link #taken} ignored: it holds
     * nothing then, and is left to go on, what it was counted for leaving the budget, the credit of its pieces given
     * back. Its request may be whole in the tunnel stream's queue, the last write under way on the stream's own loop
     * (a yamux stream runs on its session's): before any answer began, the end waits for that write
     * ({@link #awaitWrite}, what it holds counted in the budget meanwhile), then goes on as said if it succeeded,
     * answered or reset below if it failed or was not done within a short bound (a tunnel stream without window).
     * Once the answer began the end does not wait, and a wait ends as the answer's HEADERS go out: the stream is
     * reset then, unless the write was done by then (its completion not yet seen here), when it goes on. Else,
     * before any answer began (no HEADERS but 1xx sent) the stream's handler answers it if it can
     * ({@link OverBudgetAnswer}), and what it held leaves the budget at once, not once the answer is out; else the
     * stream is reset with ENHANCE_YOUR_CALM, and what it held leaves as its channel closes.
     */
    private void end(HeldUpload upload, boolean mayWait) {
        Http2StreamChannel stream = upload.stream;
        if (!stream.isActive()) {
            return;
        }
        OverBudgetAnswer handler = stream.pipeline().get(OverBudgetAnswer.class);
        boolean answerBegun = answerStarted(upload);
        // Once the answer began nothing bounds the wait (the response timeout is off while a target streams its answer)
        Future<?> writing = handler == null || answerBegun || !mayWait ? null : handler.lastRequestWriteUnderWay();
        if (writing != null && awaitWrite(upload, writing)) {
            return;
        }
        OverBudgetAnswer.Ending ending = handler == null ? OverBudgetAnswer.Ending.RESET
                : handler.endOverBudget(answerBegun);
        if (ending == OverBudgetAnswer.Ending.SENT_WHOLE) {
            ended(upload);
            upload.leftToGoOn();
            return;
        }
        boolean answered = ending == OverBudgetAnswer.Ending.ANSWERED;
        warnAtMostOnceAMinute(stream, answered);
        if (answered) {
            ended(upload);
            return;
        }
        stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.ENHANCE_YOUR_CALM))
                .addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Has the end of {@code upload} wait for {@code writing}, its request's last write into the tunnel, for this
     * budget's bound ({@link #LAST_WRITE_WAIT} by default) at most. What it holds counts in the budget's check again, as
     * before it was chosen, though it is not chosen again: other uploads are ended now for the arrival that chose it if
     * that arrival still passes the budget, and for any after it that does, so the budget stays a hard limit while the
     * write is awaited. False, the upload ended at once, if the budget is still passed once the others were chosen
     * (only uploads whose end waits are left holding what passes it), or if its loop cannot time the wait (it stops).
     */
    private boolean awaitWrite(HeldUpload upload, Future<?> writing) {
        synchronized (upload) { // against its end off its loop (the loop stops)
            if (!upload.checkedWhileAwaited) {
                upload.checkedWhileAwaited = true;
                freeing.addAndGet(-upload.freeing);
            }
        }
        resetOnFullestConnection();
        if (held.get() - freeing.get() > limit) {
            return false;
        }
        EventLoop loop = upload.stream.eventLoop();
        try {
            upload.waitBound = loop.schedule(upload::endOnceAwaited, lastWriteWaitNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException stopped) {
            return false;
        }
        waitsTimed.incrementAndGet();
        upload.awaitingWrite = true;
        writing.addListener(done -> OnLoop.run(loop, upload::endOnceAwaited, () -> ended(upload)));
        return true;
    }

    /** Whether the response's HEADERS went out on {@code upload}'s stream (an interim 1xx is no answer yet). */
    private static boolean answerStarted(HeldUpload upload) {
        Http2Stream stream = upload.owner.connection.stream(upload.stream.stream().id());
        return stream == null || stream.isHeadersSent();
    }

    private void warnAtMostOnceAMinute(Http2StreamChannel stream, boolean answered) {
        long resets = resetsUnlogged.incrementAndGet();
        long now = System.nanoTime();
        long next = nextWarn.get();
        if (now - next >= 0 && nextWarn.compareAndSet(next, now + WARN_EVERY)) {
            resetsUnlogged.addAndGet(-resets);
            LOG.warn("HTTP/2 uploads held {} bytes for targets slower than their visitors, more than the {} bytes of"
                            + " --session-buffer-limit: ended, on the connection holding the most, the stream whose upload"
                            + " had gone longest without moving on, answered 503 server_buffer_full if its answer had not"
                            + " begun, else reset (stream {} of {}: {}; {} such streams since the last line)",
                    held.get(), limit, stream.stream().id(), stream.parent().remoteAddress(),
                    answered ? "answered 503" : "reset", resets);
        }
    }

    /**
     * A handler of an upload's stream that answers the visitor itself when the budget ends the upload before any
     * answer began, so that the visitor gets an HTTP answer rather than a bare stream error; and that tells when the
     * upload's request went into the tunnel whole meanwhile, so that an exchange the budget no longer needs to end
     * goes on.
     */
    interface OverBudgetAnswer extends ChannelHandler {

        /** What became of an upload the budget ends. */
        enum Ending {
            /** Its request had gone into the tunnel whole (the writes done): nothing of it is held, it goes on. */
            SENT_WHOLE,
            /** Answered here; the handler stops the rest of the upload and resets the request's stream up the tunnel. */
            ANSWERED,
            /** Neither (its answer began, or its exchange is over): the budget resets the stream. */
            RESET
        }

        /**
         * On the stream's event loop: leaves the upload alone when its request went into the tunnel whole; else, unless
         * {@code answerBegun} (the response's HEADERS went out), answers the request with the answer's END_STREAM,
         * stops the rest of the upload (RST_STREAM NO_ERROR once the answer is out, RFC 9113 8.1), ends the request's
         * stream up the tunnel with a reset, and lets go at once of what the proxy holds of the upload, dropping what
         * still comes.
         */
        Ending endOverBudget(boolean answerBegun);

        /**
         * On the stream's event loop: the write of the request's last piece into the tunnel while it is under way, the
         * request whole in the tunnel stream's queue; else null. The budget decides once that write is done: sent
         * whole, or failed.
         */
        Future<?> lastRequestWriteUnderWay();
    }

    /** One stream's part: the bytes (frames counted) it was sent and has not taken. On its connection's event loop. */
    private final class HeldUpload extends ChannelDuplexHandler {
        final Http2StreamChannel stream;
        final ConnectionUploads owner;
        final long order = Http2UploadBudget.this.order.incrementAndGet();
        /** Changed only while out of its connection's {@code byStall}, whose order it sets. */
        volatile long stalledSince;
        volatile boolean resetting;
        volatile long bytes;
        /** What {@link #freeing} counts of it once it was chosen to be reset; freed, as all it holds, as it ends. */
        volatile long freeing;
        /** Chosen, but its request had gone into the tunnel whole: the exchange goes on. On the stream's event loop. */
        private boolean wentOn;
        /** The credit of its pieces passed on since it was chosen, given back only if it goes on. Its event loop. */
        private long creditWithheld;
        /** Its end waits for the last write into the tunnel, its answer not begun. On the stream's event loop. */
        private boolean awaitingWrite;
        /** Ends the wait for the last write at its bound. On the stream's event loop. */
        private Future<?> waitBound;
        /**
         * Its end waited for its last write: what it holds counts in the budget's check again, out of {@link #freeing}
         * (its own {@code freeing} kept for its connection's count).
         */
        volatile boolean checkedWhileAwaited;

        HeldUpload(Http2StreamChannel stream, ConnectionUploads owner) {
            this.stream = stream;
            this.owner = owner;
        }

        /** A piece of {@code flowBytes} (padding included) is in the tunnel or dropped: out of the budget, credit back. */
        void passedOn(int flowBytes) {
            taken(this, flowBytes + FRAME_COST);
            if (flowBytes <= 0 || !stream.isActive()) {
                return;
            }
            if (resetting && !wentOn) { // an upload ended gets no credit to send more
                creditWithheld += flowBytes;
                return;
            }
            giveCredit(flowBytes);
        }

        /**
         * Its request went into the tunnel whole after it was chosen: the credit of its pieces comes back as it would
         * have, the connection's with it (Netty's is given back with the stream's), though the stream may stay open
         * for a long answer. Their bytes left the budget as it ended.
         */
        void leftToGoOn() {
            wentOn = true;
            if (creditWithheld > 0 && stream.isActive()) {
                giveCredit((int) Math.min(creditWithheld, Integer.MAX_VALUE));
            }
            creditWithheld = 0;
        }

        /**
         * Its end, awaited, runs now: the write is done, the answer began (nothing bounds the wait then), or the wait's
         * bound passed (the write still under way, it is ended as one whose request is not whole in the tunnel).
         */
        void endOnceAwaited() {
            if (awaitingWrite) {
                stopWaiting();
                end(this, false);
            }
        }

        /** Ends the wait for the last write, its bound no longer timed: that timer would keep the stream reachable. */
        private void stopWaiting() {
            if (awaitingWrite) {
                awaitingWrite = false;
                waitBound.cancel(false);
                waitBound = null;
                waitsTimed.decrementAndGet();
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            // A response's HEADERS but a 1xx (trailers have no status)
            boolean answerBegins = awaitingWrite && msg instanceof Http2HeadersFrame head
                    && head.headers().status() != null && !head.headers().status().toString().startsWith("1");
            ctx.write(msg, promise);
            if (answerBegins) {
                try {
                    ctx.executor().execute(this::endOnceAwaited);
                } catch (RejectedExecutionException stopped) {
                    ended(this); // the server stops
                }
            }
        }

        private void giveCredit(int flowBytes) {
            stream.write(new DefaultHttp2WindowUpdateFrame(flowBytes));
            owner.flushCreditSoon();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            stopWaiting();
            ended(this);
            ConnectionUploads uploads = (ConnectionUploads) stream.parent().pipeline().get(CONNECTION_UPLOADS);
            if (uploads != null) {
                uploads.streams.remove(stream.stream().id());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            stopWaiting();
            ended(this);
            ctx.fireChannelInactive();
        }
    }

    /** Between the codec and the streams: counts each stream's DATA as it arrives, and sizes the connection window. */
    private final class ConnectionUploads extends ChannelInboundHandlerAdapter {
        final Map<Integer, HeldUpload> streams = new HashMap<>();
        /** Of connections holding as much, the newer is chosen. */
        final long order = Http2UploadBudget.this.order.incrementAndGet();
        /** What its streams hold, frames counted, but for those chosen to be reset. */
        final AtomicLong held = new AtomicLong();
        /** Its streams holding bytes, but for those chosen to be reset, longest stalled first. */
        final ConcurrentSkipListSet<HeldUpload> byStall = new ConcurrentSkipListSet<>(Comparator
                .comparingLong((HeldUpload upload) -> upload.stalledSince).thenComparingLong(upload -> upload.order));
        private final Http2Connection connection;
        private final ReadSpan reads;
        private Channel channel;
        /** A flush of the WINDOW_UPDATEs written for credit given back is queued; on the event loop. */
        private boolean creditFlushQueued;

        ConnectionUploads(Http2Connection connection, ReadSpan reads) {
            this.connection = connection;
            this.reads = reads;
        }

        HeldUpload watch(Http2StreamChannel stream) {
            HeldUpload upload = new HeldUpload(stream, this);
            streams.put(stream.stream().id(), upload);
            return upload;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        /**
         * Closes the channel of {@code streamId}, just closed, if it is still open: Netty closes a stream's channel
         * only once the application read all it was sent, and an upload whose body waits for the tunnel reads nothing
         * more, so its exchange, its stream up the tunnel and what it holds would stay after the visitor left. What it
         * has not read may be no DATA at all (trailers), so whether it holds bytes does not tell.
         */
        void endHeld(int streamId) {
            HeldUpload upload = streams.get(streamId);
            if (upload != null && upload.stream.isActive()) {
                upload.stream.eventLoop().execute(upload.stream::close);
            }
        }

        /**
         * Counts DATA as it arrives; drops frames of types HTTP/2 does not define: nothing here reads them, and
         * a stream that waits for the tunnel would queue them without bound (they take no flow-control credit).
         */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2UnknownFrame unknown) {
                unknown.release();
                return;
            }
            if (msg instanceof Http2DataFrame data) {
                HeldUpload upload = streams.get(data.stream().id());
                if (upload != null) {
                    // Behind others of its stream not in the tunnel yet (in its channel, the proxy's queue or the
                    // tunnel stream's), or small: the first frame of a stall (the tunnel stream opening or not
                    // writable) waits too, counted for its own bytes
                    boolean copied = upload.bytes > 0 || data.content().readableBytes() < COPY_ALWAYS_BELOW;
                    arrived(upload, cost(data));
                    if (copied) {
                        msg = withOwnBytes(data, ctx.alloc());
                    }
                }
            }
            ctx.fireChannelRead(msg);
        }

        /**
         * Twice the open streams' windows, never below HTTP/2's own 64 KiB; a smaller one takes effect as credit
         * returns. A larger one goes out as a WINDOW_UPDATE, flushed here only outside a read: the codec flushes what
         * a read wrote as the read completes, and a stream opens (the window grows) as a read decodes its HEADERS.
         */
        void openWindowForStreams() {
            Http2LocalFlowController flow = connection.local().flowController();
            Http2Stream whole = connection.connectionStream();
            long wanted = Math.max(flow.initialWindowSize(),
                    2L * connection.numActiveStreams() * flow.initialWindowSize());
            int delta = (int) (Math.min(wanted, Integer.MAX_VALUE) - flow.initialWindowSize(whole));
            if (delta == 0) {
                return;
            }
            try {
                flow.incrementWindowSize(whole, delta);
            } catch (Http2Exception e) {
                throw new IllegalStateException(e); // not for a window within 2^31 - 1
            }
            if (delta > 0 && !reads.reading) {
                channel.flush();
            }
        }

        /**
         * Flushes the WINDOW_UPDATEs that credit given back wrote, once for all of it given back in this turn of the
         * event loop: within a read the codec flushes as the read completes; else a task queued now does, behind the
         * tasks already queued (the credit of writes into the tunnel done together comes back in tasks queued
         * together). A flush per piece would send a TLS record, and make a system call, per WINDOW_UPDATE.
         */
        void flushCreditSoon() {
            if (reads.reading || creditFlushQueued) {
                return;
            }
            creditFlushQueued = true;
            try {
                channel.eventLoop().execute(() -> {
                    creditFlushQueued = false;
                    channel.flush();
                });
            } catch (RejectedExecutionException stopped) {
                creditFlushQueued = false; // the server stops: nobody waits for the credit
            }
        }
    }

    /** Before the codec: whether the connection is within a read, whose end the codec flushes. On its event loop. */
    private static final class ReadSpan extends ChannelInboundHandlerAdapter {
        boolean reading;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            reading = true;
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            try {
                ctx.fireChannelReadComplete();
            } finally {
                reading = false;
            }
        }
    }

    /**
     * {@code data}, or, when its content is less than half the buffer it keeps alive, a frame with a copy of just its
     * bytes: Netty's frame reader slices each payload out of the buffer its TLS records were decrypted into (as large
     * as what one read brought, 64 KiB and more), so a frame waiting for its stream would keep that whole buffer alive
     * while counted for its own bytes. A frame is 16 KiB at most, and so is its copy. Without memory for the copy, the
     * frame stays as it is.
     */
    static Http2DataFrame withOwnBytes(Http2DataFrame data, ByteBufAllocator alloc) {
        ByteBuf content = data.content();
        int length = content.readableBytes();
        ByteBuf whole = content.unwrap() != null ? content.unwrap() : content;
        if (whole.capacity() <= 2L * length) {
            return data;
        }
        ByteBuf copy = null;
        try {
            copy = alloc.heapBuffer(length).writeBytes(content, content.readerIndex(), length);
            Http2DataFrame own = new DefaultHttp2DataFrame(copy, data.isEndStream(), data.padding()).stream(data.stream());
            data.release();
            return own;
        } catch (OutOfMemoryError | RuntimeException e) {
            if (copy != null) {
                copy.release();
            }
            return data;
        }
    }

    private static int cost(Http2DataFrame data) {
        return data.initialFlowControlledBytes() + FRAME_COST;
    }

    /** Makes a stream's frames HTTP messages, each piece of the body one that stays counted until passed on. */
    private static final class CountingCodec extends Http2StreamFrameToHttpObjectCodec {
        private final HeldUpload upload;

        CountingCodec(HeldUpload upload) {
            super(true);
            this.upload = upload;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, Http2StreamFrame frame, List<Object> out) throws Exception {
            int before = out.size();
            super.decode(ctx, frame, out);
            if (frame instanceof Http2DataFrame data && out.size() == before + 1
                    && out.get(before) instanceof HttpContent content) {
                int flowBytes = data.initialFlowControlledBytes();
                out.set(before, content instanceof LastHttpContent last
                        ? new HeldLastContent(last, upload, flowBytes) : new HeldContent(content, upload, flowBytes));
            }
        }
    }

    /** A piece of an upload, counted and its credit held until passed on. */
    private interface HeldPiece {
        Credit credit();
    }

    /** What a piece gives back once passed on, the first time. On its stream's event loop. */
    private static final class Credit {
        private final HeldUpload upload;
        private final int flowBytes;
        private boolean given;

        Credit(HeldUpload upload, int flowBytes) {
            this.upload = upload;
            this.flowBytes = flowBytes;
        }

        void give() {
            if (!given) {
                given = true;
                upload.passedOn(flowBytes);
            }
        }

        /** From any thread: gives it on its stream's event loop; a loop that stops has nobody to give it to. */
        void giveOnItsLoop() {
            OnLoop.run(upload.stream.eventLoop(), this::give, () -> {
            });
        }
    }

    private static final class HeldContent extends DefaultHttpContent implements HeldPiece {
        private final Credit credit;

        HeldContent(HttpContent decoded, HeldUpload upload, int flowBytes) {
            super(decoded.content()); // takes over the codec's reference
            this.credit = new Credit(upload, flowBytes);
        }

        @Override
        public Credit credit() {
            return credit;
        }
    }

    private static final class HeldLastContent extends DefaultLastHttpContent implements HeldPiece {
        private final Credit credit;

        HeldLastContent(LastHttpContent decoded, HeldUpload upload, int flowBytes) {
            super(decoded.content(), decoded.trailingHeaders()); // takes over the codec's reference
            this.credit = new Credit(upload, flowBytes);
        }

        @Override
        public Credit credit() {
            return credit;
        }
    }
}
