package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.ws.WebSocketByteStreamCodec;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.server.access.TrustedProxies;

import java.time.Duration;

/**
 * Settings of the tunnel endpoint.
 *
 * @param yamux            the session settings (keepalive 30 s by default)
 * @param handshakeTimeout how long a connection may take from accept to a completed WebSocket upgrade
 * @param maxFramePayload  largest WebSocket frame payload accepted from a client (ours send at most 64 KiB, a
 *                         hashicorp/yamux peer up to the largest window in one message); a bigger frame closes
 *                         the connection with status 1009
 * @param trustedProxies   front proxies ({@code --trusted-proxies}) whose {@code X-Forwarded-For} names the client
 *                         for the limit on wrong tunnel tokens and for the log
 */
public record TunnelEndpointConfig(YamuxConfig yamux, Duration handshakeTimeout, int maxFramePayload,
                                   TrustedProxies trustedProxies) {

    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_FRAME_PAYLOAD = WebSocketByteStreamCodec.MAX_ACCEPTED_FRAME_PAYLOAD;

    public TunnelEndpointConfig {
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive");
        }
        if (maxFramePayload < 64 * 1024) {
            throw new IllegalArgumentException("maxFramePayload must be at least 64 KiB");
        }
        if (trustedProxies == null) {
            throw new IllegalArgumentException("trustedProxies must be given (TrustedProxies.NONE for none)");
        }
    }

    public static TunnelEndpointConfig defaults() {
        return of(YamuxConfig.defaults());
    }

    /**
     * The endpoint for sessions with {@code yamux} settings. A peer such as hashicorp/yamux writes a Data frame as
     * large as the window we granted in one WebSocket message, so the message limit follows the largest window.
     */
    public static TunnelEndpointConfig of(YamuxConfig yamux) {
        int largestFrame = yamux.maxDataFrame() + YamuxSpec.HEADER_LENGTH;
        return new TunnelEndpointConfig(yamux, DEFAULT_HANDSHAKE_TIMEOUT,
                Math.max(DEFAULT_MAX_FRAME_PAYLOAD, largestFrame), TrustedProxies.NONE);
    }

    public TunnelEndpointConfig withKeepAliveInterval(Duration interval) {
        return new TunnelEndpointConfig(yamux.withKeepAliveInterval(interval), handshakeTimeout, maxFramePayload,
                trustedProxies);
    }

    public TunnelEndpointConfig withHandshakeTimeout(Duration timeout) {
        return new TunnelEndpointConfig(yamux, timeout, maxFramePayload, trustedProxies);
    }

    public TunnelEndpointConfig withTrustedProxies(TrustedProxies proxies) {
        return new TunnelEndpointConfig(yamux, handshakeTimeout, maxFramePayload, proxies);
    }
}
