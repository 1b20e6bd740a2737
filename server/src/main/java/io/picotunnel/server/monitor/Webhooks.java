package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Posts a JSON message to every configured webhook URL. The body works for Slack ({@code text}) and Discord
 * ({@code content}) incoming webhooks and carries the details as fields of their own. A failed delivery (no
 * answer, 429 or a 5xx status) is tried again after 1, 2, 4 and 8 s; a 4xx other than 429 is not. Each URL gets
 * its messages one at a time, in the order they were sent.
 */
final class Webhooks implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Webhooks.class);
    static final int ATTEMPTS = 5;
    private static final Duration FIRST_DELAY = Duration.ofSeconds(1);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final List<URI> urls;
    /** Per URL, the delivery of the newest message queued (completes when delivered or given up). */
    private final Map<URI, CompletableFuture<Void>> queues = new ConcurrentHashMap<>();
    private final ObjectMapper mapper = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "picotunnel-webhooks");
        thread.setDaemon(true);
        return thread;
    });

    Webhooks(List<URI> urls) {
        this.urls = List.copyOf(urls);
    }

    boolean isEmpty() {
        return urls.isEmpty();
    }

    /** Sends {@code text} (and the fields of {@code details}) to every URL, in the background. */
    void send(String text, ObjectNode details) {
        if (urls.isEmpty()) {
            return;
        }
        ObjectNode body = mapper.createObjectNode();
        body.put("text", text);
        body.put("content", text);
        body.setAll(details);
        String json = body.toString();
        for (URI url : urls) {
            // One message at a time per URL, in order: a retried "down" never arrives after the "up" that followed it.
            queues.compute(url, (u, tail) -> (tail == null ? CompletableFuture.<Void>completedFuture(null) : tail)
                    .thenCompose(ignored -> {
                        CompletableFuture<Void> delivered = new CompletableFuture<>();
                        try {
                            retries.execute(() -> attempt(url, json, 1, delivered));
                        } catch (RejectedExecutionException closed) {
                            delivered.complete(null);
                        }
                        return delivered;
                    }));
        }
    }

    private void attempt(URI url, String json, int attempt, CompletableFuture<Void> delivered) {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json").header("User-Agent", "PicoTunnel")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
            String problem;
            if (error != null) {
                problem = error.getCause() instanceof IOException io ? String.valueOf(io.getMessage()) : String.valueOf(error.getMessage());
            } else if (response.statusCode() / 100 == 2) {
                delivered.complete(null);
                return;
            } else if (response.statusCode() / 100 == 4 && response.statusCode() != 429) {
                log.warn("Webhook {} refused the message with status {}; not trying again. Check the URL.",
                        redacted(url), response.statusCode());
                delivered.complete(null);
                return;
            } else {
                problem = "status " + response.statusCode();
            }
            if (attempt >= ATTEMPTS) {
                log.warn("Webhook {} failed {} times ({}); the message is dropped.", redacted(url), attempt, problem);
                delivered.complete(null);
                return;
            }
            long delay = FIRST_DELAY.toMillis() << (attempt - 1);
            log.info("Webhook {} failed ({}); trying again in {} ms.", redacted(url), problem, delay);
            try {
                retries.schedule(() -> attempt(url, json, attempt + 1, delivered), delay, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closed) {
                log.debug("webhooks closed; message to {} dropped", redacted(url));
                delivered.complete(null);
            }
        });
    }

    /** Webhook URLs carry their secret in the path: only the scheme and host are ever logged. */
    static String redacted(URI url) {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() == -1 ? "" : ":" + url.getPort()) + "/...";
    }

    @Override
    public void close() {
        retries.shutdownNow();
        client.shutdownNow();
    }
}
