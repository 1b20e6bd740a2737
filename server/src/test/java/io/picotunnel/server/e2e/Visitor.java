package io.picotunnel.server.e2e;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A visitor on one loopback address (127.0.0.1, 127.0.0.2, ...): plain sockets bound to that source address, so the
 * server sees the visitor come from it.
 */
final class Visitor {

    /** What a browser's page load accepts (Firefox's): only a request that names text/html may start a sign-in. */
    static final String PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    private final InetAddress source;
    /** Sent with every request (joined to a Cookie header of the request's own), as a browser's cookie; or null. */
    private final String cookie;
    /** Sent as Accept with every request that names none of its own, as a browser's page load does; or null. */
    private final String accept;

    Visitor(String sourceAddress) {
        this(sourceAddress, null);
    }

    /** A visitor whose browser holds {@code cookie} ("name=value; name2=value2") for every host. */
    Visitor(String sourceAddress, String cookie) {
        this(sourceAddress, cookie, null);
    }

    /** As {@link #Visitor(String, String)}, sending {@code accept} when a request names no Accept of its own. */
    Visitor(String sourceAddress, String cookie, String accept) {
        try {
            this.source = InetAddress.getByName(sourceAddress);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
        this.cookie = cookie;
        this.accept = accept;
    }

    /** A browser on {@code sourceAddress} holding {@code cookie} (or none), whose requests are page loads. */
    static Visitor browser(String sourceAddress, String cookie) {
        return new Visitor(sourceAddress, cookie, PAGE_ACCEPT);
    }

    /** An HTTP/1.1 answer, read whole (the request asked the server to close). */
    record Response(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(source, 0));
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** {@code GET path} to {@code host} with {@code extraHeaders} (each "Name: value"). */
    Response get(int port, String host, String path, String... extraHeaders) throws IOException {
        try (Socket socket = connect(port)) {
            return get(socket, host, path, extraHeaders);
        }
    }

    /**
     * As {@link #get(int, String, String, String...)}, from a front proxy: {@code proxyHeader} (a PROXY protocol
     * header, {@link ProxyV2}) first on the connection, then the request.
     */
    Response getBehind(byte[] proxyHeader, int port, String host, String path, String... extraHeaders) throws IOException {
        try (Socket socket = connect(port)) {
            socket.getOutputStream().write(proxyHeader);
            return get(socket, host, path, extraHeaders);
        }
    }

    /** {@code POST path} to {@code host} with an empty body and {@code extraHeaders} (a form's button, say). */
    Response post(int port, String host, String path, String... extraHeaders) throws IOException {
        return request(port, "POST", host, path, extraHeaders);
    }

    /** {@code method path} to {@code host}, with an empty body unless GET or HEAD. */
    Response request(int port, String method, String host, String path, String... extraHeaders) throws IOException {
        try (Socket socket = connect(port)) {
            return send(socket, method, host, path, extraHeaders);
        }
    }

    /** As {@link #post(int, String, String, String...)}, over TLS with the Host's name as SNI. */
    Response postOverTls(SSLContext tls, int port, String host, String path, String... extraHeaders) throws IOException {
        String name = host.contains(":") ? host.substring(0, host.indexOf(':')) : host;
        try (Socket plain = connect(port);
             SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(plain, name, port, true)) {
            socket.startHandshake();
            return send(socket, "POST", host, path, extraHeaders);
        }
    }

    /** As {@link #get(int, String, String, String...)}, over TLS with the Host's name as SNI. */
    Response getOverTls(SSLContext tls, int port, String host, String path, String... extraHeaders) throws IOException {
        String name = host.contains(":") ? host.substring(0, host.indexOf(':')) : host;
        try (Socket plain = connect(port);
             SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(plain, name, port, true)) {
            socket.startHandshake();
            return get(socket, host, path, extraHeaders);
        }
    }

    private Response get(Socket socket, String host, String path, String... extraHeaders) throws IOException {
        return send(socket, "GET", host, path, extraHeaders);
    }

    /** {@code method path} on a connection made already (by {@link #connect}), read whole. */
    Response send(Socket socket, String method, String host, String path, String... extraHeaders)
            throws IOException {
        StringBuilder request = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host
                + "\r\nConnection: close\r\n" + (method.equals("GET") || method.equals("HEAD") ? "" : "Content-Length: 0\r\n"));
        boolean cookieSent = cookie == null;
        boolean acceptSent = accept == null;
        for (String header : extraHeaders) {
            acceptSent |= header.regionMatches(true, 0, "Accept:", 0, 7);
            if (!cookieSent && header.regionMatches(true, 0, "Cookie:", 0, 7)) {
                header = header + "; " + cookie;
                cookieSent = true;
            }
            request.append(header).append("\r\n");
        }
        if (!cookieSent) {
            request.append("Cookie: ").append(cookie).append("\r\n");
        }
        if (!acceptSent) {
            request.append("Accept: ").append(accept).append("\r\n");
        }
        request.append("\r\n");
        socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return parse(socket.getInputStream().readAllBytes());
    }

    /**
     * Writes {@code head} (a whole request head, headers and blank line as given: no {@code Connection: close} added)
     * on a new connection and reads one answer: its head, then as many bytes as its Content-Length says, without
     * waiting for the server to close.
     */
    Response exchange(int port, String head) throws IOException {
        try (Socket socket = connect(port)) {
            socket.getOutputStream().write(head.getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            Response answer = null;
            while (answer == null || answer.body().getBytes(StandardCharsets.UTF_8).length < contentLength(answer)) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("closed before a whole answer: " + received.toString(StandardCharsets.ISO_8859_1));
                }
                received.write(b);
                if (answer != null || received.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                    answer = parse(received.toByteArray());
                }
            }
            return answer;
        }
    }

    private static long contentLength(Response answer) {
        String length = answer.header("Content-Length");
        return length == null ? 0 : Long.parseLong(length);
    }

    private static Response parse(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            throw new IllegalStateException("no complete HTTP response: " + text);
        }
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.merge(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip(),
                    (a, b) -> a + "\n" + b);
        }
        String body = new String(bytes, end + 4, bytes.length - end - 4, StandardCharsets.UTF_8);
        return new Response(status, headers, body);
    }

    /**
     * Writes {@code text} on a new connection to {@code port} and reads the same length back; null when the server
     * closed or reset the connection instead.
     */
    String echo(int port, String text) throws IOException {
        try (Socket socket = connect(port)) {
            byte[] sent = text.getBytes(StandardCharsets.UTF_8);
            try {
                OutputStream out = socket.getOutputStream();
                out.write(sent);
                out.flush();
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                byte[] buffer = new byte[sent.length];
                while (received.size() < sent.length) {
                    int n = in.read(buffer, 0, sent.length - received.size());
                    if (n < 0) {
                        return null;
                    }
                    received.write(buffer, 0, n);
                }
                return received.toString(StandardCharsets.UTF_8);
            } catch (SocketException reset) {
                return null;
            }
        }
    }
}
