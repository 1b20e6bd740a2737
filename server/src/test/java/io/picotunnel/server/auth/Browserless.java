package io.picotunnel.server.auth;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP client that acts like a browser for the sign-in tests: it keeps the session cookie, follows no
 * redirect by itself, and sends the headers the UI sends.
 */
final class Browserless {

    /** What a browser's page load accepts (Firefox's): only a request that names text/html may start a sign-in. */
    static final String PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    private final HttpClient http;
    String sessionCookie;
    /** The value of the last cookie that tied an OIDC sign-in to this browser, null once none is held. */
    String signInCookie;
    /** Every sign-in cookie held (one per sign-in: picotunnel_signin-STATE), by name. */
    final Map<String, String> signInCookies = new java.util.LinkedHashMap<>();

    Browserless() {
        this(null);
    }

    /** A browser whose connections come from {@code localAddress} (such as 127.0.0.2), or any when null. */
    Browserless(java.net.InetAddress localAddress) {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5));
        if (localAddress != null) {
            builder.localAddress(localAddress);
        }
        http = builder.build();
    }

    HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(url)).header("Accept", PAGE_ACCEPT).GET(), Map.of());
    }

    HttpResponse<String> send(HttpRequest.Builder request, Map<String, String> headers) throws IOException, InterruptedException {
        request.timeout(Duration.ofSeconds(20));
        java.util.List<String> cookies = new java.util.ArrayList<>();
        if (sessionCookie != null) {
            cookies.add("picotunnel_session=" + sessionCookie);
        }
        signInCookies.forEach((name, value) -> cookies.add(name + "=" + value));
        if (!cookies.isEmpty()) {
            request.header("Cookie", String.join("; ", cookies));
        }
        headers.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        setCookie(response).ifPresent(value -> sessionCookie = value.isEmpty() ? null : value);
        for (String set : response.headers().allValues("Set-Cookie")) {
            if (set.startsWith(ManagementAuth.SIGN_IN_COOKIE + "-")) {
                String name = set.substring(0, set.indexOf('='));
                String value = set.substring(name.length() + 1, set.indexOf(';'));
                if (value.isEmpty()) {
                    signInCookies.remove(name);
                } else {
                    signInCookies.put(name, value);
                    signInCookie = value;
                }
            }
        }
        if (signInCookies.isEmpty()) {
            signInCookie = null;
        }
        return response;
    }

    /** A write as the UI makes it: JSON body, the CSRF header, and the page's own Origin. */
    HttpResponse<String> uiWrite(String method, String url, String json) throws IOException, InterruptedException {
        URI uri = URI.create(url);
        return send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.ofString(json)),
                Map.of("Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1",
                        "Origin", uri.getScheme() + "://" + uri.getRawAuthority()));
    }

    static Optional<String> setCookie(HttpResponse<?> response) {
        return cookie(response, "picotunnel_session");
    }

    static Optional<String> cookie(HttpResponse<?> response, String name) {
        return response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith(name + "="))
                .map(c -> c.substring(name.length() + 1, c.indexOf(';')))
                .findFirst();
    }

    /** The {@code name=value} of the cookie named {@code prefix} and something more that the response sets. */
    static Optional<String> cookieStartingWith(HttpResponse<?> response, String prefix) {
        return response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith(prefix))
                .map(c -> c.substring(0, c.indexOf(';')))
                .findFirst();
    }

    static String location(HttpResponse<?> response) {
        return response.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location header"));
    }

    /**
     * A raw request, for headers HttpClient does not let us set (Host). Returns the response's head: its status line,
     * then each header line.
     */
    static java.util.List<String> rawResponseHead(int port, String requestHead) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            InputStream in = send(socket, requestHead);
            java.util.List<String> head = new java.util.ArrayList<>();
            StringBuilder line = new StringBuilder();
            int b;
            while (head.size() < 100 && (b = in.read()) != -1 && line.length() < 8192) {
                if (b != '\n') {
                    line.append((char) b);
                } else if (line.toString().isBlank()) {
                    break;
                } else {
                    head.add(line.toString().trim());
                    line.setLength(0);
                }
            }
            return head;
        }
    }

    /** The value of header {@code name} in a head from {@link #rawResponseHead}. */
    static String rawHeader(java.util.List<String> head, String name) {
        return head.stream().skip(1)
                .filter(h -> h.regionMatches(true, 0, name + ":", 0, name.length() + 1))
                .map(h -> h.substring(name.length() + 1).strip())
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + " header in " + head));
    }

    /** A raw request, for headers HttpClient does not let us set (Host). Returns the status line. */
    static String rawStatusLine(int port, String requestHead) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            InputStream in = send(socket, requestHead);
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\n' && line.length() < 200) {
                line.append((char) b);
            }
            return line.toString().trim();
        }
    }

    /** Sends {@code requestHead} as it is; returns the stream of the answer, whose reads wait at most 10 s. */
    private static InputStream send(Socket socket, String requestHead) throws IOException {
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        out.write(requestHead.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return socket.getInputStream();
    }
}
