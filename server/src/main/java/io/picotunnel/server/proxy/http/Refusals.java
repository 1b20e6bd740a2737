package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tunnel.ClientResets;

import java.util.HashSet;
import java.util.Set;

/**
 * The clients of a tunnel that refused the stream of one request at its opening (stopping, or at their --max-streams),
 * for the exchange that sends the request to another client after each: whom to pass over, why the last refused, and
 * the clients' part of the request's one log line, told once its outcome is known (in the words of the tcp side's,
 * {@code TcpStreamBridge}). On the exchange's loop.
 */
final class Refusals {

    /** Clients asked for one request at most: the first and two others after refusals, as for a tcp connection. */
    static final int MAX_CLIENTS = 3;

    /** Immutable: the open, and the stream's ACK ({@link #any}), read it on a stream's loop. */
    private volatile Set<YamuxSession> sessions = Set.of();
    private ResetReason last;
    private boolean told;

    void add(YamuxSession session, ResetReason reason) {
        Set<YamuxSession> more = new HashSet<>(sessions);
        more.add(session);
        sessions = Set.copyOf(more);
        last = reason;
    }

    /** The sessions of the clients that refused: none is asked again for this request. */
    Set<YamuxSession> passOver() {
        return sessions;
    }

    /** Some client refused. Read on a stream's loop too. */
    boolean any() {
        return !sessions.isEmpty();
    }

    /** Why the last client refused; null if none did. */
    ResetReason last() {
        return last;
    }

    /** No more clients may be asked. */
    boolean exhausted() {
        return sessions.size() >= MAX_CLIENTS;
    }

    /**
     * What the log says of the clients, once: how many refused and why the last did; for a stream reset before its
     * answer for another {@code reason} (not NONE), that reason first. Once told, only such a reason, on its own (a
     * reset after the request went to another client is logged as any). Null when {@code reason} is NONE and no
     * client refused, or it was told.
     */
    String tell(ResetReason reason) {
        int refusals = sessions.size();
        if (reason == ResetReason.NONE && (told || refusals == 0)) {
            return null;
        }
        if (told) {
            return "the tunnel's client " + ClientResets.describe(reason);
        }
        told = true;
        if (reason != ResetReason.NONE) {
            return "the tunnel's client " + ClientResets.describe(reason)
                    + (refusals == 0 ? "" : ", after " + (refusals == 1 ? "another" : refusals + " others")
                            + " refused the stream");
        }
        return refusals == 1 ? "the tunnel's client " + ClientResets.describe(last)
                : refusals + " clients of the tunnel refused the stream in turn; the last " + ClientResets.describe(last);
    }
}
