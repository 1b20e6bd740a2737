package io.picotunnel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A small HTTP proxy on 127.0.0.1 that answers {@code CONNECT host:port} as a corporate proxy does, with real
 * sockets. Whatever host is named, it dials 127.0.0.1 at that port (never anything else), so a test can name the
 * server {@code tunnel.test} and see that the client left the name to the proxy. It can ask for a user and
 * password (407 without them), refuse every request with a status (and headers such as {@code Retry-After}),
 * answer late, take the connection and never answer, or close it (or reset it) once the request has come, as a proxy that drops
 * requests or restarts does. Over TLS ({@link #overTls}), it is an {@code https://} proxy. It records each request's
 * head and when it came.
 */
public final class ConnectProxy implements AutoCloseable {

    /** What the proxy does once a request's head has come, before it looks at it. */
    private enum OnRequest {
        SERVE, NEVER_ANSWER, CLOSE, RESET
    }

    private final ProxyListener listener;
    private final String credentials;
    private final int refuseWith;
    private final String refusalHeaders;
    private final OnRequest onRequest;
    private final SSLContext tls;
    private final java.time.Duration answerAfter;
    private final List<Long> arrivals = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    /** A proxy that connects every request; with {@code user} not null, only requests that carry user and password. */
    public ConnectProxy(String user, String password) {
        this(user, password, 0, "", OnRequest.SERVE);
    }

    /**
     * A proxy that connects every request, as {@link #ConnectProxy(String, String)}, over TLS with {@code tls}'s key
     * and certificate (the client speaks TLS first, then CONNECT inside it).
     */
    public static ConnectProxy overTls(SSLContext tls) {
        return new ConnectProxy(null, null, 0, "", OnRequest.SERVE, java.time.Duration.ZERO, tls, java.time.Duration.ZERO);
    }

    /**
     * A proxy that connects every request, as {@link #ConnectProxy(String, String)}, but answers it {@code delay}
     * after it came, as a busy proxy or one whose own connection to the server is slow does.
     */
    public static ConnectProxy answeringAfter(java.time.Duration delay) {
        return new ConnectProxy(null, null, 0, "", OnRequest.SERVE, java.time.Duration.ZERO, null, delay);
    }

    /** A proxy that answers every request with {@code status} (403, 502...). */
    public static ConnectProxy refusing(int status) {
        return refusing(status, "");
    }

    /** A proxy that answers every request with {@code status} and {@code headers} ("Retry-After: 3\r\n"). */
    public static ConnectProxy refusing(int status, String headers) {
        return new ConnectProxy(null, null, status, headers, OnRequest.SERVE);
    }

    /** A proxy that takes the connection, reads the request and never answers, until it is closed. */
    public static ConnectProxy silent() {
        return new ConnectProxy(null, null, 0, "", OnRequest.NEVER_ANSWER);
    }

    /** A proxy that takes the connection, reads the request and closes the connection without a word. */
    public static ConnectProxy closingOnRequest() {
        return new ConnectProxy(null, null, 0, "", OnRequest.CLOSE);
    }

    /** A proxy that takes the connection, reads the request and resets the connection (a TCP RST). */
    public static ConnectProxy resettingOnRequest() {
        return new ConnectProxy(null, null, 0, "", OnRequest.RESET);
    }

    /**
     * A silent proxy that is slow to take connections: its listen queue (backlog 1) is held full by two connections of
     * its own for {@code late}, so the kernel does not complete a client's TCP handshake until some time after that
     * (on Linux, at one of the client's SYN retransmissions: seen from about {@code late} to a little over
     * {@code late} + 1 s); then the client's {@code CONNECT} gets no answer, as from {@link #silent()}.
     */
    public static ConnectProxy silentAcceptingLate(java.time.Duration late) {
        return new ConnectProxy(null, null, 0, "", OnRequest.NEVER_ANSWER, late, null, java.time.Duration.ZERO);
    }

    private ConnectProxy(String user, String password, int refuseWith, String refusalHeaders, OnRequest onRequest) {
        this(user, password, refuseWith, refusalHeaders, onRequest, java.time.Duration.ZERO, null,
                java.time.Duration.ZERO);
    }

    private ConnectProxy(String user, String password, int refuseWith, String refusalHeaders, OnRequest onRequest,
                         java.time.Duration late, SSLContext tls, java.time.Duration answerAfter) {
        this.tls = tls;
        this.answerAfter = answerAfter;
        this.credentials = user == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        this.refuseWith = refuseWith;
        this.refusalHeaders = refusalHeaders;
        this.onRequest = onRequest;
        listener = new ProxyListener("connect-proxy", late.isZero() ? 50 : 1);
        List<Socket> fillers = new ArrayList<>();
        try {
            if (!late.isZero()) {
                for (int i = 0; i < 2; i++) {
                    fillers.add(new Socket(InetAddress.getLoopbackAddress(), listener.port()));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        listener.start(() -> {
            if (!fillers.isEmpty()) {
                try {
                    // The slowness simulated: nothing is taken from the queue for this long.
                    Thread.sleep(late);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                fillers.forEach(ProxyListener::closeQuietly);
            }
        }, this::serve);
    }

    public int port() {
        return listener.port();
    }

    /** {@code http://127.0.0.1:port}. */
    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /** The head of every request so far (request line and headers), in the order they came. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** When each request's head had come ({@link System#nanoTime()}), in the order they came. */
    public List<Long> arrivalsNanos() {
        return List.copyOf(arrivals);
    }

    private void serve(Socket accepted) throws IOException {
        Socket client = accepted;
        if (tls != null) {
            SSLSocket secured = (SSLSocket) tls.getSocketFactory().createSocket(accepted, null, accepted.getPort(), true);
            secured.setUseClientMode(false);
            secured.startHandshake();
            client = secured;
        }
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        String head = HttpHead.read(in);
        if (!head.endsWith("\r\n\r\n")) {
            client.close();
            return;
        }
        arrivals.add(System.nanoTime());
        requests.add(head);
        if (onRequest == OnRequest.NEVER_ANSWER) {
            ProxyListener.neverAnswer(client, in);
            return;
        }
        if (onRequest == OnRequest.CLOSE || onRequest == OnRequest.RESET) {
            if (onRequest == OnRequest.RESET) {
                client.setSoLinger(true, 0);
            }
            client.close();
            return;
        }
        String[] requestLine = head.lines().findFirst().orElse("").split(" ");
        if (refuseWith != 0) {
            answer(out, refuseWith + " Refused", refusalHeaders);
            client.close();
            return;
        }
        if (credentials != null && !credentials.equals(header(head, "proxy-authorization"))) {
            answer(out, "407 Proxy Authentication Required", "Proxy-Authenticate: Basic realm=\"test\"\r\n");
            client.close();
            return;
        }
        if (requestLine.length != 3 || !requestLine[0].equals("CONNECT") || requestLine[1].lastIndexOf(':') < 0) {
            answer(out, "405 Method Not Allowed", "");
            client.close();
            return;
        }
        int port = Integer.parseInt(requestLine[1].substring(requestLine[1].lastIndexOf(':') + 1));
        Socket upstream;
        try {
            upstream = new Socket(InetAddress.getLoopbackAddress(), port);
        } catch (IOException e) {
            answer(out, "502 Bad Gateway", "");
            client.close();
            return;
        }
        listener.track(upstream);
        client.setSoTimeout(0);
        if (!answerAfter.isZero()) {
            try {
                // The slowness simulated: the answer is held back this long.
                Thread.sleep(answerAfter);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                client.close();
                return;
            }
        }
        out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        listener.relay(client, in, upstream);
    }

    private static void answer(OutputStream out, String status, String headers) throws IOException {
        out.write(("HTTP/1.1 " + status + "\r\n" + headers + "Content-Length: 0\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String header(String head, String name) {
        for (String line : head.lines().skip(1).toList()) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(name)) {
                return line.substring(colon + 1).strip();
            }
        }
        return null;
    }

    @Override
    public void close() {
        listener.close();
    }
}
