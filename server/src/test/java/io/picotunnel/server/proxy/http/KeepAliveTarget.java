package io.picotunnel.server.proxy.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;

/**
 * An HTTP/1.1 target written on plain sockets, so that tests see its connections: it numbers each accepted
 * connection (answers say {@code conn=N}), counts them and counts those that ended. Paths:
 * <ul>
 * <li>{@code /ok}: 200 with Content-Length, keep-alive; {@code /chunked} the same chunked; {@code /trailers} the
 * same chunked with the trailer {@code X-Checksum: 4711}.</li>
 * <li>{@code /close}: 200 with {@code Connection: close}, but the socket stays open (reads on), so only the proxy
 * can end it.</li>
 * <li>{@code /close-delimited}: 200 with {@code Connection: close} and neither length nor chunked, its body ended by
 * the close.</li>
 * <li>{@code /http10}: an HTTP/1.0 answer without keep-alive; the socket stays open as for {@code /close}.</li>
 * <li>{@code /connection-named}: 200 with Content-Length, keep-alive, whose {@code Connection} names
 * {@code X-Hop} (sent too, with {@code Keep-Alive}); {@code X-Kept} is an end-to-end header beside them.</li>
 * <li>{@code /cut}: 200 announcing 100 bytes, 10 sent, then output shut down (input stays open).</li>
 * <li>{@code /upgrade}: 101 to {@code echo}, then echoes bytes.</li>
 * <li>{@code /early}: 200 at once without reading the request's body, then reads and drops everything.</li>
 * <li>{@code /head-late-body}: (to HEAD) the head of a 200 announcing a body, keep-alive; the body (which reads as
 * a whole response) only once the next request on the connection has begun to arrive, then that request's
 * answer. {@code /no-content-late-body}: the same with a 204 announcing a body, {@code /not-modified-late-body}
 * with a 304.</li>
 * <li>{@code /not-modified-then-bytes}: a 304 without Content-Length, keep-alive; then, once {@link #sendLateBytes}
 * was called, a body without a line break (JSON as a file server sends it), and reads on.</li>
 * <li>{@code /refuse-expect}: 417 at once without reading the request's body, keep-alive: the body, unread, is
 * taken for the start of the next request (the target RFC 9110 10.1.1 asks not to be).</li>
 * <li>{@code /static}: 200 to GET, 405 to any other method, at once and keep-alive, without reading the request's
 * body (as many static file servers do): the body, unread, is taken for the start of the next request.</li>
 * <li>{@code /unread-body}: 200 at once, keep-alive, without reading the request's body, and nothing read on the
 * connection after that (it stays open until the proxy ends it or {@link #close}): neither the unread body nor
 * a request behind it gets an answer or a close.</li>
 * <li>{@code /hang}: no answer; reads on.</li>
 * <li>{@code /stall}: 200 announcing 100 bytes, 10 sent, then nothing more, the socket kept open (reads on);
 * {@code /stall-chunked} the same with one chunk of 10 bytes and no last chunk.</li>
 * <li>{@code /trickle}: a chunked 200 whose four chunks come {@link #TRICKLE_PACE} apart.</li>
 * <li>{@code /processing}: five 102 Processing 0.6 s apart, then 200 as {@code /ok}; {@code /processing-forever}:
 * 102 Processing every 0.25 s and never a final answer (for 100 s at most, or until a write fails);
 * {@code /processing-unread}: the same without reading the request's body (nor saying 100 Continue to it);
 * {@code /processing-after-body}: once the request's body was read whole, 102 Processing every
 * {@link #PROCESSING_AFTER_BODY_PACE} for {@link #PROCESSING_AFTER_BODY}, then 200 as {@code /ok}.</li>
 * <li>{@code /status/CODE}: an answer with the status line {@code HTTP/1.1 CODE Odd}, as {@code /ok} otherwise (CODE
 * as sent: {@code 099}, {@code 0200}, {@code 1000}).</li>
 * <li>{@code /bad-header-name}: 200 as {@code /ok} with a header whose name of {@link #BAD_HEADER_NAME_LENGTH}
 * characters begins with an escape sequence ({@code ESC [31m}), which no HTTP decoder takes.</li>
 * <li>{@code /reset-content}: a 205 that announces and sends a body of 5 bytes ({@code reset}), keep-alive;
 * {@code /reset-content-chunked} the same chunked; {@code /reset-content-unframed} a 205 with neither length nor
 * chunked, then the close (the third way RFC 9110 15.3.6 gives a 205 to say it has no content);
 * {@code /reset-content-unframed-open} the same head, the connection kept open (reads on), which breaks RFC 9110
 * 15.3.6 (a 205 with content) but is what a framework writing a bare 205 head does;
 * {@code /reset-content-trailers} a chunked 205 whose last chunk carries the trailer {@code X-Checksum: 4711}, in
 * one write with its data, keep-alive; {@code /reset-content-trailers-split} the same with the trailers in a write of
 * their own, once {@link #sendSplitTrailers} is called (a test calls it when its visitor has the 205's head, so the
 * proxy read the rest before); not called within {@link #SPLIT_TRAILERS_WAIT}, the connection ends without them.</li>
 * <li>{@code /early-hints}: 103 Early Hints with a {@code Link} header, then 200 as {@code /ok}.</li>
 * <li>{@code /big}: 200 with a body of 64 MiB, written as fast as it is taken; the connection ends when a write
 * fails.</li>
 * <li>{@code /gate}: as {@code /ok}, once {@link #openGate} was called (requests held open together).</li>
 * <li>{@code /flaky}: as {@code /ok} for the first request on a connection; on a later one the connection is
 * closed without an answer (an idle connection the target closes just as a request arrives).</li>
 * </ul>
 */
