package io.picotunnel.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/**
 * Connections to a listener on 127.0.0.1 from a chosen loopback address: another one (127.0.0.2, 127.0.0.3) stands
 * for another visitor, as the connection limits count them by address.
 */
public final class VisitorSockets {

    private VisitorSockets() {
    }

    /**
     * A connection from {@code localAddress} to 127.0.0.1:{@code port}, made within 5 s, whose reads time out after
     * {@code readTimeout}; closed again if it cannot be made.
     */
    public static Socket connectFrom(String localAddress, int port, Duration readTimeout) throws IOException {
        Socket socket = new Socket();
        try {
            socket.bind(new InetSocketAddress(localAddress, 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(Math.toIntExact(readTimeout.toMillis()));
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }
}
