package io.picotunnel.server.e2e;

import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/** Tcp visitors holding streams open on tunnels' clients, each echoed once; closing closes them all. */
final class HeldStreams implements AutoCloseable {

    private final List<Socket> visitors = new ArrayList<>();

    /** {@code count} tcp visitors of {@code tunnel} whose streams are open on a client. */
    static HeldStreams of(ServicedTunnel tunnel, int count) throws IOException {
        return new HeldStreams().hold(tunnel, count);
    }

    /** Holds {@code count} more tcp visitors of {@code tunnel}; if one fails, closes all held so far. */
    HeldStreams hold(ServicedTunnel tunnel, int count) throws IOException {
        try {
            for (int i = 0; i < count; i++) {
                visitors.add(tunnel.relayed());
            }
            return this;
        } catch (IOException | RuntimeException | AssertionError e) {
            try {
                close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Closes every visitor, though one's close fails: the first failure thrown, the others in it. */
    @Override
    public void close() throws IOException {
        CloseAll.closeAll(visitors);
    }
}