final class KeepAliveTarget implements AutoCloseable {

    /** How long {@code /processing-after-body} says 102 Processing once the body came, before its answer. */
    static final Duration PROCESSING_AFTER_BODY = Duration.ofSeconds(10);
    /**
     * A proxy timeout that the 102 Processing of {@code /processing} (0.6 s apart) and {@code /processing-forever}
     * (0.25 s apart) keep within by over 1 s each time, on a loaded machine too: for their tests.
     */
    static final Duration PACED_PROXY_TIMEOUT = Duration.ofSeconds(2);
    /** How often {@code /processing-after-body} says 102 Processing: half the proxy timeout its test sets. */
    static final Duration PROCESSING_AFTER_BODY_PACE = PACED_PROXY_TIMEOUT.dividedBy(2);
    /** How far apart {@code /trickle}'s chunks come: half the proxy timeout its test sets. */
    static final Duration TRICKLE_PACE = PACED_PROXY_TIMEOUT.dividedBy(2);

    /** How long {@code /reset-content-trailers-split} waits for {@link #sendSplitTrailers}. */
    static final Duration SPLIT_TRAILERS_WAIT = Duration.ofSeconds(30);

    /** The length of {@code /bad-header-name}'s header name. */
    static final int BAD_HEADER_NAME_LENGTH = 400;

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger ended = new AtomicInteger();
    /** Connections waiting for their next request. */
    private final Set<Socket> idle = ConcurrentHashMap.newKeySet();
    private final Set<Socket> all = ConcurrentHashMap.newKeySet();
    private final CountDownLatch gate = new CountDownLatch(1);
    private final CountDownLatch lateBytes = new CountDownLatch(1);
    private final CountDownLatch closing = new CountDownLatch(1);
    private final CountDownLatch splitTrailers = new CountDownLatch(1);
    private final AtomicInteger lateBytesSent = new AtomicInteger();
    private final List<String> paths = new CopyOnWriteArrayList<>();

