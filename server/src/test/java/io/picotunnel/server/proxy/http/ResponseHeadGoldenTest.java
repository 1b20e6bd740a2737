package io.picotunnel.server.proxy.http;

import io.picotunnel.server.auth.Cookies;
import io.picotunnel.server.auth.ManagementAuth;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The exact bytes a visitor receives for a table of target answers, head and body, HTTP/1.1 and HTTP/1.0 visitors:
 * framing (Content-Length, chunked, close-delimited, HEAD, 204, 304), hop-by-hop headers, our Set-Cookie stripped,
 * odd spacing and case. It pins the head as the proxy writes it today (decoded, edited and encoded again), so that a
 * later pass-through of the head's bytes can be shown to give the same bytes.
 */
class ResponseHeadGoldenTest {

    private static final String HOST = "golden.test";
    private static final String OUR_COOKIE = Cookies.named(ManagementAuth.COOKIE, false);

    /** What the target answers, by path; a close-delimited answer is followed by the target's close. */
    private static final Map<String, String> ANSWERS = Map.of(
            "/length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            "/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "/close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello",
            "/head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            "/no-content", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
            "/not-modified", "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n",
            "/hop-by-hop", "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "Proxy-Authenticate: Basic\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Kept: 1\r\nContent-Length: 2\r\n"
                    + "\r\nok",
            "/cookies", "HTTP/1.1 200 OK\r\nSet-Cookie: app=1\r\nSet-Cookie: " + OUR_COOKIE + "=stolen\r\n"
                    + "Set-Cookie: other=2\r\nContent-Length: 2\r\n\r\nok",
            "/odd", "HTTP/1.1 200 Fine By Me\r\nx-lower:   spaced value  \r\nX-UPPER:v\r\nX-Dup: a\r\nx-dup: b\r\n"
                    + "CONTENT-LENGTH: 2\r\n\r\nok",
            "/http10-target", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");

    @TempDir
    static Path dataDir;
    private static TunnelFixture tunnel;
    private static ServerSocket target;
    private static final ExecutorService THREADS = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws Exception {
        target = new ServerSocket();
        target.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        THREADS.execute(ResponseHeadGoldenTest::acceptLoop);
        tunnel = new TunnelFixture(dataDir, Map.of());
        tunnel.addService(HOST, "/", "127.0.0.1:" + target.getLocalPort(), false);
    }

    @AfterAll
    static void stop() throws IOException {
        tunnel.close();
        target.close();
        THREADS.shutdownNow();
    }

    private static void acceptLoop() {
        while (!target.isClosed()) {
            try {
                Socket socket = target.accept();
                THREADS.execute(() -> answerEach(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Answers every request on the connection from {@link #ANSWERS}, until one is close-delimited. */
    private static void answerEach(Socket socket) {
        try (socket) {
            socket.setSoTimeout(30_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            while (true) {
                String requestLine = headLine(in);
                if (requestLine == null) {
                    return;
                }
                for (String header = headLine(in); header != null && !header.isEmpty(); header = headLine(in)) {
                    // The request's headers: none of the table's requests has a body.
                }
                String answer = ANSWERS.getOrDefault(requestLine.split(" ")[1],
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                out.write(answer.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (answer.contains("Connection: close")) {
                    return;
                }
            }
        } catch (IOException e) {
            // The proxy's side ended the connection.
        }
    }

    private static String headLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                return null;
            }
            line.append((char) c);
        }
        return line.toString().strip();
    }

    /**
     * Method, path, visitor's version, the bytes it receives. Header names keep the target's case; a Set-Cookie list
     * with one of ours taken out is added again under the lower-case name, after the other headers.
     */
    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("GET", "/length", "HTTP/1.1", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        + "Content-Length: 5\r\n\r\nhello"),
                Arguments.of("GET", "/length", "HTTP/1.0", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        + "Content-Length: 5\r\nconnection: close\r\n\r\nhello"),
                Arguments.of("GET", "/chunked", "HTTP/1.1", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("GET", "/chunked", "HTTP/1.0", "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello"),
                Arguments.of("GET", "/close-delimited", "HTTP/1.1", "HTTP/1.1 200 OK\r\n"
                        + "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("HEAD", "/head", "HTTP/1.1", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                Arguments.of("GET", "/no-content", "HTTP/1.1", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
                Arguments.of("GET", "/not-modified", "HTTP/1.1", "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n"),
                Arguments.of("GET", "/hop-by-hop", "HTTP/1.1", "HTTP/1.1 200 OK\r\nX-Kept: 1\r\n"
                        + "Content-Length: 2\r\n\r\nok"),
                Arguments.of("GET", "/cookies", "HTTP/1.1", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                        + "set-cookie: app=1\r\nset-cookie: other=2\r\n\r\nok"),
                Arguments.of("GET", "/odd", "HTTP/1.1", "HTTP/1.1 200 Fine By Me\r\nx-lower: spaced value\r\n"
                        + "X-UPPER: v\r\nX-Dup: a\r\nx-dup: b\r\nCONTENT-LENGTH: 2\r\n\r\nok"),
                Arguments.of("GET", "/http10-target", "HTTP/1.1", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("rows")
    void theVisitorReceivesTheseBytes(String method, String path, String version, String expected) throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send(method + " " + path + " " + version + "\r\nHost: " + HOST + "\r\n\r\n");
            byte[] received = http.in().readNBytes(expected.length());
            assertThat(new String(received, StandardCharsets.ISO_8859_1)).isEqualTo(expected);
            if (version.equals("HTTP/1.0")) {
                assertThat(http.closedWithin15s()).as("nothing after the answer but the close").isTrue();
            } else if (!expected.toLowerCase(Locale.ROOT).contains("connection: close")) {
                // A body after a HEAD, 204 or 304 answer would come before the next answer's status line.
                http.send("GET /no-content HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n");
                String next = "HTTP/1.1 204 No Content\r\n";
                assertThat(new String(http.in().readNBytes(next.length()), StandardCharsets.ISO_8859_1))
                        .as("the next answer, right after this one").isEqualTo(next);
            }
        }
    }
}
