package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.yamux.ResetReason;

/** What the server's log says of a stream the tunnel's client reset with a reason (docs/protocol.md, section 3). */
public final class ClientResets {

    private ClientResets() {
    }

    /**
     * The operator's words for a reason the tunnel's client gave when it reset a stream, after "the tunnel's
     * client " (a visitor's page says less).
     */
    public static String describe(ResetReason reason) {
        String notConnected = "could not connect to the target: ";
        return switch (reason) {
            case NOT_ALLOWED -> notConnected + "the target is not in the client's --allow list";
            case TARGET_REFUSED -> notConnected + "the target refused the connection";
            case TARGET_TIMEOUT -> notConnected + "the target did not answer within the client's dial timeout";
            case UNKNOWN_HOST -> notConnected + "the target's host name did not resolve";
            case TARGET_UNREACHABLE -> notConnected + "the client has no route to the target (its host or network"
                    + " is unreachable)";
            case BUFFER_LIMIT -> "reset the stream: its streams held more data their targets had not read than its "
                    + "--session-buffer-limit and this one's target had gone longest without reading; or it found no"
                    + " memory to hold this stream's data, or another stream's while this one's target had read"
                    + " nothing for 1 s or more";
            case CLIENT_STOPPING -> "is stopping: it reset the stream, still open at the end of its --shutdown-grace";
            case REFUSED_GOING_AWAY -> "is stopping: it refused the stream, opened as it sent GoAway (nothing of it"
                    + " reached the target)";
            case REFUSED_STREAM_LIMIT -> "refused the stream: it had as many streams open as its --max-streams allows"
                    + " (nothing of it reached the target)";
            case NONE -> "reset the stream: no reason given";
        };
    }
}
