package io.picotunnel.server.e2e;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.function.LongToIntFunction;

import static io.picotunnel.testkit.Http2Frames.frame;
import static io.picotunnel.testkit.Http2Frames.headers;
import static org.awaitility.Awaitility.await;

/**
 * An HTTP/2 visitor written by hand over TLS (ALPN h2), on a TCP socket of its own so that it can end its output with
 * a FIN and no close_notify, or send a PROXY protocol header before TLS. A reader thread acknowledges the server's
 * SETTINGS, counts the credit WINDOW_UPDATEs give (per stream, and in all on the connection), notes each response's
 * status, body and end, the server's GOAWAY and RST_STREAMs, and sees the connection end. Sends DATA only as the
 * windows allow (65535 to start with); opens the server's windows only when told to ({@link #openWindows()}), and can
 * stop reading for a while ({@link #holdReading()}) so that what the server sends fills the sockets' buffers. Every
 * wait of it is bounded, its writes too: a write still blocked at its bound (the server reads too little) resets the
 * connection and fails saying so.
 */
final class RawHttp2Visitor implements AutoCloseable {

    private static final int DEFAULT_WINDOW = 65_535;
    private static final int MAX_FRAME = 16_384;
    /** How long a wait for the server (its credit, its PING ACK, its reading of a write) may take, unless told. */
    private static final Duration WAIT = Duration.ofMinutes(1);
    /**
     * How long {@link #close()} lets the TLS close take: once the reader ended, SSLSocket's close reads on for a byte
     * of the peer's, up to the read timeout (a minute), and past this bound the TCP socket under it is closed.
     */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    /**
     * Resets the connection of a write still blocked at its bound, closes that of a close past its own; a bound
     * cancelled is dropped at once.
     */
    private static final ScheduledExecutorService BOUNDS = bounds();

    private final Socket tcp;
    private final SSLSocket tls;
    private final OutputStream out;
    private final String host;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition credit = lock.newCondition();
    private long connectionWindow = DEFAULT_WINDOW;
    /** All the connection-level credit the server gave so far: its window at the start and its WINDOW_UPDATEs. */
    private long connectionCredit = DEFAULT_WINDOW;
    /** The windows of the streams credit came for or DATA went on; the others' is {@link #initialWindow}. */
    private final Map<Integer, Long> streamWindows = new HashMap<>();
    /** The server's INITIAL_WINDOW_SIZE; under the lock. */
    private long initialWindow = DEFAULT_WINDOW;
    private final Map<Integer, ByteArrayOutputStream> bodies = new ConcurrentHashMap<>();
    private final Map<Integer, Long> resets = new ConcurrentHashMap<>();
    /** The error code of the server's GOAWAY, -1 while none came. */
    private volatile long goAwayError = -1;
    private final Set<Integer> endedStreams = ConcurrentHashMap.newKeySet();
    private final Map<Integer, String> statuses = new ConcurrentHashMap<>();
    /** Reads the server's header blocks in the order they come, as HPACK's dynamic table needs; reader thread only. */
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
    private volatile boolean ended;
    /** What ended the reader thread: the server's end as it saw it, its own bound or failure; null while it reads. */
    private volatile Throwable endCause;
    /** The visitor closed or reset its socket itself: the end its reader sees then is not the server's. */
    private volatile boolean closedHere;
    /** The visitor ended its output itself (a FIN or a close_notify): a write of the reader's fails then, by its doing. */
    private volatile boolean outputEndedHere;
    private final AtomicLong pingAcks = new AtomicLong();
    /** While set, the reader thread reads nothing more: what the server sends stays in the sockets' buffers. */
    private boolean readingHeld;
    /** Until when (System.nanoTime) reading may stay held: past it, the reader gives up; under the lock. */
    private long readingHeldUntil;
    private Duration readingHeldAtMost;
    private final Condition readingResumed = lock.newCondition();
    /** Told the type of each frame the reader read, before the reader acts on it; reader thread only. */
    private volatile IntConsumer frameWatch = type -> { };

