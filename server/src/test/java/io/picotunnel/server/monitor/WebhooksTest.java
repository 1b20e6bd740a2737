package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

class WebhooksTest {

    /** A real HTTP server on loopback whose every request {@code handler} answers, for receivers that misbehave. */
    private record Receiver(HttpServer server) implements AutoCloseable {

        static Receiver answering(HttpHandler handler) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", handler);
            server.start();
            return new Receiver(server);
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    @Test
    void messageRefusedWithA503IsDeliveredOnALaterAttemptAndMessagesKeepTheirOrder() {
        try (WebhookReceiver receiver = new WebhookReceiver(2);
             WebhookReceiver second = new WebhookReceiver(0);
             Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url()), URI.create(second.url())))) {
            webhooks.send("first", JsonNodeFactory.instance.objectNode().put("n", 1));
            webhooks.send("second", JsonNodeFactory.instance.objectNode().put("n", 2));

            await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.messages().size() == 2 && second.messages().size() == 2);
            assertThat(receiver.requests()).isEqualTo(4);
            // The first message was refused twice; the second waited for it.
            assertThat(receiver.messages()).extracting(m -> m.get("text").asText()).containsExactly("first", "second");
            assertThat(second.messages()).extracting(m -> m.get("content").asText()).containsExactly("first", "second");
            assertThat(receiver.messages().getFirst().get("n").asInt()).isEqualTo(1);
        }
    }

    /**
     * A webhook that is down does not make messages pile up without end (and arrive hours late, in order, once it
     * is back): each URL holds at most {@link Webhooks#MAX_WAITING} messages behind the one being delivered, and
     * drops the oldest for a new one, so the newest states get through.
     */
    @Test
    void messagesWaitingForAFailingWebhookAreBoundedAndTheNewestKept() {
        int sent = Webhooks.MAX_WAITING + 50;
        try (WebhookReceiver receiver = new WebhookReceiver(1);
             Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url())))) {
            for (int n = 0; n <= sent; n++) {
                webhooks.send("message " + n, JsonNodeFactory.instance.objectNode().put("n", n));
            }

            await().atMost(20, TimeUnit.SECONDS).until(() -> !receiver.messages().isEmpty()
                    && receiver.messages().getLast().get("n").asInt() == sent);
            List<Integer> received = receiver.messages().stream().map(m -> m.get("n").asInt()).toList();
            assertThat(received).hasSize(Webhooks.MAX_WAITING + 1);
            // The first was being delivered (refused once, then tried again); the oldest of those waiting were dropped.
            assertThat(received.getFirst()).isZero();
            assertThat(received.subList(1, received.size()))
                    .isEqualTo(java.util.stream.IntStream.rangeClosed(sent - Webhooks.MAX_WAITING + 1, sent).boxed().toList());
        }
    }

    /** An alert confirmed just before a stop or restart still arrives, though its first attempt was refused. */
    @Test
    void messagesOnTheirWayWhenTheServerStopsAreDeliveredWithinTheGrace() {
        try (WebhookReceiver receiver = new WebhookReceiver(1)) {
            Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url())), Duration.ofSeconds(20));
            for (int n = 0; n < 3; n++) {
                webhooks.send("message " + n, JsonNodeFactory.instance.objectNode().put("n", n));
            }

            webhooks.close();

            assertThat(receiver.messages()).extracting(m -> m.get("n").asInt()).containsExactly(0, 1, 2);
        }
    }

    @Test
    void messagesForAWebhookThatStaysDownAreDroppedAtTheEndOfTheGraceWithAWarning() {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        Logger logger = (Logger) LoggerFactory.getLogger(Webhooks.class);
        log.start();
        logger.addAppender(log);
        try (WebhookReceiver receiver = new WebhookReceiver(Integer.MAX_VALUE)) {
            Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url())), Duration.ofMillis(1500));
            webhooks.send("first", JsonNodeFactory.instance.objectNode());
            webhooks.send("second", JsonNodeFactory.instance.objectNode());

            assertTimeoutPreemptively(Duration.ofSeconds(10), webhooks::close, "close waits no longer than its grace");

            assertThat(receiver.requests()).as("tried again within the grace").isGreaterThanOrEqualTo(2);
            assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                    .contains("Stopping with 2 webhook message(s) not delivered within 1.5 s; they are dropped.");
        } finally {
            logger.detachAppender(log);
        }
    }

    @Test
    void namesInTheTextPingNobodyInSlackOrDiscord() {
        try (WebhookReceiver receiver = new WebhookReceiver(0);
             Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url())))) {
            webhooks.send("Tunnel <!channel> & @everyone is down", JsonNodeFactory.instance.objectNode()
                    .put("tunnel_name", "<!channel> & @everyone"));

            await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.messages().size() == 1);
            var message = receiver.messages().getFirst();
            assertThat(message.get("text").asText()).isEqualTo("Tunnel &lt;!channel&gt; &amp; @everyone is down");
            assertThat(message.get("content").asText()).isEqualTo("Tunnel <!channel> & @everyone is down");
            assertThat(message.get("allowed_mentions").get("parse").isArray()).isTrue();
            assertThat(message.get("allowed_mentions").get("parse")).isEmpty();
            assertThat(message.get("tunnel_name").asText()).as("the details as they are").isEqualTo("<!channel> & @everyone");
        }
    }

    /**
     * A receiver that answers 200 but never ends its body (a proxy holding the connection, a chunked answer that
     * stalls) does not hold the URL's messages for ever: the status is all a delivery needs.
     */
    @Test
    void aReceiverThatNeverEndsItsAnswerDoesNotHoldTheMessagesBehind() throws Exception {
        List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        java.net.Socket socket = server.accept();
                        held.add(socket);
                        socket.setSoTimeout(10_000);
                        var in = new java.io.DataInputStream(socket.getInputStream());
                        int length = 0;
                        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                                length = Integer.parseInt(line.substring(15).strip());
                            }
                        }
                        byte[] body = new byte[length];
                        in.readFully(body);
                        received.add(new String(body, java.nio.charset.StandardCharsets.UTF_8));
                        // The head and a first chunk, then nothing: the answer never ends.
                        socket.getOutputStream().write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "2\r\nok\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        socket.getOutputStream().flush();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            try (Webhooks webhooks = new Webhooks(List.of(URI.create("http://127.0.0.1:" + server.getLocalPort()
                    + "/hooks/secret")), Duration.ofMillis(500))) {
                webhooks.send("first", JsonNodeFactory.instance.objectNode());
                webhooks.send("second", JsonNodeFactory.instance.objectNode());

                await().atMost(30, TimeUnit.SECONDS).until(() -> received.size() >= 2);
                assertThat(received.get(1)).contains("\"second\"");
            } finally {
                server.close();
                for (java.net.Socket socket : held) {
                    socket.close();
                }
                acceptor.join(10_000);
            }
        }
    }

    /**
     * A redirect (an http:// URL answered with 301 to https://, a moved receiver) is not followed and is the same
     * on every attempt: it is not tried again, and the log says where the URL points, without its secret path.
     */
    @Test
    void aRedirectIsNotTriedAgainAndTheLogSaysWhereItPointsWithoutItsPath() throws Exception {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        Logger logger = (Logger) LoggerFactory.getLogger(Webhooks.class);
        log.start();
        logger.addAppender(log);
        List<String> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpHandler movedAway = exchange -> {
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            exchange.getResponseHeaders().add("Location", "https://hooks.moved.example/services/secret-xyz");
            exchange.sendResponseHeaders(301, -1);
            exchange.close();
        };
        try (Receiver receiver = Receiver.answering(movedAway);
             Webhooks webhooks = new Webhooks(List.of(URI.create("http://127.0.0.1:" + receiver.port()
                     + "/services/secret-xyz")))) {
            webhooks.send("first", JsonNodeFactory.instance.objectNode());
            webhooks.send("second", JsonNodeFactory.instance.objectNode());

            await().atMost(20, TimeUnit.SECONDS).until(() -> bodies.size() >= 2);
            assertThat(bodies.get(1)).as("the next message, not the first again").contains("\"second\"");
            await().atMost(10, TimeUnit.SECONDS).until(() -> log.list.stream()
                    .filter(event -> event.getFormattedMessage().contains("redirect")).count() == 2);
            assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                    .contains("Webhook http://127.0.0.1:" + receiver.port() + "/... answered with a"
                            + " redirect (status 301) to https://hooks.moved.example/...; webhooks do not follow"
                            + " redirects: set the URL it points to.")
                    .noneMatch(message -> message.contains("secret-xyz"));
        } finally {
            logger.detachAppender(log);
        }
    }

    /**
     * A receiver behind basic auth (n8n, Node-RED, a reverse proxy) is set as {@code https://user:password@host/...},
     * as curl, Go and Python clients read it: the user and password are sent, not dropped for a 401.
     */
    @Test
    void theUserAndPasswordOfTheUrlAreSentAsBasicAuth() throws Exception {
        List<String> authorizations = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpHandler recordsAuthorization = exchange -> {
            exchange.getRequestBody().readAllBytes();
            authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        };
        try (Receiver receiver = Receiver.answering(recordsAuthorization);
             Webhooks webhooks = new Webhooks(List.of(URI.create("http://hook-user:p%40ss:w%C3%B6rd@127.0.0.1:"
                     + receiver.port() + "/hooks/x")))) {
            webhooks.send("first", JsonNodeFactory.instance.objectNode());

            await().atMost(20, TimeUnit.SECONDS).until(() -> !authorizations.isEmpty());
            assertThat(authorizations.getFirst()).isEqualTo("Basic " + java.util.Base64.getEncoder().encodeToString(
                    "hook-user:p@ss:w\u00f6rd".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
    }

    /**
     * A receiver's rate limit (Slack and Discord answer 429 with Retry-After when a tunnel and its services go down at
     * once) is waited for: tried again after 1, 2, 4 and 8 s regardless, a message was dropped when it asked for
     * longer, and each early attempt counted against the limit again.
     */
    @Test
    void aRateLimitedMessageIsTriedAgainNoSoonerThanRetryAfterSays() throws Exception {
        List<Long> arrivals = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpHandler rateLimitsTheFirst = exchange -> {
            exchange.getRequestBody().readAllBytes();
            arrivals.add(System.nanoTime());
            if (arrivals.size() == 1) {
                exchange.getResponseHeaders().add("Retry-After", "3");
                exchange.sendResponseHeaders(429, -1);
            } else {
                exchange.sendResponseHeaders(204, -1);
            }
            exchange.close();
        };
        try (Receiver receiver = Receiver.answering(rateLimitsTheFirst);
             Webhooks webhooks = new Webhooks(List.of(URI.create("http://127.0.0.1:" + receiver.port()
                     + "/hooks/x")))) {
            webhooks.send("first", JsonNodeFactory.instance.objectNode());

            await().atMost(20, TimeUnit.SECONDS).until(() -> arrivals.size() >= 2);
            assertThat(Duration.ofNanos(arrivals.get(1) - arrivals.get(0))).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        }
    }

    /**
     * A receiver that is not listening is said so in the log, not "failed (null)", and the delay before the next
     * attempt as other lines write durations: "1 s", not "1000 ms".
     */
    @Test
    void aRefusedConnectionIsLoggedInWords() {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        Logger logger = (Logger) LoggerFactory.getLogger(Webhooks.class);
        log.start();
        logger.addAppender(log);
        try {
            Webhooks webhooks = new Webhooks(List.of(URI.create("http://127.0.0.1:" + io.picotunnel.testkit.Ports.freePort()
                    + "/hooks/x")), Duration.ofMillis(100));
            webhooks.send("first", JsonNodeFactory.instance.objectNode());

            await().atMost(20, TimeUnit.SECONDS).until(() -> log.list.stream()
                    .anyMatch(event -> event.getFormattedMessage().contains("trying again")));
            webhooks.close();
            assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                    .filteredOn(message -> message.contains("trying again"))
                    .allMatch(message -> message.contains("failed (could not connect); trying again"), "in words")
                    .first().asString().endsWith("failed (could not connect); trying again in 1 s.");
        } finally {
            logger.detachAppender(log);
        }
    }

    private static String readLine(java.io.DataInputStream in) throws java.io.IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new java.io.EOFException();
            }
            if (c != '\r' && line.length() < 8192) {
                line.append((char) c);
            }
        }
        return line.toString();
    }
}
