package io.picotunnel.server.e2e;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An HTTP target behind the tunnel client that answers "hello" (or a body of its own) and keeps the path and
 * headers of every request it saw.
 */
public final class RecordingTarget implements AutoCloseable {

    private final HttpServer server;
    private final List<Map<String, List<String>>> requests = new CopyOnWriteArrayList<>();
    private final List<String> uris = new CopyOnWriteArrayList<>();
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    /** Headers every answer carries, as name and value. */
    private final List<String[]> answerHeaders = new CopyOnWriteArrayList<>();
    /** The next request is recorded and left unanswered until the target closes or answers it (30 s at most). */
    private final AtomicBoolean holdNext = new AtomicBoolean();
    private final CountDownLatch closing = new CountDownLatch(1);

    public RecordingTarget() {
        this("hello");
    }

    RecordingTarget(String answer) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            uris.add(exchange.getRequestURI().toString());
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            requests.add(Map.copyOf(exchange.getRequestHeaders()));
            if (holdNext.compareAndSet(true, false)) {
                try {
                    closing.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = answer.getBytes(StandardCharsets.UTF_8);
            answerHeaders.forEach(header -> exchange.getResponseHeaders().add(header[0], header[1]));
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    /** Every later answer carries the header {@code name: value} too (added to those given before). */
    void answerWithHeader(String name, String value) {
        answerHeaders.add(new String[] {name, value});
    }

    /** The next request it reads is recorded and never answered (its connection stays open); later ones are. */
    public void holdNextRequest() {
        holdNext.set(true);
    }

    /** The request held by {@link #holdNextRequest} is answered now. */
    public void answerHeldRequest() {
        closing.countDown();
    }

    public String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public int requestCount() {
        return requests.size();
    }

    /** The request bodies (as UTF-8) seen, in order. */
    List<String> bodies() {
        return bodies;
    }

    /** The request targets (path and query) seen, in order. */
    public List<String> uris() {
        return uris;
    }

    /** Every header of the last request. */
    Map<String, List<String>> lastHeaders() {
        return requests.getLast();
    }

    /** The values of {@code name} in the last request (the JDK server capitalises header names its own way). */
    List<String> lastHeader(String name) {
        Map<String, List<String>> last = requests.getLast();
        return last.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                .flatMap(e -> e.getValue().stream()).toList();
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
    }
}
