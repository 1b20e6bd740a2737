package io.picotunnel.server.proxy.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** A local HTTP server standing for the service behind the tunnel's client (JDK's built-in server). */
final class TargetServer implements AutoCloseable {

    /** Deterministic bytes: byte i of a download is {@code (i * 31 + 7) & 0xff}. */
    static byte patternByte(long i) {
        return (byte) ((i * 31 + 7) & 0xff);
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final CountDownLatch released = new CountDownLatch(1);
    /** SSE: the test puts events here; each is written and flushed when taken. */
    final BlockingQueue<String> sseEvents = new LinkedBlockingQueue<>();

    TargetServer(String name) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(executor);
        server.createContext("/", exchange -> echo(exchange, name));
        server.createContext("/upload", TargetServer::upload);
        server.createContext("/download", TargetServer::download);
        server.createContext("/sse", this::sse);
        server.createContext("/hang", this::hang);
        server.start();
    }

    String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private static void echo(HttpExchange exchange, String name) throws IOException {
        exchange.getRequestBody().readAllBytes();
        StringBuilder body = new StringBuilder();
        body.append("service=").append(name).append('\n');
        body.append("method=").append(exchange.getRequestMethod()).append('\n');
        body.append("uri=").append(exchange.getRequestURI()).append('\n');
        for (Map.Entry<String, List<String>> header : exchange.getRequestHeaders().entrySet()) {
            for (String value : header.getValue()) {
                body.append("h:").append(header.getKey().toLowerCase()).append('=').append(value).append('\n');
            }
        }
        exchange.getResponseHeaders().add("Keep-Alive", "timeout=5");
        exchange.getResponseHeaders().add("X-Target", name);
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /**
     * Reads the whole body and answers with its length and SHA-256. {@code /upload?pause=N} stops reading for 100 ms
     * after each N bytes, as a busy target does.
     */
    private static void upload(HttpExchange exchange) throws IOException {
        String query = exchange.getRequestURI().getQuery();
        long pauseEvery = query != null && query.startsWith("pause=") ? Long.parseLong(query.substring(6)) : 0;
        MessageDigest sha = sha256();
        long total = 0;
        long nextPause = pauseEvery;
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = exchange.getRequestBody()) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                sha.update(buffer, 0, n);
                total += n;
                if (pauseEvery > 0 && total >= nextPause) {
                    nextPause += pauseEvery;
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                }
            }
        }
        byte[] body = ("bytes=" + total + " sha256=" + HexFormat.of().formatHex(sha.digest()))
                .getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** {@code /download?n} streams n pattern bytes with a Content-Length. */
    private static void download(HttpExchange exchange) throws IOException {
        long n = Long.parseLong(exchange.getRequestURI().getQuery());
        exchange.sendResponseHeaders(200, n);
        byte[] buffer = new byte[64 * 1024];
        try (OutputStream out = exchange.getResponseBody()) {
            long sent = 0;
            while (sent < n) {
                int len = (int) Math.min(buffer.length, n - sent);
                for (int i = 0; i < len; i++) {
                    buffer[i] = patternByte(sent + i);
                }
                out.write(buffer, 0, len);
                sent += len;
            }
        }
    }

    /**
     * Server-sent events, each written and flushed when the test offers it; "END" ends the stream. The head, flushed
     * before any event, has a hop-by-hop header, Keep-Alive.
     */
    private void sse(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
        exchange.getResponseHeaders().add("Keep-Alive", "timeout=5"); // hop-by-hop: the proxy's to remove
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            out.flush(); // the head goes out at once, as an event stream's does, before any event
            while (true) {
                String event = sseEvents.poll(30, TimeUnit.SECONDS);
                if (event == null || event.equals("END")) {
                    return;
                }
                out.write(("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Never answers until the server closes. */
    private void hang(HttpExchange exchange) throws IOException {
        try {
            released.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        exchange.close();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        released.countDown();
        server.stop(0);
        executor.shutdownNow();
    }
}
