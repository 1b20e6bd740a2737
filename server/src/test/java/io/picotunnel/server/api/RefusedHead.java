package io.picotunnel.server.api;

import java.io.IOException;
import java.io.OutputStream;

/** The client side of a request head Jetty refused, whose answer came with the end of the server's output. */
final class RefusedHead {

    private RefusedHead() {
    }

    /**
     * Whether {@code piece} could be written: once the server's side is closed (not only its output), the first
     * write after it brings a reset, and the next one fails.
     */
    static boolean written(OutputStream out, byte[] piece) {
        try {
            out.write(piece);
            out.flush();
            return true;
        } catch (IOException reset) {
            return false;
        }
    }
}
