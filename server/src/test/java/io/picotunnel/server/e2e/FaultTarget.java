package io.picotunnel.server.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A target behind the tunnel's client for fault tests, on 127.0.0.1 with blocking sockets, one thread per
 * connection. It records how much it wrote and how its reading of each connection ended.
 * <ul>
 *   <li>{@link #download(long)}: writes that many bytes as fast as the path takes them, then half-closes;
 *   reads meanwhile to the other side's FIN, which {@link #inputEnded(int)} tells;</li>
 *   <li>{@link #resetAfter(long)}: writes that many bytes, then resets the connection (SO_LINGER 0) once
 *   {@link #resume()} was called; reads meanwhile as a download does;</li>
 *   <li>{@link #sink(long)}: reads that many bytes, then stops reading until {@link #resume()}, then reads on to
 *   the end, which {@link #readEnd()} tells: {@code "eof"} or {@code "reset: <message>"};</li>
 *   <li>{@link #http()}: HTTP/1.1, one request per connection: {@code GET /length/N} (Content-Length),
 *   {@code /chunked/N}, {@code /close/N} (delimited by the close of the connection) send N bytes;
 *   {@code /hold} never answers; {@code /unanswered} closes the connection (FIN) without answering;
 *   {@code /reset-length/N} and {@code /reset-close/N} send the head and N bytes
 *   of a body ten times longer, {@code /reset-chunked/N} a chunked head and N bytes in chunks, then reset the
 *   connection (SO_LINGER 0) once {@link #resume()} was called; {@code /cut-length/N} and {@code /cut-chunked/N}
 *   the same but end it normally (FIN) instead; {@code /continue-reset/N} says 100 Continue, reads N bytes of the
 *   body, then resets the connection once {@link #resume()} was called.</li>
 * </ul>
 */
final class FaultTarget implements AutoCloseable {

    static final int CHUNK = 16 * 1024;

    private enum Kind { DOWNLOAD, RESET_DOWNLOAD, SINK, HTTP }

    private final Kind kind;
    private final long bytes;
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong read = new AtomicLong();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger accepted = new AtomicInteger();
    /** The numbers (in the order of accept, from 0) of the connections whose input ended with the other side's FIN. */
    private final Set<Integer> endedInputs = ConcurrentHashMap.newKeySet();
    private final CountDownLatch resumed = new CountDownLatch(1);
    private final CompletableFuture<String> readEnd = new CompletableFuture<>();

    private FaultTarget(Kind kind, long bytes) {
        this.kind = kind;
        this.bytes = bytes;
        try {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        threads.execute(this::acceptLoop);
    }

    static FaultTarget download(long bytes) {
        return new FaultTarget(Kind.DOWNLOAD, bytes);
    }

    static FaultTarget resetAfter(long bytes) {
        return new FaultTarget(Kind.RESET_DOWNLOAD, bytes);
    }

    static FaultTarget sink(long readBeforePause) {
        return new FaultTarget(Kind.SINK, readBeforePause);
    }

    static FaultTarget http() {
        return new FaultTarget(Kind.HTTP, 0);
    }

    /** {@code 127.0.0.1:port}. */
    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Body bytes written so far, all connections together. */
    long written() {
        return written.get();
    }

    /** Bytes read so far by a sink. */
    long read() {
        return read.get();
    }

    /** HTTP requests received (their heads read). */
    int requests() {
        return requests.get();
    }

    /**
     * Whether a download or resetAfter target read the other side's FIN on its {@code connection}th connection
     * (from 0, in the order it accepted them: the monitor's probes come later than a test's first visitor).
     */
    boolean inputEnded(int connection) {
        return endedInputs.contains(connection);
    }

    /** Lets a paused sink read on, and makes the {@code /reset-*} answers reset their connection. */
    void resume() {
        resumed.countDown();
    }

    /** How the sink's reading ended: {@code "eof"} or {@code "reset: <message>"}. */
    String readEnd(long timeout, TimeUnit unit) throws Exception {
        return readEnd.get(timeout, unit);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                socket.setSoTimeout(60_000);
                open.add(socket);
                int number = accepted.getAndIncrement();
                threads.execute(() -> serve(socket, number));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket, int number) {
        try (socket) {
            switch (kind) {
                case DOWNLOAD -> {
                    Future<?> reading = threads.submit(() -> readToItsEnd(socket, number));
                    writePattern(socket.getOutputStream(), bytes);
                    socket.shutdownOutput();
                    reading.get();
                }
                case RESET_DOWNLOAD -> {
                    threads.execute(() -> readToItsEnd(socket, number));
                    writePattern(socket.getOutputStream(), bytes);
                    resumed.await(60, TimeUnit.SECONDS);
                    socket.setSoLinger(true, 0);
                }
                case SINK -> sink(socket.getInputStream());
                case HTTP -> answer(socket);
            }
        } catch (IOException | InterruptedException | ExecutionException e) {
            // the connection failed or was cut: what the test looks at is on the other side
        }
    }

    /** Reads what the other side sends, as the target writes, and counts its FIN. */
    private void readToItsEnd(Socket socket, int number) {
        try {
            socket.getInputStream().transferTo(OutputStream.nullOutputStream());
            endedInputs.add(number);
        } catch (IOException e) {
            // the connection was reset or closed: no FIN to count
        }
    }

    private void sink(InputStream in) throws InterruptedException {
        byte[] buffer = new byte[CHUNK];
        try {
            while (read.get() < bytes) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, bytes - read.get()));
                if (n < 0) {
                    readEnd.complete("eof");
                    return;
                }
                read.addAndGet(n);
            }
            resumed.await(60, TimeUnit.SECONDS);
            int n;
            while ((n = in.read(buffer)) >= 0) {
                read.addAndGet(n);
            }
            readEnd.complete("eof");
        } catch (SocketException e) {
            readEnd.complete("reset: " + e.getMessage());
        } catch (IOException e) {
            readEnd.complete("error: " + e);
        }
    }

    private void answer(Socket socket) throws IOException, InterruptedException {
        String path = readRequestHead(socket.getInputStream());
        requests.incrementAndGet();
        OutputStream out = socket.getOutputStream();
        String[] parts = path.split("/");
        String kind = parts.length > 1 ? parts[1] : "";
        long n = parts.length > 2 ? Long.parseLong(parts[2]) : 0;
        switch (kind) {
            case "length" -> {
                head(out, "Content-Length: " + n);
                writePattern(out, n);
            }
            case "chunked" -> {
                head(out, "Transfer-Encoding: chunked");
                writeChunked(out, n);
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            case "close" -> {
                head(out, "Connection: close");
                writePattern(out, n);
            }
            case "hold" -> socket.getInputStream().transferTo(OutputStream.nullOutputStream());
            case "unanswered" -> {
                // Ends the connection normally (FIN) without a byte of answer.
            }
            case "reset-length", "reset-close" -> {
                head(out, kind.equals("reset-length") ? "Content-Length: " + 10 * n : "Connection: close");
                writePattern(out, n);
                out.flush();
                resumed.await(60, TimeUnit.SECONDS);
                socket.setSoLinger(true, 0);
            }
            case "cut-length", "cut-chunked" -> {
                // Ends the connection normally (FIN) in the middle of a body whose framing says more follows.
                if (kind.equals("cut-length")) {
                    head(out, "Content-Length: " + 10 * n);
                    writePattern(out, n);
                } else {
                    head(out, "Transfer-Encoding: chunked");
                    writeChunked(out, n);
                }
                out.flush();
                resumed.await(60, TimeUnit.SECONDS);
                socket.shutdownOutput();
            }
            case "continue-reset" -> {
                // Says 100 Continue, reads n bytes of the body, then resets (SO_LINGER 0) once resume() was called.
                out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                long got = 0;
                byte[] buffer = new byte[CHUNK];
                while (got < n) {
                    int r = in.read(buffer, 0, (int) Math.min(buffer.length, n - got));
                    if (r < 0) {
                        break;
                    }
                    got += r;
                    read.addAndGet(r);
                }
                resumed.await(60, TimeUnit.SECONDS);
                socket.setSoLinger(true, 0);
            }
            case "reset-chunked" -> {
                head(out, "Transfer-Encoding: chunked");
                writeChunked(out, n);
                out.flush();
                resumed.await(60, TimeUnit.SECONDS);
                socket.setSoLinger(true, 0);
            }
            default -> head(out, "Content-Length: 0");
        }
        out.flush();
    }

    private static void head(OutputStream out, String framing) throws IOException {
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + framing + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    }

    /** The request line's path; reads the head up to its empty line. */
    private static String readRequestHead(InputStream in) throws IOException {
        String requestLine = readLine(in);
        String line = requestLine;
        while (line != null && !line.isEmpty()) {
            line = readLine(in);
        }
        if (requestLine == null || line == null) {
            throw new IOException("incomplete request head");
        }
        return requestLine.split(" ")[1];
    }

    /** One CRLF-terminated line without its CRLF, or null at EOF. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                String text = line.toString(StandardCharsets.US_ASCII);
                return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
            }
            line.write(b);
        }
        return null;
    }

    /** A visitor's connection to {@code port} on the loopback address; a read that waits longer than {@code readTimeout} fails. */
    static Socket connect(int port, Duration readTimeout) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(Math.toIntExact(readTimeout.toMillis()));
        return socket;
    }

    /** Writes a GET of {@code path} on {@code host} without a body, {@code version} being "HTTP/1.1" or "HTTP/1.0". */
    static void writeGet(Socket visitor, String version, String host, String path) throws IOException {
        OutputStream out = visitor.getOutputStream();
        out.write(("GET " + path + " " + version + "\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** A response head read from a visitor's side: {@code status} and every header, names in lower case. */
    static Map<String, String> readHead(InputStream in) throws IOException {
        Map<String, String> head = new HashMap<>();
        String status = readLine(in);
        if (status == null) {
            throw new AssertionError("no status line");
        }
        head.put("status", status.split(" ")[1]);
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            head.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return head;
    }

    /** Byte i of every body: {@code (i * 31 + 7) & 0xff}. */
    static byte patternByte(long i) {
        return (byte) ((i * 31 + 7) & 0xff);
    }

    /**
     * How a visitor's reading of a body of {@link #patternByte}s ended: the bytes read, the offset of the first one
     * that is not the pattern's (-1: none), and {@code "eof"} or {@code "reset: <message>"}.
     */
    record PatternRead(long bytes, long firstWrong, String how) {
    }

    /** Reads {@code in} to its end or a reset, checking every byte against the pattern. */
    static PatternRead readPattern(InputStream in) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        long firstWrong = -1;
        try {
            for (int n; (n = in.read(buffer)) >= 0; bytes += n) {
                for (int i = 0; i < n && firstWrong < 0; i++) {
                    firstWrong = buffer[i] == patternByte(bytes + i) ? -1 : bytes + i;
                }
            }
        } catch (SocketException e) {
            return new PatternRead(bytes, firstWrong, "reset: " + e.getMessage());
        }
        return new PatternRead(bytes, firstWrong, "eof");
    }

    private void writePattern(OutputStream out, long count) throws IOException {
        byte[] chunk = new byte[CHUNK];
        for (long offset = 0; offset < count; offset += chunk.length) {
            int n = (int) Math.min(chunk.length, count - offset);
            fill(chunk, offset, n);
            out.write(chunk, 0, n);
            written.addAndGet(n);
        }
    }

    private void writeChunked(OutputStream out, long count) throws IOException {
        byte[] chunk = new byte[CHUNK];
        for (long offset = 0; offset < count; offset += chunk.length) {
            int n = (int) Math.min(chunk.length, count - offset);
            fill(chunk, offset, n);
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(chunk, 0, n);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            written.addAndGet(n);
        }
    }

    private static void fill(byte[] chunk, long offset, int n) {
        for (int i = 0; i < n; i++) {
            chunk[i] = patternByte(offset + i);
        }
    }

    @Override
    public void close() throws IOException {
        resumed.countDown();
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
        threads.shutdownNow();
    }
}
