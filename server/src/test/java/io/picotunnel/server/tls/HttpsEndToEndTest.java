package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The whole server through its facade: HTTPS by SNI to a service behind a real tunnel client over wss. */
class HttpsEndToEndTest {

    private static final String ADMIN_TOKEN = "tls-e2e-admin-token-0123456789";

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private final TestCertificates.Issued tunnelCertificate = ca.issue("tunnel.test");
    private final TestCertificates.Issued exactAppsCertificate = ca.issue("app.apps.test");
    private final TestCertificates.Issued wildcardAppsCertificate = ca.issue("*.apps.test");
    private PicoTunnelServer server;
    private ApiClient api;
    private TunnelClient client;
    private HttpServer target;
    private HttpClient http;

    @BeforeEach
    void start() throws Exception {
        TestCertificates.write(ca.issue("app.test"), data.resolve("server/certs"), "app.test");
        TestCertificates.write(exactAppsCertificate, data.resolve("server/certs"), "app.apps.test");
        TestCertificates.write(wildcardAppsCertificate, data.resolve("server/certs"), "_.apps.test");
        TestCertificates.write(tunnelCertificate, data.resolve("operator"), "tunnel");
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        settings.put(Setting.DOMAIN, "tunnel.test");
        settings.put(Setting.TLS_CERT, data.resolve("operator/tunnel.crt").toString());
        settings.put(Setting.TLS_KEY, data.resolve("operator/tunnel.key").toString());
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data.resolve("server"), settings),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
        target = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        target.createContext("/", exchange -> {
            byte[] body = ("hello from behind the tunnel, proto="
                    + exchange.getRequestHeaders().getFirst("X-Forwarded-Proto")).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        target.start();
        http = HttpClient.newBuilder().sslContext(ca.clientContext()).connectTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterEach
    void stop() {
        http.close();
        if (client != null) {
            client.close();
        }
        target.stop(0);
        api.close();
        server.stop();
    }

    @Test
    void http2ClientReachesAServiceBehindTheTunnelThroughTlsTermination() throws Exception {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        connectClient(tunnel.get("token").asText());
        ApiClient.Response created = api.post("/api/tunnels/" + tunnel.get("id").asText() + "/services",
                "{\"type\":\"http\",\"domain\":\"app.test\",\"target_addr\":\"127.0.0.1:"
                        + target.getAddress().getPort() + "\",\"enabled\":true}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);

        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("https://app.test:" + server.httpsPort() + "/")).version(HttpClient.Version.HTTP_2)
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.body()).isEqualTo("hello from behind the tunnel, proto=https");
        JsonNode service = api.get("/api/tunnels/" + tunnel.get("id").asText() + "/services").json().get(0);
        assertThat(service.get("cert_status").asText()).isEqualTo("valid");
        assertThat(service.get("cert_expires_at").isNull()).isFalse();
        assertThat(service.get("cert_error").isNull()).isTrue();
    }

    /**
     * The basic-auth user name reaches the target in UTF-8 (as Go's proxies send it) whether the visitor speaks
     * HTTP/2 or HTTP/1.1 over TLS: the HTTP/2 stream becomes an HTTP/1.1 request to the target, and "José" must
     * not become "Jos?" (a String's characters written as US-ASCII) on the way.
     */
    @Test
    void aUserNameBeyondAsciiReachesTheTargetInUtf8OverHttp2AndHttp11() throws Exception {
        List<byte[]> users = new java.util.concurrent.CopyOnWriteArrayList<>();
        target.createContext("/who", exchange -> {
            // The JDK's server reads each header byte as one character (ISO-8859-1): its bytes are the wire's.
            String user = exchange.getRequestHeaders().getFirst("X-PicoTunnel-User");
            users.add(user == null ? new byte[0] : user.getBytes(StandardCharsets.ISO_8859_1));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        connectClient(tunnel.get("token").asText());
        String user = "Jos\u00e9";
        ApiClient.Response created = api.post("/api/tunnels/" + tunnel.get("id").asText() + "/services",
                "{\"type\":\"http\",\"domain\":\"app.test\",\"target_addr\":\"127.0.0.1:"
                        + target.getAddress().getPort() + "\",\"auth\":{\"type\":\"basic\",\"username\":\"" + user
                        + "\",\"password\":\"caf\u00e9 au lait\"}}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        String credentials = "Basic " + java.util.Base64.getEncoder()
                .encodeToString((user + ":caf\u00e9 au lait").getBytes(StandardCharsets.UTF_8));

        for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                            URI.create("https://app.test:" + server.httpsPort() + "/who")).version(version)
                    .header("Authorization", credentials).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).as("%s: %s", version, response.body()).isEqualTo(204);
            assertThat(response.version()).isEqualTo(version);
            assertThat(users).as("%s", version).hasSize(version == HttpClient.Version.HTTP_2 ? 1 : 2);
            assertThat(users.getLast()).as("%s", version).isEqualTo(user.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aBurstOfPipelinedRequestsOverTlsIsAnsweredWholeAndInOrder() throws Exception {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        connectClient(tunnel.get("token").asText());
        assertThat(api.post("/api/tunnels/" + tunnel.get("id").asText() + "/services",
                "{\"type\":\"http\",\"domain\":\"app.test\",\"target_addr\":\"127.0.0.1:"
                        + target.getAddress().getPort() + "\",\"enabled\":true}").status()).isEqualTo(201);
        int count = 2000;
        StringBuilder burst = new StringBuilder();
        for (int i = 0; i < count; i++) {
            burst.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: app.test\r\n\r\n");
        }
        try (SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), server.httpsPort())) {
            socket.setSoTimeout(20_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("app.test")));
            parameters.setApplicationProtocols(new String[] {"http/1.1"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            // TLS records of up to 16 KiB, each hundreds of requests: more than the codec's pipeline depth of 128
            Thread writer = Thread.ofVirtual().name("tls-burst").start(() -> {
                try {
                    socket.getOutputStream().write(burst.toString().getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            DataInputStream in = new DataInputStream(
                    new BufferedInputStream(socket.getInputStream()));
            for (int i = 0; i < count; i++) {
                String status = line(in);
                assertThat(status).as("answer %d", i).startsWith("HTTP/1.1 200");
                int length = -1;
                for (String header = line(in); !header.isEmpty(); header = line(in)) {
                    if (header.regionMatches(true, 0, "content-length:", 0, 15)) {
                        length = Integer.parseInt(header.substring(15).trim());
                    }
                }
                byte[] body = new byte[length];
                in.readFully(body);
                assertThat(new String(body, StandardCharsets.UTF_8))
                        .isEqualTo("hello from behind the tunnel, proto=https");
            }
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        }
    }

    /** One line of an HTTP head, without its CRLF. */
    private static String line(DataInputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new EOFException("the connection ended after: " + line);
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    @Test
    void tunnelEndpointServesWssWithTheDomainCertificate() throws Exception {
        assertThat(SniSockets.servedLeaf(ca.clientContext(), server.tunnelPort(), "tunnel.test").getSerialNumber())
                .isEqualTo(tunnelCertificate.serial());
    }

    @Test
    void removingACertificateFileForTheServerDomainBringsBackTheConfiguredCertificate() throws Exception {
        TestCertificates.Issued dropped = ca.issue("tunnel.test");
        TestCertificates.write(dropped, data.resolve("server/certs"), "tunnel.test");
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                servedSerial(server.httpsPort(), "tunnel.test").equals(dropped.serial()));

        Files.delete(data.resolve("server/certs/tunnel.test.crt"));
        Files.delete(data.resolve("server/certs/tunnel.test.key"));

        // PICOTUNNEL_TLS_CERT is still configured: the server's domain must not be left without a certificate
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                servedSerial(server.httpsPort(), "tunnel.test").equals(tunnelCertificate.serial()));
        assertThat(servedSerial(server.tunnelPort(), "tunnel.test")).isEqualTo(tunnelCertificate.serial());
    }

    /** A handshake with SNI {@code name} on {@code port}, verified against the test CA; the served leaf's serial. */
    private BigInteger servedSerial(int port, String name) throws IOException {
        return SniSockets.servedLeaf(ca.clientContext(), port, name).getSerialNumber();
    }

    @Test
    void readyMadeClientCommandsUseWssWhenTheEndpointServesTls() {
        // A bare host:port is wss to the client; ws:// would send the token in the clear to a TLS port.
        assertThat(server.tunnelServerAddress("203.0.113.7")).isEqualTo("tunnel.test:" + server.tunnelPort());
    }

    @Test
    void passthroughReachesATlsServerBehindTheClientThatTheBrowserVerifies() throws Exception {
        try (TlsEchoTarget secure = new TlsEchoTarget(ca.issue("secure.test"))) {
            ApiClient.Response created = api.post(servicesOfAConnectedTunnel("secure"),
                    passthroughService("secure.test", secure, ",\"enabled\":true"));
            assertThat(created.status()).as("%s", created).isEqualTo(201);
            assertThat(created.json().get("cert_status").isNull()).isTrue();

            try (SSLSocket socket = SniSockets.connect(ca.clientContext(), server.httpsPort(), "secure.test")) {
                socket.startHandshake();

                assertThat(exchangeLine(socket, "end to end")).isEqualTo("target heard: end to end");
                assertThat(((X509Certificate) socket.getSession().getPeerCertificates()[0])
                        .getSubjectX500Principal().getName()).isEqualTo("CN=secure.test");
            }
        }
    }

    @Test
    void aPassthroughServiceCreatedWithAUnicodeDomainGetsTheConnectionsWhoseSniIsItsXnForm() throws Exception {
        try (TlsEchoTarget secure = new TlsEchoTarget(ca.issue("xn--bcher-kva.test"))) {
            ApiClient.Response created = api.post(servicesOfAConnectedTunnel("books"),
                    passthroughService("b\u00fccher.test", secure, ",\"enabled\":true"));
            assertThat(created.status()).as("%s", created).isEqualTo(201);
            assertThat(created.json().get("domain").asText()).isEqualTo("xn--bcher-kva.test");

            try (SSLSocket socket = SniSockets.connect(ca.clientContext(), server.httpsPort(), "xn--bcher-kva.test")) {
                socket.startHandshake();

                assertThat(exchangeLine(socket, "books")).isEqualTo("target heard: books");
            }
        }
    }

    @Test
    void aPassthroughConnectionRefusedByAClientAtItsStreamLimitIsCarriedToAnotherClientClientHelloAndAll()
            throws Exception {
        List<Socket> open = new ArrayList<>();
        // The raw bytes go through, so an echo target sends the visitor its own ClientHello back.
        try (EchoServer echo = new EchoServer()) {
            JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"replicas\"}").json();
            String token = tunnel.get("token").asText();
            connectClient(token);
            assertThat(api.post("/api/tunnels/" + tunnel.get("id").asText() + "/services",
                    "{\"type\":\"http\",\"domain\":\"secure.test\",\"tls_mode\":\"passthrough\",\"target_addr\":\""
                            + echo.address() + "\"}").status()).isEqualTo(201);
            // The first client carries two connections, the one with --max-streams 1 one: the next stream goes to the
            // latter, the least loaded, which refuses it.
            open.add(echoedPassthrough());
            open.add(echoedPassthrough());
            SessionLimits defaults = SessionLimits.DEFAULTS;
            try (TunnelClient limited = new TunnelClient(ClientConfig.of(
                    ServerAddress.parse("wss://127.0.0.1:" + server.tunnelPort()), token)
                    .withInsecure(true).withShutdownGrace(Duration.ZERO)
                    .withLimits(new SessionLimits(defaults.maxStreamWindow(), defaults.sessionWindowBudget(), 1)))) {
                limited.start();
                assertThat(limited.awaitConnected(Duration.ofSeconds(20))).isTrue();
                // The client sees the 101 before the server's token recheck registers it; until then the third
                // stream would go to the first client and the fourth be accepted by this one.
                String clientsPath = "/api/tunnels/" + tunnel.get("id").asText();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> api.get(clientsPath).json().get("clients").size() == 2);
                open.add(echoedPassthrough());

                try (LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
                    open.add(echoedPassthrough());
                    assertThat(log.messages(Level.INFO)).singleElement().asString()
                            .contains("refused the stream: it had as many streams open as its --max-streams allows")
                            .contains("went to another client");
                }
                assertThat(echo.acceptedConnections()).as("the refused stream never reached the target").isEqualTo(4);
            }
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    /**
     * While the server drains, the HTTPS port is closed (a new visitor is refused and goes to another instance); a
     * passthrough connection relaying when the drain began goes on, and one accepted before it whose ClientHello comes
     * only after is closed at once, as for a tunnel without a client: no session takes a new stream any more, from
     * the moment the port closed, not only once the sessions' GoAway left. The drain is held between the two here (by
     * the tcp services' lock, which its next step takes, as a slow step would hold it): before, the late ClientHello
     * was relayed then, and its handshake succeeded; unheld, it was too whenever it came before the GoAway.
     */
    @Test
    void whileTheServerDrainsAPassthroughConnectionRelaysAndOneWhoseHelloComesAfterIsClosedAtOnce() throws Exception {
        try (TlsEchoTarget secure = new TlsEchoTarget(ca.issue("secure.test"));
                LogCapture log = new LogCapture("io.picotunnel", Level.INFO)) {
            assertThat(api.post(servicesOfAConnectedTunnel("secure"),
                    passthroughService("secure.test", secure, ",\"enabled\":true")).status()).isEqualTo(201);
            int port = server.httpsPort();
            try (Socket late = new Socket(InetAddress.getLoopbackAddress(), port)) {
                Thread stopping;
                try (SSLSocket open = SniSockets.connect(ca.clientContext(), port, "secure.test")) {
                    open.startHandshake();
                    // One listening socket accepts in order: late, connected first, was accepted before open was.
                    assertThat(exchangeLine(open, "before the drain")).isEqualTo("target heard: before the drain");
                    synchronized (server.tcpServices()) {
                        stopping = Thread.ofVirtual().name("server-stop")
                                .start(() -> server.stop(Duration.ofSeconds(60)));
                        await().atMost(Duration.ofSeconds(10)).until(() -> Ports.refuses(port));

                        assertThat(exchangeLine(open, "while it drains")).isEqualTo("target heard: while it drains");
                        SSLSocket lateTls = (SSLSocket) ca.clientContext().getSocketFactory()
                                .createSocket(late, "secure.test", port, true);
                        lateTls.setSoTimeout(30_000);
                        SSLParameters parameters = lateTls.getSSLParameters();
                        parameters.setServerNames(List.of(new SNIHostName("secure.test")));
                        lateTls.setSSLParameters(parameters);
                        long hello = System.nanoTime();
                        assertThatThrownBy(lateTls::startHandshake).isInstanceOf(IOException.class)
                                .isNotInstanceOf(SocketTimeoutException.class);
                        assertThat(Duration.ofNanos(System.nanoTime() - hello)).isLessThan(Duration.ofSeconds(5));
                    }
                    assertThat(stopping.isAlive()).as("the open connection holds the drain open").isTrue();
                }
                stopping.join(Duration.ofSeconds(30));
                assertThat(stopping.isAlive()).as("the stop ends once the connection ended").isFalse();
            }
            // Before: "... failed: the client of tunnel <id> is not connected", though it was, and the server stopping.
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.startsWith("TLS passthrough for secure.test"))
                    .singleElement().asString().contains("the server is stopping and takes no new streams for tunnel")
                    .doesNotContain("not connected");
            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.messages(Level.ERROR)).isEmpty();
        }
    }

    /** A passthrough connection to secure.test that sent its ClientHello and read it back whole from the echo target. */
    private Socket echoedPassthrough() throws Exception {
        byte[] hello = clientHello("secure.test");
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.httpsPort());
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(hello);
        assertThat(socket.getInputStream().readNBytes(hello.length)).isEqualTo(hello);
        return socket;
    }

    /** The first TLS record a browser sends to {@code serverName}: its ClientHello, with SNI. */
    private byte[] clientHello(String serverName) throws Exception {
        SSLEngine engine = ca.clientContext().createSSLEngine(serverName, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(serverName)));
        engine.setSSLParameters(parameters);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }

    @Test
    void passthroughEnforcesIpAllowAndRateLimitBeforeAnyStreamOpens() throws Exception {
        try (TlsEchoTarget secure = new TlsEchoTarget(ca.issue("secure.test"))) {
            ApiClient.Response created = api.post(servicesOfAConnectedTunnel("secure"),
                    passthroughService("secure.test", secure,
                            ",\"ip_allow\":[\"127.0.0.1/32\"],\"rate_limit\":{\"per_second\":0.01,\"burst\":2}"));
            assertThat(created.status()).as("%s", created).isEqualTo(201);

            assertThat(passthroughEcho("127.0.0.2")).isNull();
            assertThat(secure.acceptedConnections()).isZero();
            assertThat(passthroughEcho("127.0.0.1")).isEqualTo("target heard: allowed");
            assertThat(passthroughEcho("127.0.0.1")).isEqualTo("target heard: allowed");
            assertThat(passthroughEcho("127.0.0.1")).as("over the rate limit").isNull();
            assertThat(secure.acceptedConnections()).isEqualTo(2);
        }
    }

    @Test
    void anExactHttpServiceTerminatesTlsForItsNameUnderAWildcardPassthroughService() throws Exception {
        try (TlsEchoTarget passthroughTarget = new TlsEchoTarget(ca.issue("*.apps.test"))) {
            String services = servicesOfAConnectedTunnel("apps");
            assertThat(api.post(services, passthroughService("*.apps.test", passthroughTarget, "")).status())
                    .isEqualTo(201);
            assertThat(api.post(services, "{\"type\":\"http\",\"domain\":\"app.apps.test\",\"path_prefix\":\"/api\","
                    + "\"target_addr\":\"127.0.0.1:" + target.getAddress().getPort() + "\"}").status()).isEqualTo(201);

            assertThat(servedSerial(server.httpsPort(), "app.apps.test")).as("the proxy's certificate for app.apps.test")
                    .isEqualTo(exactAppsCertificate.serial());
            assertThat(servedSerial(server.httpsPort(), "APP.apps.test")).isEqualTo(exactAppsCertificate.serial());
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                            URI.create("https://app.apps.test:" + server.httpsPort() + "/api/x"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from behind the tunnel, proto=https");
            HttpResponse<String> outside = http.send(HttpRequest.newBuilder(
                            URI.create("https://app.apps.test:" + server.httpsPort() + "/other"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(outside.statusCode()).as("a path of the wildcard passthrough service, over terminated TLS")
                    .isEqualTo(404);
            assertThat(passthroughTarget.acceptedConnections()).isZero();

            assertThat(passthroughLine("other.apps.test", "still passed through"))
                    .isEqualTo("target heard: still passed through");
        }
    }

    @Test
    void anExactPassthroughServiceKeepsItsNameUnderAWildcardHttpService() throws Exception {
        try (TlsEchoTarget passthroughTarget = new TlsEchoTarget(ca.issue("db.apps.test"))) {
            String services = servicesOfAConnectedTunnel("apps");
            assertThat(api.post(services, "{\"type\":\"http\",\"domain\":\"*.apps.test\",\"target_addr\":\"127.0.0.1:"
                    + target.getAddress().getPort() + "\"}").status()).isEqualTo(201);
            assertThat(api.post(services, passthroughService("db.apps.test", passthroughTarget, "")).status())
                    .isEqualTo(201);

            assertThat(passthroughLine("db.apps.test", "passed through")).isEqualTo("target heard: passed through");
            assertThat(servedSerial(server.httpsPort(), "web.apps.test")).isEqualTo(wildcardAppsCertificate.serial());
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                            URI.create("https://web.apps.test:" + server.httpsPort() + "/"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from behind the tunnel, proto=https");
        }
    }

    @Test
    void aRequestForAPassthroughNameOverAConnectionMadeForAnotherNameGets421NotTheUnknownHostPage() throws Exception {
        try (TlsEchoTarget passthroughTarget = new TlsEchoTarget(ca.issue("db.apps.test"))) {
            String services = servicesOfAConnectedTunnel("apps");
            assertThat(api.post(services, "{\"type\":\"http\",\"domain\":\"*.apps.test\",\"target_addr\":\"127.0.0.1:"
                    + target.getAddress().getPort() + "\"}").status()).isEqualTo(201);
            assertThat(api.post(services, passthroughService("db.apps.test", passthroughTarget, "")).status())
                    .isEqualTo(201);

            // A browser holding an HTTP/2 connection to web.apps.test, whose certificate (*.apps.test) covers
            // db.apps.test too, sends db.apps.test's requests over it (connection reuse, as Firefox and Chrome do);
            // on 421 it opens a connection of its own, whose TLS goes to the passthrough target.
            try (SSLSocket socket = SniSockets.connect(ca.clientContext(), server.httpsPort(), "web.apps.test")) {
                socket.startHandshake();
                socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: db.apps.test\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.UTF_8));
                assertThat(in.readLine()).as("was 404, the unknown host page for a site that exists")
                        .isEqualTo("HTTP/1.1 421 Misdirected Request");
            }
            assertThat(passthroughTarget.acceptedConnections()).isZero();
            assertThat(passthroughLine("db.apps.test", "own connection")).isEqualTo("target heard: own connection");
        }
    }

    /** One line through the HTTPS listener to a passthrough target, asked for as {@code serverName}: its answer. */
    private String passthroughLine(String serverName, String line) throws IOException {
        try (SSLSocket socket = SniSockets.connect(ca.clientContext(), server.httpsPort(), serverName)) {
            socket.startHandshake();
            return exchangeLine(socket, line);
        }
    }

    /** One line through the passthrough service from {@code source}; null when the server closed the connection. */
    private String passthroughEcho(String source) throws Exception {
        try (SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory().createSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.httpsPort()), 10_000);
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("secure.test")));
            socket.setSSLParameters(parameters);
            try {
                socket.startHandshake();
            } catch (IOException closed) {
                return null;
            }
            return exchangeLine(socket, "allowed");
        }
    }

    /** Sends {@code line} and returns the line that comes back (null at the end of the stream). */
    private static String exchangeLine(SSLSocket socket, String line) throws IOException {
        PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        out.println(line);
        return in.readLine();
    }

    /** A new tunnel named {@code name} with our client connected to it: the API path of its services. */
    private String servicesOfAConnectedTunnel(String name) throws Exception {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"" + name + "\"}").json();
        connectClient(tunnel.get("token").asText());
        return "/api/tunnels/" + tunnel.get("id").asText() + "/services";
    }

    /** The JSON of an http service for {@code domain} passing TLS through to {@code target}, and {@code more}. */
    private static String passthroughService(String domain, TlsEchoTarget target, String more) {
        return "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"tls_mode\":\"passthrough\",\"target_addr\":"
                + "\"127.0.0.1:" + target.port() + "\"" + more + "}";
    }

    private void connectClient(String token) throws InterruptedException {
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("wss://127.0.0.1:" + server.tunnelPort()), token)
                .withInsecure(true).withShutdownGrace(Duration.ZERO));
        client.start();
        assertThat(client.awaitConnected(Duration.ofSeconds(20))).as("client connected over wss").isTrue();
    }
}
