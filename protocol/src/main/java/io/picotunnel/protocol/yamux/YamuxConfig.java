package io.picotunnel.protocol.yamux;

import java.time.Duration;

/**
 * Settings of one yamux session. {@link #defaults()} matches hashicorp/yamux's defaults.
 *
 * @param maxStreamWindow    receive window per stream in bytes (spec: initial 256 KiB); credit is returned
 *                           to the peer as the application consumes data, once the delta reaches half of it
 * @param keepAliveInterval  how often a ping is sent; a peer that has not answered the previous ping when
 *                           the next one is due is declared dead (so detection takes at most two intervals);
 *                           {@link Duration#ZERO} disables keepalive
 * @param maxStreams         most concurrently open streams; an inbound SYN beyond it is answered with RST
 * @param streamOpenTimeout  how long an opened stream waits for the peer's ACK before it is reset; also how long
 *                           a closed stream waits for the peer's FIN before it is reset, and how long
 *                           {@link YamuxSession#ping()} waits for the answer
 * @param writeBufferHighWaterMark bytes queued on a stream (not yet sent because of the send window or
 *                           the parent's writability) above which the stream channel is not writable
 */
public record YamuxConfig(
        int maxStreamWindow,
        Duration keepAliveInterval,
        int maxStreams,
        Duration streamOpenTimeout,
        int writeBufferHighWaterMark) {

    public static final int INITIAL_STREAM_WINDOW = 256 * 1024;

    public YamuxConfig {
        if (maxStreamWindow < INITIAL_STREAM_WINDOW) {
            throw new IllegalArgumentException("maxStreamWindow must be at least " + INITIAL_STREAM_WINDOW);
        }
        if (keepAliveInterval.isNegative()) {
            throw new IllegalArgumentException("keepAliveInterval must not be negative");
        }
        if (maxStreams < 1) {
            throw new IllegalArgumentException("maxStreams must be positive");
        }
        if (streamOpenTimeout.isNegative() || streamOpenTimeout.isZero()) {
            throw new IllegalArgumentException("streamOpenTimeout must be positive");
        }
        if (writeBufferHighWaterMark < 1) {
            throw new IllegalArgumentException("writeBufferHighWaterMark must be positive");
        }
    }

    public static YamuxConfig defaults() {
        return new YamuxConfig(INITIAL_STREAM_WINDOW, Duration.ofSeconds(30), 8192, Duration.ofSeconds(30), 64 * 1024);
    }

    public YamuxConfig withKeepAliveInterval(Duration interval) {
        return new YamuxConfig(maxStreamWindow, interval, maxStreams, streamOpenTimeout, writeBufferHighWaterMark);
    }

    public YamuxConfig withMaxStreams(int max) {
        return new YamuxConfig(maxStreamWindow, keepAliveInterval, max, streamOpenTimeout, writeBufferHighWaterMark);
    }
}
