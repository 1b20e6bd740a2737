package io.picotunnel.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
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
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Sends {@code firstBytes}, which an admitted connection answers (a request, a TLS ClientHello, bytes an echo
     * returns), and tells whether the server closed the connection (EOF or reset) without a byte of answer: how a
     * listener refuses a connection over its limits. Any answer, or none before the read timeout, is false.
     */
    public static boolean closedUnanswered(Socket socket, byte[] firstBytes) throws IOException {
        try {
            socket.getOutputStream().write(firstBytes);
            socket.getOutputStream().flush();
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            if (socket.isClosed()) {
                throw e;
            }
            return true; // reset: closed with our bytes unread
        }
    }
}
