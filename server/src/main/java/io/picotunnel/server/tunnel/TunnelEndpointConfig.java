package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.yamux.YamuxConfig;

import java.time.Duration;

/**
 * Settings of the tunnel endpoint.
 *
 * @param yamux            the session settings (keepalive 30 s by default)
 * @param handshakeTimeout how long a connection may take from accept to a completed WebSocket upgrade
 * @param maxFramePayload  largest WebSocket frame payload accepted from a client (ours send at most 64 KiB);
 *                         a bigger frame closes the connection with status 1009
 */
public record TunnelEndpointConfig(YamuxConfig yamux, Duration handshakeTimeout, int maxFramePayload) {

    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_FRAME_PAYLOAD = WebSocketByteStreamCodec.MAX_ACCEPTED_FRAME_PAYLOAD;

    public TunnelEndpointConfig {
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive");
        }
        if (maxFramePayload < 64 * 1024) {
            throw new IllegalArgumentException("maxFramePayload must be at least 64 KiB");
        }
    }

    public static TunnelEndpointConfig defaults() {
        return new TunnelEndpointConfig(YamuxConfig.defaults(), DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_FRAME_PAYLOAD);
    }

    public TunnelEndpointConfig withKeepAliveInterval(Duration interval) {
        return new TunnelEndpointConfig(yamux.withKeepAliveInterval(interval), handshakeTimeout, maxFramePayload);
    }

    public TunnelEndpointConfig withHandshakeTimeout(Duration timeout) {
        return new TunnelEndpointConfig(yamux, timeout, maxFramePayload);
    }
}
