package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The deadlines of one HTTP/2 connection, as HTTP/1.1 has them: its first request (a stream opened by HEADERS)
 * must come within the header timeout, and after its last open stream ended the next within the idle timeout;
 * otherwise the connection is closed (GOAWAY, then the close). A connection with a stream open is never idle,
 * however long its response takes. Runs on the connection's event loop.
 */
final class Http2Deadlines extends Http2ConnectionAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Http2Deadlines.class);

    private final Channel channel;
    private final Http2Connection connection;
    private final Duration idleTimeout;
    private ScheduledFuture<?> timer;

    private Http2Deadlines(Channel channel, Http2Connection connection, Duration idleTimeout) {
        this.channel = channel;
        this.connection = connection;
        this.idleTimeout = idleTimeout;
    }

    /** Watches {@code connection} of {@code channel}, from now (the TLS handshake is done). */
    static void watch(Channel channel, Http2Connection connection, Duration headerTimeout, Duration idleTimeout) {
        Http2Deadlines deadlines = new Http2Deadlines(channel, connection, idleTimeout);
        connection.addListener(deadlines);
        channel.closeFuture().addListener(f -> deadlines.cancel());
        deadlines.schedule(headerTimeout, "sent no request");
    }

    @Override
    public void onStreamActive(Http2Stream stream) {
        cancel();
    }

    @Override
    public void onStreamClosed(Http2Stream stream) {
        if (connection.numActiveStreams() == 0) {
            schedule(idleTimeout, "was idle");
        }
    }

    private void schedule(Duration timeout, String what) {
        cancel();
        if (!channel.isActive()) {
            return;
        }
        timer = channel.eventLoop().schedule(() -> {
            timer = null;
            if (connection.numActiveStreams() == 0 && channel.isActive()) {
                LOG.debug("HTTP/2 connection from {} {} for {}: closing", channel.remoteAddress(), what,
                        Durations.format(timeout));
                channel.close();
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