    KeepAliveTarget() throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        threads.execute(this::acceptLoop);
    }

    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Connections accepted so far. */
    int accepted() {
        return accepted.get();
    }

    /** The path of every request the target read, in order. */
    List<String> paths() {
        return List.copyOf(paths);
    }

    /** Connections that ended (EOF or error from the proxy's side, or closed here). */
    int ended() {
        return ended.get();
    }

    /** Connections waiting for their next request: one answered counts once its thread is back to reading. */
    int idleConnections() {
        return idle.size();
    }

    /** Closes every connection that waits for its next request, as a target's own keep-alive timeout does. */
    void closeIdleConnections() throws IOException {
        for (Socket socket : idle) {
            socket.close();
        }
    }

    /** Lets every {@code /not-modified-then-bytes} connection, waiting or still to come, send its late bytes. */
    void sendLateBytes() {
        lateBytes.countDown();
    }

    /** Connections that sent the late bytes of {@code /not-modified-then-bytes}. */
    int lateBytesSent() {
        return lateBytesSent.get();
    }

    /** Lets every {@code /reset-content-trailers-split} answer, waiting or still to come, send its trailers. */
    void sendSplitTrailers() {
        splitTrailers.countDown();
    }

    /** Lets every {@code /gate} request, waiting or still to come, have its answer. */
    void openGate() {
        gate.countDown();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                int id = accepted.incrementAndGet();
                all.add(socket);
                threads.execute(() -> serve(socket, id));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket, int id) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            for (int request = 1; ; request++) {
                idle.add(socket);
                String line = line(in);
                idle.remove(socket);
                if (line == null) {
                    return;
                }
                String[] parts = line.split(" ");
                if (parts.length != 3) {
                    send(out, "400 Bad Request", "Content-Length: 0\r\nConnection: close", "");
                    return;
                }
                String path = parts[1];
                paths.add(path);
                Map<String, String> headers = headers(in);
                String body = "conn=" + id;
                switch (path) {
                    case "/ok" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/head-with-body" -> {
                        // A target bug nginx meets too: the body of a GET in answer to HEAD.
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/head-late-body", "/no-content-late-body", "/not-modified-late-body" -> {
                        readBody(in, headers);
                        String stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray";
                        String status = switch (path) {
                            case "/head-late-body" -> "200 OK";
                            case "/no-content-late-body" -> "204 No Content";
                            default -> "304 Not Modified";
                        };
                        send(out, status, "Content-Length: " + stray.length(), "");
                        if (in.read() < 0) {
                            return;
                        }
                        // The body, late: the first byte of the next request is here.
                        out.write(stray.getBytes(StandardCharsets.US_ASCII));
                        line(in);
                        readBody(in, headers(in));
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/not-modified-then-bytes" -> {
                        readBody(in, headers);
                        send(out, "304 Not Modified", "ETag: \"1\"", "");
                        if (!lateBytes.await(30, TimeUnit.SECONDS)) {
                            return;
                        }
                        out.write("{\"user\":\"alice\",\"balance\":100}".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        lateBytesSent.incrementAndGet();
                    }
                    case "/not-modified-with-bytes" -> {
                        // A body after a 304 that announced none, in the same write, without a line break.
                        readBody(in, headers);
                        send(out, "304 Not Modified", "ETag: \"1\"", "{\"user\":\"alice\"}");
                    }
                    case "/empty-with-bytes" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: 0", "{\"user\":\"alice\"}");
                    }
                    case "/past-length" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: 2", "okgarbage-bytes");
                    }
                    case "/two-answers" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length(), body
                                + "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nunasked");
                    }
                    case "/connection-named" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length()
                                + "\r\nConnection: keep-alive, X-Hop\r\nX-Hop: hop\r\nKeep-Alive: timeout=5\r\nX-Kept: yes",
                                body);
                    }
                    case "/chunked", "/trailers" -> {
                        readBody(in, headers);
                        String trailers = path.equals("/trailers") ? "X-Checksum: 4711\r\n" : "";
                        out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n" + trailers + "\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    case "/gzip-chunked" -> {
                        // A transfer coding other than chunked: the chunks carry gzip's bytes of the body.
                        readBody(in, headers);
                        ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
                        try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
                            gzip.write(body.getBytes(StandardCharsets.US_ASCII));
                        }
                        out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                + Integer.toHexString(gzipped.size()) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(gzipped.toByteArray());
                        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    case "/close" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length() + "\r\nConnection: close", body);
                        drainUntilEof(in);
                        return;
                    }
                    case "/close-delimited" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Connection: close", body);
                        return;
                    }
                    case "/http10" -> {
                        readBody(in, headers);
                        out.write(("HTTP/1.0 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        drainUntilEof(in);
                        return;
                    }
                    case "/cut" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: 100", "0123456789");
                        socket.shutdownOutput();
                        drainUntilEof(in);
                        return;
                    }
                    case "/upgrade" -> {
                        send(out, "101 Switching Protocols", "Upgrade: echo\r\nConnection: Upgrade", "");
                        in.transferTo(out);
                        return;
                    }
                    case "/early" -> {
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                        drainUntilEof(in);
                        return;
                    }
                    case "/refuse-expect" -> send(out, "417 Expectation Failed", "Content-Length: 0", "");
                    case "/static" -> {
                        if (line.startsWith("GET ")) {
                            send(out, "200 OK", "Content-Length: " + body.length(), body);
                        } else {
                            send(out, "405 Method Not Allowed", "Content-Length: 0", "");
                        }
                    }
                    case "/unread-body" -> {
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                        closing.await(60, TimeUnit.SECONDS);
                        return;
                    }
                    case "/hang" -> {
                        drainUntilEof(in);
                        return;
                    }
                    case "/stall" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: 100", "0123456789");
                        drainUntilEof(in);
                        return;
                    }
                    case "/stall-chunked" -> {
                        readBody(in, headers);
                        send(out, "200 OK", "Transfer-Encoding: chunked", "a\r\n0123456789\r\n");
                        drainUntilEof(in);
                        return;
                    }
                    case "/trickle" -> {
                        // A body that keeps moving, each piece 1 s sooner than the proxy's timeout, for twice that
                        // timeout in all: its pace is the scenario, not a wait.
                        readBody(in, headers);
                        send(out, "200 OK", "Transfer-Encoding: chunked", "");
                        for (int i = 0; i < 4; i++) {
                            Thread.sleep(TRICKLE_PACE.toMillis());
                            out.write(("1\r\n" + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    case "/big" -> {
                        readBody(in, headers);
                        int size = 64 * 1024 * 1024;
                        send(out, "200 OK", "Content-Length: " + size, "");
                        byte[] piece = new byte[64 * 1024];
                        for (int sent = 0; sent < size; sent += piece.length) {
                            out.write(piece);
                        }
                        out.flush();
                    }
                    case "/half-then-gate" -> {
                        // Half the body, the rest once the gate opens; the connection stays open for the next request.
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: 20", "0123456789");
                        if (!gate.await(30, TimeUnit.SECONDS)) {
                            return;
                        }
                        out.write("abcdefghij".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    case "/gate" -> {
                        readBody(in, headers);
                        if (!gate.await(30, TimeUnit.SECONDS)) {
                            return;
                        }
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/processing" -> {
                        // A target at work on a long request that says so (102 Processing) more often than the
                        // proxy's timeout of 2 s its test sets, for 3.6 s in all: its pace is the scenario, not a wait.
                        readBody(in, headers);
                        for (int i = 0; i < 5; i++) {
                            Thread.sleep(600);
                            out.write("HTTP/1.1 102 Processing\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                        Thread.sleep(600);
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/processing-forever" -> {
                        readBody(in, headers);
                        sayProcessingForEver(out);
                        return;
                    }
                    case "/processing-after-body" -> {
                        readBody(in, headers);
                        // Its pace is the scenario, not a wait: well within the proxy's timeout each time.
                        for (long i = 0; i < PROCESSING_AFTER_BODY.dividedBy(PROCESSING_AFTER_BODY_PACE); i++) {
                            out.write("HTTP/1.1 102 Processing\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                            Thread.sleep(PROCESSING_AFTER_BODY_PACE.toMillis());
                        }
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/processing-unread" -> {
                        sayProcessingForEver(out);
                        return;
                    }
                    case "/reset-content" -> {
                        // A target bug: a 205 carries no content (RFC 9110 15.3.6), this one announces and sends some.
                        readBody(in, headers);
                        send(out, "205 Reset Content", "Content-Length: 5", "reset");
                    }
                    case "/reset-content-chunked" -> {
                        readBody(in, headers);
                        send(out, "205 Reset Content", "Transfer-Encoding: chunked", "5\r\nreset\r\n0\r\n\r\n");
                    }
                    case "/reset-content-unframed" -> {
                        readBody(in, headers);
                        send(out, "205 Reset Content", "X-Reset: yes", "");
                        return;
                    }
                    case "/reset-content-unframed-open" -> {
                        readBody(in, headers);
                        send(out, "205 Reset Content", "X-Reset: yes", "");
                        drainUntilEof(in);
                        return;
                    }
                    case "/reset-content-trailers", "/reset-content-trailers-split" -> {
                        readBody(in, headers);
                        String trailers = "X-Checksum: 4711\r\n\r\n";
                        boolean split = path.endsWith("-split");
                        send(out, "205 Reset Content", "Transfer-Encoding: chunked",
                                "5\r\nreset\r\n0\r\n" + (split ? "" : trailers));
                        if (split) {
                            if (!splitTrailers.await(SPLIT_TRAILERS_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                                return;
                            }
                            out.write(trailers.getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                    }
                    case "/early-hints" -> {
                        readBody(in, headers);
                        send(out, "103 Early Hints", "Link: </style.css>; rel=preload", "");
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/flaky" -> {
                        if (request > 1) {
                            return;
                        }
                        readBody(in, headers);
                        send(out, "200 OK", "Content-Length: " + body.length(), body);
                    }
                    case "/bad-header-name" -> {
                        readBody(in, headers);
                        String name = "\u001b[31m" + "x".repeat(BAD_HEADER_NAME_LENGTH - 5);
                        send(out, "200 OK", name + ": red\r\nContent-Length: " + body.length(), body);
                    }
                    default -> {
                        if (path.startsWith("/status/")) {
                            readBody(in, headers);
                            out.write(("HTTP/1.1 " + path.substring("/status/".length()) + " Odd\r\nContent-Length: "
                                    + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        } else {
                            send(out, "404 Not Found", "Content-Length: 0", "");
                        }
                    }
                }
            }
        } catch (IOException e) {
            // The proxy's side ended the connection.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            idle.remove(socket);
            all.remove(socket);
            ended.incrementAndGet();
        }
    }

    /**
     * A target that says it is at work (102 Processing) every 0.25 s, well within a proxy timeout of 1 s, and never
     * answers: for 100 s at most, or until a write fails (the proxy gave up). Its pace is the scenario, not a wait.
     */
    static void sayProcessingForEver(OutputStream out) throws IOException, InterruptedException {
        for (int i = 0; i < 400; i++) {
            out.write("HTTP/1.1 102 Processing\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(250);
        }
    }

    private static void send(OutputStream out, String status, String headers, String body) throws IOException {
        out.write(("HTTP/1.1 " + status + "\r\n" + headers + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void drainUntilEof(InputStream in) throws IOException {
        in.transferTo(OutputStream.nullOutputStream());
    }

    private static void readBody(InputStream in, Map<String, String> headers) throws IOException {
        String length = headers.get("content-length");
        if (length != null) {
            in.readNBytes(Integer.parseInt(length));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                String size = line(in);
                int n = size == null ? 0 : Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) {
                    headers(in);
                    return;
                }
                in.readNBytes(n);
                line(in);
            }
        }
    }

    private static Map<String, String> headers(InputStream in) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while ((line = line(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return headers;
    }

    /** One line without its CRLF, or null at EOF before any byte. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        closing.countDown();
        server.close();
        for (Socket socket : all) {
            socket.close();
        }
        threads.shutdownNow();
    }
}
