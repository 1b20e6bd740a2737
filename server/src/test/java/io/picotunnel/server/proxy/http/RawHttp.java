package io.picotunnel.server.proxy.http;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** An HTTP/1.1 connection written by hand, for requests no well-behaved client would send. */
final class RawHttp implements AutoCloseable {

    /** {@code trailers}: those of a chunked body, empty for any other. */
    record Response(int status, Map<String, List<String>> headers, byte[] body, Map<String, List<String>> trailers) {
        String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null ? null : values.get(0);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(int port) throws IOException {
        this(port, null);
    }

    /** A connection from {@code localAddress} (another loopback address, e.g. 127.0.0.2, stands for another client). */
    RawHttp(int port, String localAddress) throws IOException {
        this(port, localAddress, 0);
    }

    /** As above, with a receive buffer of {@code receiveBuffer} bytes when positive (a visitor that takes little at a time). */
    RawHttp(int port, String localAddress, int receiveBuffer) throws IOException {
        socket = new Socket();
        try {
            if (receiveBuffer > 0) {
                // Before the connect, so that the window is small from the start.
                socket.setReceiveBufferSize(receiveBuffer);
            }
            if (localAddress != null) {
                socket.bind(new InetSocketAddress(localAddress, 0));
            }
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(20_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** Each read waits at most {@code timeout} for the server (20 s unless set). */
    RawHttp readTimeout(Duration timeout) throws IOException {
        socket.setSoTimeout(Math.toIntExact(timeout.toMillis()));
        return this;
    }

    RawHttp send(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return this;
    }

    OutputStream out() {
        return out;
    }

    InputStream in() {
        return in;
    }

    Response get(String host, String path) throws IOException {
        send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
        return read();
    }

    /** Reads one response to a request that was not HEAD. */
    Response read() throws IOException {
        return read(false);
    }

    Response read(boolean head) throws IOException {
        String statusLine = line();
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, List<String>> headers = headers();
        if (head || status == 204 || status == 304 || (status >= 100 && status < 200)) {
            return new Response(status, headers, new byte[0], Map.of());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        List<String> te = headers.get("transfer-encoding");
        List<String> cl = headers.get("content-length");
        Map<String, List<String>> trailers = Map.of();
        if (te != null && te.get(0).equalsIgnoreCase("chunked")) {
            while (true) {
                int size = Integer.parseInt(line().split(";")[0].trim(), 16);
                if (size == 0) {
                    trailers = headers();
                    break;
                }
                body.write(in.readNBytes(size));
                line();
            }
        } else if (cl != null) {
            int length = Integer.parseInt(cl.get(0));
            byte[] bytes = in.readNBytes(length);
            if (bytes.length < length) {
                throw new EOFException("body ended after " + bytes.length + " of " + length + " bytes");
            }
            body.write(bytes);
        } else {
            body.write(in.readAllBytes());
        }
        return new Response(status, headers, body.toByteArray(), trailers);
    }

    /** Ends the sending side (shutdown(SHUT_WR), as {@code nc -N} does); what the server sends can still be read. */
    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /** True once the server has closed the connection (reads EOF). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() == -1;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * True once the server has closed the connection (EOF or reset) within 15 s; false when it is still open
     * then (a read timeout is not a close).
     */
    boolean closedWithin15s() throws IOException {
        int before = socket.getSoTimeout();
        socket.setSoTimeout(15_000);
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(before);
            }
        }
    }

    String line() throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                int len = b.length();
                return len > 0 && b.charAt(len - 1) == '\r' ? b.substring(0, len - 1) : b.toString();
            }
            b.append((char) c);
        }
        throw new EOFException("connection closed, read so far: " + b);
    }

    private Map<String, List<String>> headers() throws IOException {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String line;
        while (!(line = line()).isEmpty()) {
            int colon = line.indexOf(':');
            headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(line.substring(colon + 1).trim());
        }
        return headers;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
