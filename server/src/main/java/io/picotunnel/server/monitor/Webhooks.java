package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Posts a JSON message to every configured webhook URL (with basic auth when the URL has {@code user:password@}). The body works for Slack ({@code text}, escaped as Slack
 * asks) and Discord ({@code content}, with mentions turned off) incoming webhooks and carries the details as fields of their own. A failed delivery (no
 * answer, 429 or a 5xx status) is tried again after 1, 2, 4 and 8 s, or later when the answer's {@code Retry-After}
 * asks (up to {@link #MAX_RETRY_AFTER}); a 4xx other than 429 is not, nor a redirect (3xx, not followed). Each URL gets
 * its messages one at a time, in the order they were sent; at most {@link #MAX_WAITING} wait behind the one being
 * delivered (the oldest waiting is dropped for a new one), so a URL that is down holds no endless backlog. Only the
 * status of an answer is read (its head, within 10 s); its body is not. At stop,
 * messages still on their way get {@link #CLOSE_GRACE} to arrive (an alert confirmed just before a restart is not
 * lost); what is left after it is dropped with a WARN.
 */
final class Webhooks implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Webhooks.class);
    static final int ATTEMPTS = 5;
    static final Duration FIRST_DELAY = Duration.ofSeconds(1);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

    /** The longest a receiver's {@code Retry-After} is waited for before the next attempt. */
    static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);

    /** Most messages a URL holds behind the one being delivered; beyond, the oldest waiting is dropped. */
    static final int MAX_WAITING = 100;

    /** One URL's messages: delivered one at a time, in order; used under its own lock. */
    private static final class Queue {
        final URI url;
        final Deque<String> waiting = new ArrayDeque<>();
        boolean delivering;
        int dropped;

        Queue(URI url) {
            this.url = url;
        }
    }

    private final List<Queue> queues;
    private final Duration closeGrace;
    private final ObjectMapper mapper = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "picotunnel-webhooks");
        thread.setDaemon(true);
        return thread;
    });

    Webhooks(List<URI> urls) {
        this(urls, CLOSE_GRACE);
    }

    Webhooks(List<URI> urls, Duration closeGrace) {
        this.queues = urls.stream().map(Queue::new).toList();
        this.closeGrace = closeGrace;
    }

    /** Slack's escaping of message text: {@code &}, {@code <} and {@code >} (its links and mentions). */
    static String slackEscaped(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    boolean isEmpty() {
        return queues.isEmpty();
    }

    /** Sends {@code text} (and the fields of {@code details}) to every URL, in the background. */
    void send(String text, ObjectNode details) {
        if (queues.isEmpty()) {
            return;
        }
        ObjectNode body = mapper.createObjectNode();
        // Names in the text are the admin's, but "<!channel>" in a tunnel's name would still ping a whole Slack
        // channel, and "@everyone" a Discord server: Slack's text is escaped as Slack asks, Discord told to ping nobody.
        body.put("text", slackEscaped(text));
        body.put("content", text);
        body.putObject("allowed_mentions").putArray("parse");
        body.setAll(details);
        String json = body.toString();
        for (Queue queue : queues) {
            // One message at a time per URL, in order: a retried "down" never arrives after the "up" that followed it.
            // A URL that is down (each message tried for 15 s or more) holds a bounded backlog, newest kept.
            boolean start;
            synchronized (queue) {
                if (queue.waiting.size() >= MAX_WAITING) {
                    queue.waiting.removeFirst();
                    if (queue.dropped++ == 0) {
                        log.warn("Webhook {} is behind by {} messages; dropping the oldest waiting ones.",
                                redacted(queue.url), MAX_WAITING);
                    }
                }
                queue.waiting.addLast(json);
                start = !queue.delivering;
                queue.delivering = true;
            }
            if (start) {
                next(queue);
            }
        }
    }

    /** Delivers the queue's oldest waiting message, or marks the queue idle when none is left. */
    private void next(Queue queue) {
        String json;
        synchronized (queue) {
            json = queue.waiting.pollFirst();
            if (json == null) {
                queue.delivering = false;
                if (queue.dropped > 0) {
                    log.warn("Webhook {}: {} message(s) were dropped while it was behind.", redacted(queue.url), queue.dropped);
                    queue.dropped = 0;
                }
            }
        }
        if (json == null) {
            synchronized (this) {
                notifyAll();
            }
            return;
        }
        try {
            retries.execute(() -> attempt(queue, json, 1));
        } catch (RejectedExecutionException closed) {
            log.debug("webhooks closed; messages to {} dropped", redacted(queue.url));
        }
    }

    private void attempt(Queue queue, String json, int attempt) {
        URI url = queue.url;
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json").header("User-Agent", "PicoTunnel")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (url.getUserInfo() != null) {
            // Java's client drops the URL's user and password; curl, Go and Python send them, as receivers expect.
            request.header("Authorization", "Basic " + Base64.getEncoder()
                    .encodeToString(url.getUserInfo().getBytes(StandardCharsets.UTF_8)));
        }
        // The request's timeout ends at the answer's head, not its body: a receiver that never ended its body held
        // the URL's messages for ever. The status is all a delivery needs, so the body is never read.
        client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofInputStream()).whenComplete((response, error) -> {
            if (response != null) {
                closeQuietly(response.body());
            }
            String problem;
            long asked = 0;
            if (error != null) {
                problem = problem(error);
            } else if (response.statusCode() / 100 == 2) {
                next(queue);
                return;
            } else if (response.statusCode() / 100 == 3) {
                // Not followed (a POST to wherever a receiver points is not ours to send), and the same every time.
                log.warn("Webhook {} answered with a redirect (status {}){}; webhooks do not follow redirects: set the"
                        + " URL it points to.", redacted(url), response.statusCode(), location(url, response));
                next(queue);
                return;
            } else if (response.statusCode() / 100 == 4 && response.statusCode() != 429) {
                log.warn("Webhook {} refused the message with status {}; not trying again. Check the URL.",
                        redacted(url), response.statusCode());
                next(queue);
                return;
            } else {
                problem = "status " + response.statusCode();
                asked = retryAfterMillis(response);
            }
            if (attempt >= ATTEMPTS) {
                log.warn("Webhook {} failed {} times ({}); the message is dropped.", redacted(url), attempt, problem);
                next(queue);
                return;
            }
            long delay = Math.max(FIRST_DELAY.toMillis() << (attempt - 1), asked);
            log.info("Webhook {} failed ({}); trying again in {}.", redacted(url), problem,
                    Durations.format(Duration.ofMillis(delay)));
            try {
                retries.schedule(() -> attempt(queue, json, attempt + 1), delay, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closed) {
                log.debug("webhooks closed; message to {} dropped", redacted(url));
            }
        });
    }

    private static void closeQuietly(InputStream body) {
        try {
            body.close();
        } catch (IOException ignored) {
            // closing the answer's body only stops reading it
        }
    }

    /** Why a delivery got no answer, in words: Java's client gives a refused connection no message ("null"). */
    static String problem(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof HttpConnectTimeoutException) {
            return "no connection within " + Durations.format(REQUEST_TIMEOUT);
        }
        if (cause instanceof HttpTimeoutException) {
            return "no answer within " + Durations.format(REQUEST_TIMEOUT);
        }
        String message = cause.getMessage();
        if (message == null || message.isBlank()) {
            return cause instanceof ConnectException ? "could not connect" : cause.getClass().getSimpleName();
        }
        return message;
    }

    /**
     * How long a 429 or 503 asks to wait ({@code Retry-After} in seconds, or an HTTP date), at most
     * {@link #MAX_RETRY_AFTER}; 0 when it does not say.
     */
    static long retryAfterMillis(HttpResponse<?> response) {
        String value = response.headers().firstValue("Retry-After").map(String::strip).orElse("");
        long millis;
        if (value.matches("[0-9]{1,9}")) {
            millis = Long.parseLong(value) * 1000;
        } else {
            try {
                millis = Duration.between(Instant.now(), ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME))
                        .toMillis();
            } catch (DateTimeParseException notADate) {
                millis = 0;
            }
        }
        return Math.clamp(millis, 0, MAX_RETRY_AFTER.toMillis());
    }

    /** " to scheme://host/..." of a redirect's target, or nothing when it has none that makes sense. */
    private static String location(URI url, HttpResponse<?> response) {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null) {
            return "";
        }
        try {
            URI target = url.resolve(location.strip());
            return target.getScheme() == null || target.getHost() == null ? "" : " to " + redacted(target);
        } catch (IllegalArgumentException notAUri) {
            return "";
        }
    }

    /** Webhook URLs carry their secret in the path: only the scheme and host are ever logged. */
    static String redacted(URI url) {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() == -1 ? "" : ":" + url.getPort()) + "/...";
    }

    /** Waits up to the close grace for the messages on their way, then drops what is left, saying how much. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + closeGrace.toNanos();
        boolean interrupted = false;
        synchronized (this) {
            for (long left = closeGrace.toNanos(); undelivered() > 0 && left > 0; left = deadline - System.nanoTime()) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    interrupted = true;
                    break;
                }
            }
        }
        int left = undelivered();
        if (left > 0) {
            log.warn("Stopping with {} webhook message(s) not delivered within {}; they are dropped.", left,
                    Durations.format(closeGrace));
        }
        retries.shutdownNow();
        client.shutdownNow();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private int undelivered() {
        int count = 0;
        for (Queue queue : queues) {
            synchronized (queue) {
                count += queue.waiting.size() + (queue.delivering ? 1 : 0);
            }
        }
        return count;
    }
}