    private static ScheduledExecutorService bounds() {
        ScheduledThreadPoolExecutor bounds = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().name("h2-visitor-bounds").daemon().factory());
        bounds.setRemoveOnCancelPolicy(true);
        return bounds;
    }

    private RawHttp2Visitor(Socket tcp, SSLSocket tls, String host) throws IOException {
        this.tcp = tcp;
        this.host = host;
        this.tls = tls;
        this.out = tls.getOutputStream();
    }

    static RawHttp2Visitor connect(int port, String host, SSLContext context) throws IOException {
        return connectBehind(new byte[0], port, host, context);
    }

    /** As a front proxy would: {@code proxyHeader} (a PROXY protocol header) on the TCP socket before TLS begins. */
    static RawHttp2Visitor connectBehind(byte[] proxyHeader, int port, String host, SSLContext context)
            throws IOException {
        Socket tcp = new Socket(InetAddress.getLoopbackAddress(), port);
        tcp.getOutputStream().write(proxyHeader);
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, host, port, true);
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {"h2"});
        tls.setSSLParameters(parameters);
        tls.setSoTimeout(60_000);
        tls.startHandshake();
        if (!"h2".equals(tls.getApplicationProtocol())) {
            throw new IOException("ALPN chose " + tls.getApplicationProtocol() + ", not h2");
        }
        RawHttp2Visitor visitor = new RawHttp2Visitor(tcp, tls, host);
        visitor.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        visitor.write(frame(0x4, 0, 0, new byte[0]));
        Thread.ofVirtual().name("h2-visitor-reader").start(visitor::readFrames);
        return visitor;
    }

    int localPort() {
        return tcp.getLocalPort();
    }

    /** A POST's HEADERS on {@code stream}, not ending it: a body of {@code length} bytes follows. */
    void post(int stream, String path, long length) throws IOException {
        write(frame(0x1, 0x4, stream, headers(":method", "POST", ":scheme", "https", ":path", path,
                ":authority", host,
                "content-length", Long.toString(length))));
    }

    /** A POST on {@code stream} whose body is of no announced length (no content-length), not ending the stream. */
    void postOfUnknownLength(int stream, String path) throws IOException {
        write(frame(0x1, 0x4, stream, headers(":method", "POST", ":scheme", "https", ":path", path,
                ":authority", host)));
    }

    /** A GET on {@code stream} with {@code extraHeaders} (name, value, ...), ending the stream. */
    void get(int stream, String path, String... extraHeaders) throws IOException {
        List<String> fields = new ArrayList<>(List.of(":method", "GET", ":scheme", "https", ":path", path,
                ":authority", host));
        fields.addAll(List.of(extraHeaders));
        write(frame(0x1, 0x5, stream, headers(fields.toArray(String[]::new))));
    }

    /** DATA of {@code length} zero bytes on {@code stream}, ending it when {@code last}; within the initial windows. */
    void data(int stream, int length, boolean last) throws IOException {
        write(frame(0x0, last ? 0x1 : 0, stream, new byte[length]));
    }

    /**
     * A one-byte DATA frame on {@code stream} in the TLS record of a frame of unknown type on the connection
     * (stream 0), which the server ignores, of {@code fillerLength} bytes: the server reads them together.
     */
    void dataBehindFiller(int stream, int fillerLength) throws IOException {
        byte[] filler = frame(0xff, 0, 0, new byte[fillerLength]);
        byte[] data = frame(0x0, 0, stream, new byte[1]);
        byte[] both = Arrays.copyOf(filler, filler.length + data.length);
        System.arraycopy(data, 0, both, filler.length, data.length);
        write(both);
    }

    /** A frame of {@code type}, one HTTP/2 does not define, with {@code length} zero bytes on {@code stream}. */
    void unknownFrame(int type, int stream, int length) throws IOException {
        write(frame(type, 0, stream, new byte[length]));
    }

    /** Sends a PING and waits for its ACK, for a minute at most: the server has read all that was sent before. */
    void ping() throws IOException {
        long acked = pingAcks.get();
        write(frame(0x6, 0, 0, new byte[8]));
        lock.lock();
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (pingAcks.get() == acked) {
                long left = deadline - System.nanoTime();
                if (ended || left <= 0) {
                    throw new IOException("no PING ACK", endCause);
                }
                credit.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sends {@code count} PINGs in one write, waiting for no ACK; fails, the connection reset, when the write is still
     * blocked after {@code atMost}.
     */
    void pings(int count, Duration atMost) throws IOException {
        byte[] ping = frame(0x6, 0, 0, new byte[8]);
        byte[] all = new byte[ping.length * count];
        for (int i = 0; i < count; i++) {
            System.arraycopy(ping, 0, all, i * ping.length, ping.length);
        }
        write(all, atMost);
    }

    /**
     * Has the reader tell {@code watch} the type of each frame it reads from now on, before it acts on the frame; what
     * {@code watch} throws ends the reading, as {@link #endCause()} then says.
     */
    void watchFrames(IntConsumer watch) {
        frameWatch = watch;
    }

    /** The PING ACKs the server sent that the visitor read so far. */
    long pingAcks() {
        return pingAcks.get();
    }

    /** RST_STREAM(CANCEL) on {@code stream}: the visitor wants no more of its answer. */
    void cancel(int stream) throws IOException {
        write(frame(0x3, 0, stream, ByteBuffer.allocate(4).putInt(0x8).array()));
    }

    /** The :status of the response on {@code stream}, or null while none came. */
    String status(int stream) {
        return statuses.get(stream);
    }

    /**
     * Sends {@code length} zero bytes on {@code stream} as the windows allow, the last frame ending the stream;
     * {@code sent} counts them. Fails when no credit comes for a minute, or the connection fails.
     */
    void sendBody(int stream, long length, AtomicLong sent) {
        sendBody(stream, length, sent, offset -> 0);
    }

    /** As {@link #sendBody(int, long, AtomicLong)}, the byte at each offset of the body being {@code content}'s. */
    void sendBody(int stream, long length, AtomicLong sent, LongToIntFunction content) {
        sendBody(stream, length, sent, content, 0);
    }

    /**
     * As {@link #sendBody(int, long, AtomicLong)}, leaving {@code keep} bytes of the stream's window unused: what
     * {@link #data} may send once the stream stalled.
     */
    void sendBodyKeeping(int stream, long length, AtomicLong sent, int keep) {
        sendBody(stream, length, sent, offset -> 0, keep);
    }

    private void sendBody(int stream, long length, AtomicLong sent, LongToIntFunction content, int keep) {
        try {
            while (sent.get() < length) {
                int size = takeCredit(stream, (int) Math.min(MAX_FRAME, length - sent.get()), keep);
                boolean last = sent.get() + size == length;
                byte[] data = new byte[size];
                for (int i = 0; i < size; i++) {
                    data[i] = (byte) content.applyAsInt(sent.get() + i);
                }
                write(frame(0x0, last ? 0x1 : 0, stream, data));
                sent.addAndGet(size);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** All the DATA the server's connection-level flow control allowed so far: what it was ready to take in. */
    long connectionCredit() {
        lock.lock();
        try {
            return connectionCredit;
        } finally {
            lock.unlock();
        }
    }

    /** The DATA of the response on {@code stream} so far, as text. */
    String body(int stream) {
        ByteArrayOutputStream body = bodies.get(stream);
        if (body == null) {
            return "";
        }
        synchronized (body) {
            return body.toString(StandardCharsets.US_ASCII);
        }
    }

    /** The error code of the server's RST_STREAM on {@code stream}, or null when none came. */
    Long resetCode(int stream) {
        return resets.get(stream);
    }

    /** The error code of the server's GOAWAY, or -1 when none came. */
    long goAwayError() {
        return goAwayError;
    }

    /**
     * Lets the server send as much as it likes: the largest INITIAL_WINDOW_SIZE for every stream and the connection's
     * window opened to the largest too (RFC 9113, 6.9.1).
     */
    void openWindows() throws IOException {
        int largest = Integer.MAX_VALUE;
        write(frame(0x4, 0, 0, ByteBuffer.allocate(6).putShort((short) 0x4).putInt(largest).array()));
        write(frame(0x8, 0, 0, ByteBuffer.allocate(4).putInt(largest - DEFAULT_WINDOW).array()));
    }

    /**
     * Lets the server send no DATA on any stream until {@link #openWindows()}: an INITIAL_WINDOW_SIZE of 0 (HEADERS,
     * which take no credit, still come).
     */
    void closeWindows() throws IOException {
        write(frame(0x4, 0, 0, ByteBuffer.allocate(6).putShort((short) 0x4).putInt(0).array()));
    }

    /** From the next frame on, reads nothing until {@link #resumeReading()}, for a minute at most. */
    void holdReading() {
        holdReading(WAIT);
    }

    /**
     * From the next frame on, reads nothing until {@link #resumeReading()}; still held {@code atMost} from now, the
     * reader gives up and the visitor has ended ({@link #endCause()} says so).
     */
    void holdReading(Duration atMost) {
        lock.lock();
        try {
            readingHeld = true;
            readingHeldUntil = System.nanoTime() + atMost.toNanos();
            readingHeldAtMost = atMost;
        } finally {
            lock.unlock();
        }
    }

    void resumeReading() {
        lock.lock();
        try {
            readingHeld = false;
            readingResumed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends the TCP connection's output: a FIN, no TLS close_notify. */
    void endTcpOutput() throws IOException {
        outputEndedHere = true;
        tcp.shutdownOutput();
        lock.lock();
        try {
            credit.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends the TLS output with close_notify (TLS 1.3 half-close), the TCP connection staying open both ways. */
    void sendCloseNotify() throws IOException {
        synchronized (out) {
            outputEndedHere = true;
            tls.shutdownOutput();
        }
    }

    /** The INITIAL_WINDOW_SIZE of the server's SETTINGS: what each stream may send before a WINDOW_UPDATE. */
    long initialStreamWindow() {
        lock.lock();
        try {
            return initialWindow;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The reader ended: the server's FIN, a reset, or a TLS failure came; or the reader gave up, or failed on what it
     * read ({@link #endCause()} says which; {@link #awaitClosedByServer} waits for the server's end only).
     */
    boolean ended() {
        return ended;
    }

    /** What ended the visitor's reading (the server's end as the reader saw it, its own bound or failure), or null. */
    Throwable endCause() {
        return endCause;
    }

    /**
     * Waits up to {@code atMost} until {@code read} holds of what the reader read ({@link #status}, {@link #body}, ...),
     * {@code what} naming it in a failure. Fails at once, with what ended the reading as its cause, when the reading
     * ended before it held: nothing read after makes it hold, and the cause (a frame the reader could not read, a
     * watch's assertion, the server's end) says why, where a wait on {@code read} alone ran to its bound saying nothing.
     */
    void awaitRead(String what, Duration atMost, BooleanSupplier read) {
        await(what).atMost(atMost).until(() -> {
            // the end looked at before what was read: once it is set, all the reader read is in
            boolean endedBefore = ended;
            if (read.getAsBoolean()) {
                return true;
            }
            if (endedBefore) {
                throw new AssertionError(what + ": the visitor's reading ended before, by " + endCause, endCause);
            }
            return false;
        });
    }

    /**
     * Waits until the server ended the connection, as the reader saw it: the end of its stream (a FIN, or a
     * close_notify) or a reset. Fails, with what ended the reader as the cause, when the reader ended otherwise: it
     * failed on what it read, gave up a hold of its reading, or the visitor closed its socket itself.
     */
    void awaitClosedByServer(Duration atMost) {
        await("the server's end of the connection").atMost(atMost).until(this::ended);
        Throwable cause = endCause;
        if (!isTheSocketsEnd(cause)) {
            throw new AssertionError("the visitor's reading ended, not by the server's end of the connection"
                    + (closedHere ? " (the visitor closed or reset its socket itself)" : "") + ": " + cause, cause);
        }
    }

    /** An end or a reset of the socket, neither of them the visitor's own: not a failure of the reader. */
    private boolean isTheSocketsEnd(Throwable cause) {
        if (closedHere || !(cause instanceof IOException) || cause instanceof ReaderFailure) {
            return false;
        }
        for (Throwable link = cause; link != null; link = link.getCause()) {
            if (link instanceof EOFException || link instanceof SocketException) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code stream} ended with HEADERS or DATA carrying END_STREAM. */
    boolean endOfStream(int stream) {
        return endedStreams.contains(stream);
    }

    private int takeCredit(int stream, int wanted, int keep) throws IOException {
        lock.lock();
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (Math.min(connectionWindow, streamWindow(stream) - keep) <= 0) {
                if (ended || tcp.isOutputShutdown()) {
                    throw new IOException("the connection ended", endCause);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("no credit for a minute");
                }
                credit.awaitNanos(left);
            }
            int size = (int) Math.min(wanted, Math.min(connectionWindow, streamWindow(stream) - keep));
            connectionWindow -= size;
            streamWindows.put(stream, streamWindow(stream) - size);
            return size;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            lock.unlock();
        }
    }

    private void readFrames() {
        try {
            DataInputStream in = new DataInputStream(new BufferedInputStream(tls.getInputStream()));
            while (true) {
                awaitReadingAllowed();
                int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(length);
                if (payload.length < length) {
                    throw new EOFException("the connection ended within a frame, " + payload.length + " of its "
                            + length + " bytes read");
                }
                frameWatch.accept(type);
                requireFixedPart(type, payload);
                if (type == 0x4 && (flags & 0x1) == 0) {
                    applyInitialWindow(payload);
                    acknowledgeSettings();
                } else if (type == 0x8) {
                    grant(stream, ByteBuffer.wrap(payload).getInt() & 0x7fffffff);
                }
                if (type == 0x1) {
                    noteStatus(stream, flags, payload);
                } else if (type == 0x0) {
                    ByteArrayOutputStream body = bodies.computeIfAbsent(stream, id -> new ByteArrayOutputStream());
                    synchronized (body) {
                        body.write(payload, 0, payload.length - padding(flags, payload));
                    }
                } else if (type == 0x3) {
                    resets.put(stream, ByteBuffer.wrap(payload).getInt() & 0xffffffffL);
                } else if (type == 0x6 && (flags & 0x1) != 0) {
                    pingAcks.incrementAndGet();
                    grant(0, 0);
                } else if (type == 0x7) {
                    goAwayError = ByteBuffer.wrap(payload, 4, 4).getInt() & 0xffffffffL;
                }
                if ((type == 0x0 || type == 0x1) && (flags & 0x1) != 0) {
                    endedStreams.add(stream);
                }
            }
        } catch (Throwable e) {
            // the server's end, its reset, a frame this visitor cannot read, or an Error (a watch's assertion): the
            // test asks what came before, and a wait says what ended the reading
            endCause = e;
        } finally {
            ended = true;
            grant(0, 0);
        }
    }

    /**
     * Fails, naming the frame, when a frame the reader looks into is shorter than the fields it reads: a GOAWAY's last
     * stream and error code, a RST_STREAM's error code, a WINDOW_UPDATE's increment (RFC 9113, 6.4, 6.8, 6.9).
     */
    private static void requireFixedPart(int type, byte[] payload) throws IOException {
        String name = type == 0x7 ? "GOAWAY" : type == 0x3 ? "RST_STREAM" : type == 0x8 ? "WINDOW_UPDATE" : null;
        int least = type == 0x7 ? 8 : 4;
        if (name != null && payload.length < least) {
            throw new ReaderFailure("a " + name + " of " + payload.length + " bytes, " + least + " at least", null);
        }
    }

    /**
     * Acknowledges the server's SETTINGS, unless the visitor had ended its output: nothing more can go out then, and the
     * reading goes on (a SETTINGS read late, the reader's thread slow, must not end it before the server's end).
     */
    private void acknowledgeSettings() throws IOException {
        if (outputEndedHere) {
            return;
        }
        try {
            write(frame(0x4, 0x1, 0, new byte[0]));
        } catch (IOException e) {
            if (!outputEndedHere) {
                throw e;
            }
        }
    }

    /** Waits while reading is held, until the bound {@link #holdReading(Duration)} set. */
    private void awaitReadingAllowed() throws IOException {
        lock.lock();
        try {
            while (readingHeld) {
                long left = readingHeldUntil - System.nanoTime();
                if (left <= 0) {
                    throw new ReaderFailure("the reader gave up: reading held for more than " + readingHeldAtMost,
                            null);
                }
                readingResumed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            lock.unlock();
        }
    }

    /** Decodes a HEADERS frame's block (whole, not padded, without priority: as our server sends them). */
    private void noteStatus(int stream, int flags, byte[] payload) throws IOException {
        if ((flags & 0x4) == 0 || (flags & 0x28) != 0) {
            throw new ReaderFailure("a HEADERS frame this visitor does not read, flags " + flags, null);
        }
        try {
            CharSequence status = decoder.decodeHeaders(stream, Unpooled.wrappedBuffer(payload)).status();
            if (status != null) {
                statuses.putIfAbsent(stream, status.toString());
            }
        } catch (Http2Exception e) {
            throw new ReaderFailure("a header block this visitor could not decode", e);
        }
    }

    /** The padding and its length byte of a DATA frame: the body is what is left (RFC 9113, 6.1). */
    private static int padding(int flags, byte[] payload) {
        return (flags & 0x8) == 0 ? 0 : 1 + (payload[0] & 0xff);
    }

    /** A SETTINGS' INITIAL_WINDOW_SIZE moves the window of every stream by its change (RFC 9113, 6.9.2). */
    private void applyInitialWindow(byte[] settings) {
        ByteBuffer entries = ByteBuffer.wrap(settings);
        while (entries.remaining() >= 6) {
            int id = entries.getShort() & 0xffff;
            long value = entries.getInt() & 0xffffffffL;
            if (id == 0x4) {
                lock.lock();
                try {
                    streamWindows.replaceAll((stream, window) -> window + value - initialWindow);
                    initialWindow = value;
                    credit.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** Under the lock. */
    private long streamWindow(int stream) {
        return streamWindows.getOrDefault(stream, initialWindow);
    }

    private void grant(int stream, int bytes) {
        lock.lock();
        try {
            if (stream == 0) {
                connectionWindow += bytes;
                connectionCredit += bytes;
            } else {
                streamWindows.put(stream, streamWindow(stream) + bytes);
            }
            credit.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void write(byte[] bytes) throws IOException {
        write(bytes, WAIT);
    }

    /**
     * Writes {@code bytes}; when the write is still blocked after {@code atMost} (the server reads too little), resets
     * the connection, which ends the write, and fails saying so, as it does when the bound passed just as it returned.
     */
    private void write(byte[] bytes, Duration atMost) throws IOException {
        synchronized (out) {
            ScheduledFuture<?> bound = BOUNDS.schedule(this::resetQuietly, atMost.toNanos(),
                    TimeUnit.NANOSECONDS);
            IOException failure = null;
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                failure = e;
            }
            if (!bound.cancel(false)) {
                throw new IOException("a write of " + bytes.length + " bytes was still blocked after " + atMost
                        + " (the server read too little of it): the connection was reset", failure);
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    private void resetQuietly() {
        try {
            resetConnection();
        } catch (IOException e) {
            // closed already: the write it bounds has ended
        }
    }

    /** Ends the connection with a TCP reset: no close_notify, no GOAWAY, no FIN. */
    void resetConnection() throws IOException {
        closedHere = true;
        tcp.setSoLinger(true, 0);
        tcp.close();
    }

    /** Closes the TLS socket (a close_notify), within {@link #CLOSE_WAIT}: past it, the TCP socket under it. */
    @Override
    public void close() throws IOException {
        closedHere = true;
        ScheduledFuture<?> bound = BOUNDS.schedule(this::closeTcpQuietly, CLOSE_WAIT.toNanos(), TimeUnit.NANOSECONDS);
        try {
            tls.close();
        } finally {
            bound.cancel(false);
        }
    }

    private void closeTcpQuietly() {
        try {
            tcp.close();
        } catch (IOException e) {
            // closed already: the close it bounds has ended
        }
    }

    /**
     * The reader ends of its own accord: a frame it cannot read, its reading held past its bound, or a write of its own
     * on the output the visitor had ended.
     */
    private static final class ReaderFailure extends IOException {
        ReaderFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
