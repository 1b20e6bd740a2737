package io.picotunnel.bench.http;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One keep-alive HTTP/1.1 connection that sends {@code GET /} with a Host header (as wrk does) and reads each answer
 * whole, on a blocking socket. Only answers framed by Content-Length are understood: the benchmark's target sends
 * those, and the proxy passes them on so.
 */
final class KeepAliveGetter implements AutoCloseable {

    private static final int TIMEOUT_MILLIS = 10_000;
    private static final int MAX_HEAD_BYTES = 16 * 1024;

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final byte[] request;
    private final byte[] head = new byte[MAX_HEAD_BYTES];

    KeepAliveGetter(InetSocketAddress address, String host) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(TIMEOUT_MILLIS);
        socket.connect(address, TIMEOUT_MILLIS);
        out = socket.getOutputStream();
        in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        request = ("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Sends one request and reads its answer; returns the body's length. Fails on anything but a 200. */
    int get() throws IOException {
        out.write(request);
        out.flush();
        int headLength = readHead();
        String text = new String(head, 0, headLength, StandardCharsets.ISO_8859_1);
        if (!text.startsWith("HTTP/1.1 200 ")) {
            throw new IOException("not a 200: " + text.lines().findFirst().orElse(""));
        }
        int bodyLength = contentLength(text);
        in.skipNBytes(bodyLength);
        return bodyLength;
    }

    /** Reads up to and with the empty line that ends the head, into {@link #head}; returns its length. */
    private int readHead() throws IOException {
        int length = 0;
        while (length < 4 || head[length - 1] != '\n' || head[length - 2] != '\r' || head[length - 3] != '\n'
                || head[length - 4] != '\r') {
            if (length == MAX_HEAD_BYTES) {
                throw new IOException("response head longer than " + MAX_HEAD_BYTES + " bytes");
            }
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the connection closed within a response head");
            }
            head[length++] = (byte) b;
        }
        return length;
    }

    private static int contentLength(String head) throws IOException {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Integer.parseInt(line.substring("content-length:".length()).strip());
            }
        }
        throw new IOException("no Content-Length in the response head");
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
