package io.picotunnel.protocol.ws;

import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;

/**
 * Why the server ends a client's connection, in the close frame it sends after its GoAway (docs/protocol.md section
 * 1): codes of the WebSocket's private range (4000-4999), which a client that knows none of them takes for any close,
 * and the standard 1011 for an error of the server's own.
 */
public enum TunnelCloseStatus {
    SERVER_STOPPING(4000, "server stopping", "the server is stopping"),
    TOKEN_REGENERATED(4001, "token regenerated", "the tunnel's token was regenerated"),
    TUNNEL_DELETED(4002, "tunnel deleted", "the tunnel was deleted"),
    /** RFC 6455's "internal error": the server could not check the token again (its database failed). */
    INTERNAL_ERROR(1011, "internal error", "the server had an internal error; its log says which");

    private final int code;
    private final String reason;
    private final String description;

    TunnelCloseStatus(int code, String reason, String description) {
        this.code = code;
        this.reason = reason;
        this.description = description;
    }

    public int code() {
        return code;
    }

    /** The close frame's reason text. */
    public String reason() {
        return reason;
    }

    /** For a log line: "the tunnel was deleted". */
    public String description() {
        return description;
    }

    public CloseWebSocketFrame frame() {
        return new CloseWebSocketFrame(code, reason);
    }

    /** The status with this code; null for any other code (an older or a newer server's). */
    public static TunnelCloseStatus of(int code) {
        for (TunnelCloseStatus status : values()) {
            if (status.code == code) {
                return status;
            }
        }
        return null;
    }
}
