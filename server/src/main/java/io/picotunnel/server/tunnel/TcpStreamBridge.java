package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.channels.ClosedChannelException;
import java.util.HashSet;
import java.util.Set;

/**
 * Joins an accepted socket to a new stream of a tunnel: opens the stream (a {@link Hold} keeps what it delivers until
 * the relay takes over), sends the stream header and what the visitor sends, and relays both ways once the client
 * acknowledged the stream. Until the ACK the visitor's bytes are also kept ({@link Unacknowledged}): a client that
 * refuses the stream at its opening (stopping, or at its --max-streams) never passed them to the target, and the
 * connection goes on to another client of the tunnel with all of them, up to {@link #MAX_OPENS} streams in all; so does
 * one whose client's connection closed with the stream's SYN still queued (the client never heard of it). The
 * log says once, when the connection went to another client or was reset, how many clients refused it and why the last
 * did. A connection reset because every client connection of the tunnel is at the server's --max-streams gets a
 * WARN instead, at most once a minute per tunnel. Used by tcp services and TLS passthrough.
 */
public final class TcpStreamBridge {

    private static final Logger LOG = LoggerFactory.getLogger(TcpStreamBridge.class);
    /**
     * Streams opened for one connection at most: the first and two on other clients after refusals. One whose SYN never
     * left does not count: its session is lost, and never chosen again.
     */
    static final int MAX_OPENS = 3;

    private final TunnelRegistry registry;
    private final String tunnelId;
    private final StreamHeader header;
    private final Channel socket;
    private final Promise<Void> relaying;
    private final Unacknowledged unacknowledged = new Unacknowledged();
    private final Set<YamuxSession> refusedBy = new HashSet<>();
    private volatile Future<YamuxStreamChannel> opening;
    /** Why the last of the clients in {@code refusedBy} refused this connection's stream. On the socket's loop. */
    private ResetReason lastRefusal;
    /** A stream of this connection ended before its ACK and this is the next. On the socket's loop. */
    private boolean reopened;
    /** The client acknowledged the stream: from then on the relay passes its end on. On the socket's loop. */
    private boolean relayStarted;

    private TcpStreamBridge(TunnelRegistry registry, String tunnelId, StreamHeader header, Channel socket) {
        this.registry = registry;
        this.tunnelId = tunnelId;
        this.header = header;
        this.socket = socket;
        this.relaying = socket.eventLoop().newPromise();
    }

    /**
     * Completes on the socket's event loop once the first stream is open and takes what the socket delivers (release
     * a hold in front of the socket's pipeline then). Fails when the tunnel has no client connected (the socket is
     * then closed), when the stream could not be opened, for instance because the client chosen for it was lost
     * before its SYN and no other took it (the socket is then reset: a FIN would pass for an empty answer to a visitor
     * waiting for the target to speak), or when the socket closed while the stream was opening (the stream is
     * reset). A stream reset after this, but for a refusal carried to another client, is passed on as a reset of the
     * socket.
     */
    public static Future<Void> connect(TunnelRegistry registry, String tunnelId, StreamHeader header, Channel socket) {
        TcpStreamBridge bridge = new TcpStreamBridge(registry, tunnelId, header, socket);
        bridge.open();
        // A visitor who leaves while the stream waits for a client under way takes its wait with it.
        socket.closeFuture().addListener(closed -> bridge.opening.cancel(false));
        return bridge.relaying;
    }

    /** Opens a stream: the first, or after a refusal one on another client. */
    private void open() {
        boolean carried = reopened;
        Hold hold = new Hold();
        AckWatch watch = new AckWatch(hold, stream -> socket.eventLoop().execute(() -> startRelay(stream, hold)));
        opening = registry.openStream(tunnelId, watch, socket.eventLoop(), refusedBy);
        opening.addListener((Future<YamuxStreamChannel> opened) -> {
            if (opened.isSuccess()) {
                YamuxStreamChannel stream = opened.getNow();
                socket.eventLoop().execute(() -> send(stream));
                return;
            }
            if (opened.cause() instanceof StreamOpenException full && full.atStreamLimit()) {
                registry.connectionsAtStreamLimit.refused(tunnelId, true, () -> "tunnel " + tunnelId + ": no stream to its client, "
                        + full.getMessage() + " (--max-streams): resetting new tcp and TLS passthrough connections"
                        + " until some end");
            }
            if (carried) {
                socket.eventLoop().execute(this::reset);
            } else {
                if (opened.cause() instanceof TunnelOfflineException offline && !offline.clientLost()) {
                    socket.close();
                } else {
                    Relay.abortChannel(socket);
                }
                relaying.tryFailure(opened.cause());
            }
        });
    }

