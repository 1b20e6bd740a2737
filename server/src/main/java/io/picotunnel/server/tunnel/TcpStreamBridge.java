package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.channels.ClosedChannelException;

/**
 * Joins an accepted socket to a new stream of a tunnel: opens the stream (a {@link Hold} keeps what it
 * delivers until the relay takes over), sends the stream header, then relays both ways. Used by tcp services and TLS passthrough.
 */
public final class TcpStreamBridge {

    private static final Logger LOG = LoggerFactory.getLogger(TcpStreamBridge.class);

    private TcpStreamBridge() {
    }

    /**
     * Completes on the socket's event loop once the relay runs. Fails when the tunnel has no client connected
     * (the socket is then closed), when the stream could not be opened, for instance because the session was
     * lost meanwhile (the socket is then reset), or when the socket closed while the stream was opening (the
     * stream is reset). A stream reset after this, the relay passes on as a reset of the socket.
     */
    public static Future<Void> connect(TunnelRegistry registry, String tunnelId, StreamHeader header, Channel socket) {
        Promise<Void> relaying = socket.eventLoop().newPromise();
        Hold hold = new Hold();
        Future<YamuxStreamChannel> opening = registry.openStream(tunnelId, hold, socket.eventLoop());
        // A visitor who leaves while the stream waits for a client under way takes its wait with it.
        socket.closeFuture().addListener(closed -> opening.cancel(false));
        opening.addListener((Future<YamuxStreamChannel> opened) -> {
            if (!opened.isSuccess()) {
                if (opened.cause() instanceof TunnelOfflineException) {
                    socket.close();
                } else {
                    Relay.abortChannel(socket);
                }
                relaying.tryFailure(opened.cause());
                return;
            }
            YamuxStreamChannel stream = opened.getNow();
            socket.eventLoop().execute(() -> {
                if (!socket.isActive()) {
                    stream.reset();
                    relaying.tryFailure(new ClosedChannelException());
                    return;
                }
                // Flushed now: with a protocol where the target speaks first, nothing else would flush it.
                stream.writeAndFlush(header.encode(stream.alloc()));
                Relay.start(socket, stream);
                stream.closeFuture().addListener(f -> logClientReset(tunnelId, header, socket, stream));
                // Queued before the visitor's held bytes and EOF are released (on completion of relaying): once the
                // relay shuts the stream's output after a FIN from the client, the stream closes and a hold still in
                // its pipeline would be torn down with what it kept.
                stream.eventLoop().execute(hold::release);
                relaying.trySuccess(null);
            });
        });
        return relaying;
    }

    /**
     * A stream the client reset with a reason resets the visitor's connection (the relay does): the log says why,
     * once per stream, as the HTTP proxy does for a request.
     */
    private static void logClientReset(String tunnelId, StreamHeader header, Channel socket, YamuxStreamChannel stream) {
        ResetReason reason = stream.peerResetReason();
        if (reason != ResetReason.NONE) {
            LOG.info("tunnel {}, stream to {}: the tunnel's client {}; the connection from {} is reset", tunnelId,
                    header.target(), ClientResets.describe(reason), socket.remoteAddress());
        }
    }
}
