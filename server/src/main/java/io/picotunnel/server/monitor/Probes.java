package io.picotunnel.server.monitor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.net.PathNormalizer;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checks themselves, each completing (never failing) within the timeout:
 * <ul>
 * <li>a tunnel is up when one of its clients answers a yamux ping; the latency is the fastest round trip;</li>
 * <li>an http service is up when a {@code GET health_path} through the tunnel gets a status below 500;</li>
 * <li>an http service with {@code tls_mode: passthrough} (its target speaks TLS) is probed as a tcp service;</li>
 * <li>a tcp service is up when the client reaches the target: a stream is opened to it and half-closed at once,
 *     and the target answers with data or by closing its side; a reset (the client could not connect) is down.</li>
 * </ul>
 */
final class Probes {

    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/\\d(?:\\.\\d)? (\\d{3})(?: .*)?");
    private static final int MAX_STATUS_LINE = 8192;

    private final TunnelRegistry registry;
    private final Duration timeout;
    private final Clock clock;

    Probes(TunnelRegistry registry, Duration timeout, Clock clock) {
        this.registry = registry;
        this.timeout = timeout;
        this.clock = clock;
    }

    Duration timeout() {
        return timeout;
    }

    CompletableFuture<Check> tunnel(String tunnelId) {
        Subject subject = Subject.tunnel(tunnelId);
        Instant at = clock.instant();
        List<TunnelRegistry.Connection> connections = registry.connections(tunnelId);
        if (connections.isEmpty()) {
            return CompletableFuture.completedFuture(Check.down(subject, "no client connected", at));
        }
        List<CompletableFuture<Duration>> pings = new ArrayList<>();
        List<Future<Duration>> sent = new ArrayList<>();
        for (TunnelRegistry.Connection connection : connections) {
            CompletableFuture<Duration> ping = new CompletableFuture<>();
            Future<Duration> inSession = connection.session().ping();
            sent.add(inSession);
            inSession.addListener((Future<Duration> answered) -> {
                if (answered.isSuccess()) {
                    ping.complete(answered.getNow());
                } else {
                    ping.completeExceptionally(answered.cause());
                }
            });
            pings.add(ping);
        }
        CompletableFuture<Check> result = new CompletableFuture<>();
        CompletableFuture.allOf(pings.toArray(CompletableFuture[]::new)).whenComplete((ignored, error) -> {
            Duration fastest = null;
            String failure = null;
            for (CompletableFuture<Duration> ping : pings) {
                if (ping.isCompletedExceptionally()) {
                    failure = ping.exceptionNow().getMessage();
                } else if (fastest == null || ping.join().compareTo(fastest) < 0) {
                    fastest = ping.join();
                }
            }
            result.complete(fastest != null ? Check.up(subject, millis(fastest), at)
                    : Check.down(subject, "ping failed: " + failure, at));
        });
        // A check that gives up forgets its pings, which would otherwise wait in the session for its ping timeout
        // (30 s) and pile up with checks every few seconds against a client that no longer answers.
        result.whenComplete((check, error) -> sent.forEach(ping -> ping.cancel(false)));
        return result.completeOnTimeout(Check.down(subject, "ping timeout after " + Durations.format(timeout), at),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    CompletableFuture<Check> service(Service service, ServiceCheckSettings settings) {
        Subject subject = new Subject(service.tunnelId(), service.id());
        Instant at = clock.instant();
        if (!registry.isConnected(service.tunnelId())) {
            return CompletableFuture.completedFuture(Check.down(subject, "no client connected", at));
        }
        // A passthrough service's target speaks TLS, and gets visitors' bytes as a tcp stream: so does the probe.
        boolean http = service.answersRequests();
        ProbeHandler handler = new ProbeHandler(subject, service.targetAddr(), http, at, System.nanoTime());
        registry.openStream(service.tunnelId(), handler).addListener((Future<YamuxStreamChannel> opened) -> {
            if (!opened.isSuccess()) {
                handler.result.complete(Check.down(subject, "could not open a stream to the client: "
                        + opened.cause().getMessage(), at));
                return;
            }
            YamuxStreamChannel stream = opened.getNow();
            if (handler.result.isDone()) {
                stream.reset();
                return;
            }
            stream.pipeline().firstContext().write(new StreamHeader(http ? StreamType.HTTP : StreamType.TCP,
                    service.targetAddr()).encode(stream.alloc()));
            if (http) {
                // As browsers and the proxy spell a path: letters outside ASCII percent-encoded as UTF-8.
                String request = "GET " + PathNormalizer.percentEncodeAsBrowsers(settings.healthPath())
                        + " HTTP/1.1\r\nHost: " + host(service.domain())
                        + "\r\nUser-Agent: PicoTunnel-Check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
                stream.writeAndFlush(Unpooled.copiedBuffer(request, StandardCharsets.US_ASCII));
            } else {
                stream.flush();
                stream.shutdownOutput();
            }
            stream.read();
            handler.result.whenComplete((check, error) -> stream.eventLoop().execute(() -> {
                if (stream.isOpen()) {
                    stream.reset();
                }
            }));
        });
        return handler.result.completeOnTimeout(Check.down(subject, (http ? "no answer" : "no answer from "
                        + service.targetAddr()) + " within " + Durations.format(timeout), at),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The client's reason for resetting the probe, after the target (": the target refused the connection"). */
    private static String why(ResetReason reason) {
        return switch (reason) {
            case NOT_ALLOWED -> ": the target is not in the client's --allow list";
            case TARGET_REFUSED -> ": the target refused the connection";
            case TARGET_TIMEOUT -> ": the target did not answer within the client's dial timeout";
            case UNKNOWN_HOST -> ": the target's host name did not resolve";
            case TARGET_UNREACHABLE -> ": the client has no route to the target";
            default -> "";
        };
    }

    /** A wildcard domain {@code *.example.com} is probed as {@code example.com}. */
    private static String host(String domain) {
        return domain.startsWith("*.") ? domain.substring(2) : domain;
    }

    private static long millis(Duration duration) {
        return Math.max(0, Math.round(duration.toNanos() / 1e6));
    }

    /** Reads the answer of a probe stream: the status line (http) or any sign of life from the target (tcp). */
    private final class ProbeHandler extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Check> result = new CompletableFuture<>();
        private final Subject subject;
        private final String target;
        private final boolean http;
        private final Instant at;
        private final long startNanos;
        private final StringBuilder line = new StringBuilder();

        ProbeHandler(Subject subject, String target, boolean http, Instant at, long startNanos) {
            this.subject = subject;
            this.target = target;
            this.http = http;
            this.at = at;
            this.startNanos = startNanos;
        }

        private long elapsedMillis() {
            return Math.max(0, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf data)) {
                ctx.fireChannelRead(msg);
                return;
            }
            try {
                if (!http) {
                    result.complete(Check.up(subject, elapsedMillis(), at));
                    return;
                }
                while (data.isReadable() && !result.isDone()) {
                    char c = (char) data.readByte();
                    if (c == '\n') {
                        statusLine(line.toString().strip());
                    } else if (line.length() >= MAX_STATUS_LINE) {
                        result.complete(Check.down(subject, "the answer is not HTTP", at));
                    } else {
                        line.append(c);
                    }
                }
            } finally {
                data.release();
            }
            if (!result.isDone()) {
                ctx.read();
            }
        }

        private void statusLine(String text) {
            Matcher matcher = STATUS_LINE.matcher(text);
            if (!matcher.matches()) {
                result.complete(Check.down(subject, "the answer is not HTTP", at));
                return;
            }
            int status = Integer.parseInt(matcher.group(1));
            result.complete(status < 500 ? Check.up(subject, elapsedMillis(), at)
                    : Check.down(subject, "HTTP status " + status, at));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                result.complete(http ? Check.down(subject, "the target closed the connection without an answer", at)
                        : Check.up(subject, elapsedMillis(), at));
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ResetReason reason = ctx.channel() instanceof YamuxStreamChannel stream
                    ? stream.peerResetReason() : ResetReason.NONE;
            result.complete(Check.down(subject, "the client could not reach " + target + why(reason), at));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.complete(Check.down(subject, "probe failed: " + cause.getMessage(), at));
            ctx.close();
        }
    }
}