    private void send(YamuxStreamChannel stream) {
        if (!socket.isActive()) {
            stream.reset();
            relaying.tryFailure(new ClosedChannelException());
            logRefusals(ResetReason.NONE, "closed before another client took it");
            return;
        }
        stream.closeFuture().addListener(f -> socket.eventLoop().execute(() -> endedUnacknowledged(stream)));
        if (socket.pipeline().get(Unacknowledged.NAME) == null) {
            socket.pipeline().addLast(Unacknowledged.NAME, unacknowledged);
        }
        // Flushed now: with a protocol where the target speaks first, nothing else would flush it.
        unacknowledged.sendTo(stream, header.encode(stream.alloc()));
        relaying.trySuccess(null);
    }

    /** The client acknowledged {@code stream}: the relay takes over. */
    private void startRelay(YamuxStreamChannel stream, Hold hold) {
        if (!socket.isActive()) {
            stream.reset();
            logRefusals(ResetReason.NONE, "closed before another client took it");
            return;
        }
        logRefusals(ResetReason.NONE, "went to another client");
        relayStarted = true;
        Relay.start(socket, stream);
        stream.closeFuture().addListener(f -> logClientReset(stream));
        // The stream's hold goes first, after the relay's handler is in the stream's pipeline; the visitor's EOF only
        // then: once the relay shuts the stream's output after a FIN from the client (which may have come with the
        // ACK), the stream closes, and a hold still in its pipeline would be torn down with what it kept.
        stream.eventLoop().execute(() -> {
            hold.release();
            socket.eventLoop().execute(unacknowledged::acknowledged);
        });
    }

    /** {@code stream} closed: before its ACK, the connection goes to another client if it was refused, else is reset. */
    private void endedUnacknowledged(YamuxStreamChannel stream) {
        if (relayStarted || unacknowledged.stream() != stream) {
            return;
        }
        ResetReason reason = stream.peerResetReason();
        if (reason.refused()) {
            refusedBy.add(stream.session());
            lastRefusal = reason;
        }
        int refusals = refusedBy.size();
        // A session lost with the SYN still queued: its client never heard of the stream, as if it had refused it. It
        // is no refusal (the log says nothing of it), and a lost session is never chosen again.
        boolean elsewhere = reason.refused() || stream.synNeverSent();
        if (!elsewhere || refusals >= MAX_OPENS || !socket.isActive()) {
            String outcome = !socket.isActive() && refusals > 0 ? "closed before another client took it"
                    : refusals >= MAX_OPENS ? "is reset (no more than " + MAX_OPENS + " clients are asked)" : "is reset";
            if (stream.openTimedOut()) {
                logOpenTimedOut(stream, outcome);
            } else {
                logRefusals(reason.refused() ? ResetReason.NONE : reason, outcome);
            }
            Relay.abortChannel(socket);
            return;
        }
        reopened = true;
        open();
    }

    /** No other client took the connection a client refused: it is reset, as for any reset of its stream. */
    private void reset() {
        logRefusals(ResetReason.NONE, "is reset");
        Relay.abortChannel(socket);
    }

    /**
     * A stream the client reset with a reason resets the visitor's connection (the relay does): the log says why,
     * once per stream, as the HTTP proxy does for a request.
     */
    private void logClientReset(YamuxStreamChannel stream) {
        ResetReason reason = stream.peerResetReason();
        if (reason != ResetReason.NONE) {
            logReset(reason);
        }
    }

    private void logReset(ResetReason reason) {
        LOG.info("tunnel {}, stream to {}: the tunnel's client {}; the connection from {} is reset", tunnelId,
                header.target(), ClientResets.describe(reason), socket.remoteAddress());
    }

    /** As the HTTP proxy says of a request's stream: the client, not the target, stayed silent. */
    private void logOpenTimedOut(YamuxStreamChannel stream, String outcome) {
        LOG.info("tunnel {}, stream to {}: the tunnel's client did not acknowledge the stream within {} (the server's"
                + " --stream-open-timeout), so the server reset it{}; the connection from {} {}", tunnelId,
                header.target(), Durations.format(stream.openTimeout()),
                refusedBy.isEmpty() ? "" : refusedBy.size() == 1 ? ", after another refused it"
                        : ", after " + refusedBy.size() + " others refused it",
                socket.remoteAddress(), outcome);
    }

    /**
     * The one line for a connection whose stream clients refused, once its {@code outcome} is known; for a stream
     * reset before its ACK for another {@code reason} (not NONE), that reason first. Nothing when neither happened.
     */
    private void logRefusals(ResetReason reason, String outcome) {
        int refusals = refusedBy.size();
        if (refusals == 0 && reason == ResetReason.NONE) {
            return;
        }
        String clients = reason == ResetReason.NONE
                ? (refusals == 1 ? "the tunnel's client " + ClientResets.describe(lastRefusal)
                        : refusals + " clients of the tunnel refused the stream in turn; the last "
                                + ClientResets.describe(lastRefusal))
                : "the tunnel's client " + ClientResets.describe(reason)
                        + (refusals == 0 ? "" : ", after " + (refusals == 1 ? "another" : refusals + " others")
                                + " refused the stream");
        LOG.info("tunnel {}, stream to {}: {}; the connection from {} {}", tunnelId, header.target(), clients,
                socket.remoteAddress(), outcome);
    }
}
