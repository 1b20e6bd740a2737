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

    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    String sessionCookie;

    HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(url)).GET(), Map.of());
    }

    HttpResponse<String> send(HttpRequest.Builder request, Map<String, String> headers) throws IOException, InterruptedException {
        request.timeout(Duration.ofSeconds(20));
        if (sessionCookie != null) {
            request.header("Cookie", "picotunnel_session=" + sessionCookie);
        }
        headers.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        setCookie(response).ifPresent(value -> sessionCookie = value.isEmpty() ? null : value);
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
        return response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("picotunnel_session="))
                .map(c -> c.substring("picotunnel_session=".length(), c.indexOf(';')))
                .findFirst();
    }

    static String location(HttpResponse<?> response) {
        return response.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location header"));
    }

    /** A raw request, for headers HttpClient does not let us set (Host). Returns the status line. */
    static String rawStatusLine(int port, String requestHead) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(requestHead.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\n' && line.length() < 200) {
                line.append((char) b);
            }
            return line.toString().trim();
        }
    }
}
