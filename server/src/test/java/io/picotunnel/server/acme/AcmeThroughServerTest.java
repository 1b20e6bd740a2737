package io.picotunnel.server.acme;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.tls.CertificateDirectory;
import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.util.KeyPairUtils;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * ACME as an operator configures it: the whole server with PICOTUNNEL_ACME_* settings against pebble, HTTP-01
 * answered by the real HTTP proxy listener, the certificate served by the HTTPS listener.
 */
class AcmeThroughServerTest {

    private static final String ADMIN_TOKEN = "acme-e2e-admin-token-0123456789";

    @TempDir
    Path data;

    private Pebble pebble;
    private PicoTunnelServer server;
    private ApiClient api;
    private HttpClient http;

    @AfterEach
    void stop() {
        if (http != null) {
            http.close();
        }
        if (api != null) {
            api.close();
        }
        if (server != null) {
            server.stop();
        }
        if (pebble != null) {
            pebble.close();
        }
    }

    /**
     * Starts the server on ports it binds itself (0) with ACME against a new pebble working in
     * {@code <data>/<pebbleDirectory>}, which validates HTTP-01 and TLS-ALPN-01 on the server's listeners. The server
     * needs pebble's URL and pebble the server's ports, so pebble's ports are picked first: when another process
     * takes one before pebble binds it, both start again.
     */
    private void startServerWithAcme(String pebbleDirectory) throws Exception {
        for (int attempt = 1; ; attempt++) {
            pebble = new Pebble(data.resolve(pebbleDirectory));
            startServer(0, 0);
            try {
                pebble.start(server.httpPort(), server.httpsPort());
                return;
            } catch (Pebble.PortTaken e) {
                api.close();
                server.stop();
                pebble.close();
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    /** Starts the server on {@code <data>/server} with ACME against pebble, its listeners on these ports (0: any). */
    private void startServer(int httpPort, int httpsPort) throws Exception {
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.HTTP_ADDR, "127.0.0.1:" + httpPort);
        settings.put(Setting.HTTPS_ADDR, "127.0.0.1:" + httpsPort);
        settings.put(Setting.ACME_ENABLED, "true");
        settings.put(Setting.ACME_EMAIL, "admin@example.test");
        settings.put(Setting.ACME_DIRECTORY, pebble.directory());
        settings.put(Setting.ACME_CA_FILE, pebble.listenerTrust().toString());
        startServer(settings);
    }

    /** Starts the server on {@code <data>/server} with these settings and the test's admin token. */
    private void startServer(Map<Setting, String> settings) throws Exception {
        settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data.resolve("server"), settings),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
    }

    @Test
    void serviceCreatedThroughTheApiGetsACertificateByHttp01ThatValidatesAgainstPebbleRoot() throws Exception {
        startServerWithAcme("pebble");
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        String services = "/api/tunnels/" + tunnel.get("id").asText() + "/services";

        JsonNode created = api.post(services,
                "{\"type\":\"http\",\"domain\":\"shop.test\",\"target_addr\":\"127.0.0.1:9\",\"enabled\":true}").json();
        assertThat(created.get("cert_status").asText()).isIn("pending", "valid");

        awaitCertStatus(services, "valid");
        JsonNode service = api.get(services).json().get(0);
        assertThat(service.get("cert_expires_at").isNull()).isFalse();
        assertThat(service.get("cert_error").isNull()).isTrue();
        assertThat(statusTrustingPebbleRoot("shop.test"))
                .as("the tunnel is offline: the proxy answers behind a valid certificate").isEqualTo(502);
        assertThat(Files.exists(data.resolve("server/certs/acme/shop.test.crt"))).isTrue();
        server.events().flush();
        JsonNode event = api.get("/api/tunnels/" + tunnel.get("id").asText() + "/events").json().get(0);
        assertThat(event.get("type").asText()).isEqualTo("certificate_issued");
        assertThat(event.get("service_id").asText()).isEqualTo(created.get("id").asText());
        assertThat(event.get("message").asText()).startsWith("Certificate for shop.test issued, valid until ");
    }

    @Test
    void wildcardCertificateFileAddedWhileRunningIsServedInsteadOfTheAcmeCertificateItCovers() throws Exception {
        startServerWithAcme("pebble");
        String services = tunnelWithHttpService("app.shop.test");
        awaitCertStatus(services, "valid");
        BigInteger fromAcme = servedSerial("app.shop.test");
        assertThat(fromAcme).isEqualTo(PemFiles.readChain(data.resolve("server/certs/acme/app.shop.test.crt"))
                .getFirst().getSerialNumber());

        TestCertificates operatorCa = new TestCertificates();
        TestCertificates.Issued wildcard = operatorCa.issue("*.shop.test");
        TestCertificates.write(wildcard, data.resolve("server/certs"), "_.shop.test");

        // The operator's file wins over ACME for every name it covers, as it does after a restart, where ACME leaves
        // the name alone; the ACME certificate, no longer renewed, must not keep being served until it expires.
        await().atMost(Duration.ofSeconds(30)).until(() -> servedSerial("app.shop.test").equals(wildcard.serial()));
        JsonNode service = api.get(services).json().get(0);
        assertThat(service.get("cert_status").asText()).isEqualTo("valid");
        assertThat(Instant.parse(service.get("cert_expires_at").asText()))
                .isEqualTo(wildcard.chain().getFirst().getNotAfter().toInstant());
    }

    @Test
    void expiredCertificateFileNoLongerKeepsAcmeFromItsNameAndAValidReplacementWinsAgain() throws Exception {
        TestCertificates operatorCa = new TestCertificates();
        Instant now = Instant.now();
        TestCertificates.Issued expired = operatorCa.issueValid(now.minus(Duration.ofDays(90)),
                now.minus(Duration.ofDays(1)), "shop.test");
        TestCertificates.write(expired, data.resolve("server/certs"), "shop.test");
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            startServerWithAcme("pebble");
            // one at each start of the server: startServerWithAcme starts it again when pebble's port was taken
            assertThat(log.messages(Level.WARN)).isNotEmpty().allSatisfy(warning -> assertThat(warning)
                    .startsWith("certificate for shop.test loaded from ").contains("it expired at "));
        }
        String services = tunnelWithHttpService("shop.test");

        awaitCertStatus(services, "valid");
        BigInteger fromAcme = PemFiles.readChain(data.resolve("server/certs/acme/shop.test.crt")).getFirst()
                .getSerialNumber();
        assertThat(servedSerial("shop.test")).isEqualTo(fromAcme);
        assertThat(statusTrustingPebbleRoot("shop.test")).as("ACME's certificate validates").isEqualTo(502);

        TestCertificates.Issued replaced = operatorCa.issue("shop.test");
        TestCertificates.write(replaced, data.resolve("server/certs"), "shop.test");

        await().atMost(Duration.ofSeconds(30)).until(() -> servedSerial("shop.test").equals(replaced.serial()));
        JsonNode service = api.get(services).json().get(0);
        assertThat(service.get("cert_status").asText()).isEqualTo("valid");
        assertThat(Instant.parse(service.get("cert_expires_at").asText()))
                .isEqualTo(replaced.chain().getFirst().getNotAfter().toInstant());
    }

    @Test
    void certificateFileForOtherNamesDoesNotKeepAcmeFromTheNameItIsFiledUnder() throws Exception {
        // the operator saved the certificate of other.test as shop.test.crt/.key: visitors of shop.test would refuse it
        TestCertificates.Issued misfiled = new TestCertificates().issue("other.test");
        TestCertificates.write(misfiled, data.resolve("server/certs"), "shop.test");
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            startServerWithAcme("pebble");
            // one at each start of the server: startServerWithAcme starts it again when pebble's port was taken
            assertThat(log.messages(Level.WARN)).isNotEmpty().allSatisfy(warning -> assertThat(warning)
                    .startsWith("certificate for shop.test loaded from ").contains("it is for other.test, not shop.test")
                    .contains("ACME, when enabled, obtains one"));
        }
        String services = tunnelWithHttpService("shop.test");

        awaitCertStatus(services, "valid");
        BigInteger fromAcme = PemFiles.readChain(data.resolve("server/certs/acme/shop.test.crt")).getFirst()
                .getSerialNumber();
        assertThat(servedSerial("shop.test")).isEqualTo(fromAcme).isNotEqualTo(misfiled.serial());
        assertThat(statusTrustingPebbleRoot("shop.test")).as("ACME's certificate validates for shop.test")
                .isEqualTo(502);
    }

    @Test
    void failedOrderIsNotRepeatedByARestartBeforeItsRetryDelayButAServiceUpdateOrdersAtOnce() throws Exception {
        // pebble validates on ports nobody answers, so every validation fails, as with a DNS record not yet pointed here
        pebble = Pebble.started(data.resolve("pebble"), Ports.freePort(), Ports.freePort());
        startServer(0, 0);
        String services = tunnelWithHttpService("shop.test");
        String id = api.get(services).json().get(0).get("id").asText();
        awaitCertStatus(services, "error");
        assertThat(pebble.ordersCreated()).isEqualTo(1);
        // the status shows the error a moment before the retry delay is on disk
        Path failure = data.resolve("server/certs/acme/shop.test.failure");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(failure));
        assertThat(Files.readString(failure))
                .contains("failures=1").contains("next_attempt=").contains("http-01 validation of shop.test failed");
        server.events().flush();
        assertThat(api.get(services.replace("/services", "/events")).json()).anySatisfy(event -> assertThat(
                event.get("message").asText()).startsWith("Certificate request for shop.test failed: ")
                .endsWith(" (next try in 5 min)"));
        api.close();
        server.stop();

        startServer(0, 0);

        JsonNode afterRestart = api.get(services).json().get(0);
        assertThat(afterRestart.get("cert_status").asText()).isEqualTo("error");
        assertThat(afterRestart.get("cert_error").asText()).contains("http-01 validation of shop.test failed");
        await().during(Duration.ofSeconds(10)).atMost(Duration.ofSeconds(15))
                .until(() -> pebble.ordersCreated() == 1);

        // the operator mended DNS and updates the service
        assertThat(api.patch("/api/services/" + id, "{\"enabled\":true}").status()).isEqualTo(200);

        await().atMost(Duration.ofSeconds(30)).until(() -> pebble.ordersCreated() == 2);
    }

    @Test
    void orderUnderWayWhenAGracefulStopBeginsLeavesNoRetryDelayAndTheNextStartOrdersAtOnce() throws Exception {
        // pebble's HTTP-01 validation reaches the server's HTTP listener through a gate the test holds
        Set<Thread> earlierAcmeThreads = acmeThreads();
        try (ValidationGate gate = new ValidationGate();
             ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            pebble = Pebble.started(data.resolve("pebble"), gate.port(), Ports.freePort());
            startServer(0, 0);
            gate.forwardTo(server.httpPort());
            // a tcp visitor whose stream stays open keeps the drain going for its grace period
            JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"held\"}").json();
            int visitorPort = TcpServicePorts.create(api, tunnel.get("id").asText(), port -> "{\"type\":\"tcp\","
                    + "\"listen_addr\":\"127.0.0.1:" + port + "\",\"target_addr\":\"127.0.0.1:" + target.getLocalPort()
                    + "\",\"enabled\":true}").port();
            try (TunnelClient client = new TunnelClient(ClientConfig.of(
                    ServerAddress.parse("ws://127.0.0.1:" + server.tunnelPort()), tunnel.get("token").asText())
                    .withShutdownGrace(Duration.ZERO))) {
                client.start();
                await("the client is connected").atMost(Duration.ofSeconds(20))
                        .until(() -> server.registry().connectedCount() == 1);
                Socket visitor = new Socket(InetAddress.getLoopbackAddress(), visitorPort);
                target.setSoTimeout(20_000);
                Socket held = target.accept();
                try (visitor; held) {
                    tunnelWithHttpService("shop.test");
                    await("pebble validates").atMost(Duration.ofSeconds(30)).until(gate::holding);

                    Thread stopping = Thread.ofPlatform().name("graceful-stop")
                            .start(() -> server.stop(Duration.ofSeconds(60)));
                    await("the HTTP listener closes").atMost(Duration.ofSeconds(10))
                            .until(() -> Ports.refuses(server.httpPort()));
                    gate.release();
                    Path failure = data.resolve("server/certs/acme/shop.test.failure");
                    // while the drain goes on: the order fails at the CA, or ACME has stopped ordering
                    await().atMost(Duration.ofSeconds(30))
                            .until(() -> Files.exists(failure) || earlierAcmeThreads.containsAll(acmeThreads()));
                    visitor.close();
                    held.close();
                    stopping.join(Duration.ofSeconds(30));
                    assertThat(stopping.isAlive()).as("the graceful stop ends").isFalse();
                    assertThat(failure).as("no retry delay for an order the shutdown cut short").doesNotExist();
                    api.close();
                }
            }
        }
        int orders = pebble.ordersCreated();

        startServer(0, 0);

        await("the next start orders at once").atMost(Duration.ofSeconds(30))
                .until(() -> pebble.ordersCreated() > orders);
    }

    @Test
    void certificateFromAnotherAcmeDirectoryIsReplacedWhenTheServerStartsWithANewDirectory() throws Exception {
        // As an operator who tried Let's Encrypt staging first, then switched PICOTUNNEL_ACME_DIRECTORY to production
        startServerWithAcme("pebble-staging");
        int httpPort = server.httpPort();
        int httpsPort = server.httpsPort();
        String services = tunnelWithHttpService("shop.test");
        awaitCertStatus(services, "valid");
        BigInteger fromStaging = servedSerial("shop.test");
        api.close();
        server.stop();
        pebble.close();

        // The server orders at once on its start, so the new pebble must be up by then, validating on its ports.
        pebble = Pebble.started(data.resolve("pebble-production"), httpPort, httpsPort);
        startServer(httpPort, httpsPort);

        await().atMost(Duration.ofSeconds(90)).ignoreExceptions()
                .until(() -> !servedSerial("shop.test").equals(fromStaging));
        assertThat(statusTrustingPebbleRoot("shop.test")).as("the new directory's certificate validates")
                .isEqualTo(502);
        assertThat(api.get(services).json().get(0).get("cert_status").asText()).isEqualTo("valid");
    }

    @Test
    void acmeAccountKeyAndCertificatesAreReusedAfterARestart() throws Exception {
        // An account key as earlier versions wrote it: acme4j's writer on a JDK key leaves out the curve and public key
        StringWriter legacy = new StringWriter();
        KeyPairUtils.writeKeyPair(EcKeys.newKeyPair(), legacy);
        Path accountKey = data.resolve("server/certs/acme/account.key");
        Files.createDirectories(accountKey.getParent());
        Files.writeString(accountKey, legacy.toString());
        startServerWithAcme("pebble");
        int httpPort = server.httpPort();
        int httpsPort = server.httpsPort();
        String services = tunnelWithHttpService("shop.test");
        awaitCertStatus(services, "valid");
        BigInteger issued = servedSerial("shop.test");
        Path domainKey = data.resolve("server/certs/acme/shop.test.key");
        assertThat(PemFiles.keyMatches(PemFiles.readPrivateKey(domainKey),
                PemFiles.readChain(data.resolve("server/certs/acme/shop.test.crt")).getFirst()))
                .as("the key file reads back with any PEM reader").isTrue();
        api.close();
        server.stop();

        startServer(httpPort, httpsPort);

        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> servedSerial("shop.test").equals(issued));
        assertThat(api.get(services).json().get(0).get("cert_status").asText()).isEqualTo("valid");
        assertThat(Files.readString(accountKey)).as("the same account").isEqualTo(legacy.toString());
    }

    @Test
    void storedCertificateIsServedAtOnceWhileTheAcmeCaDoesNotAnswer() throws Exception {
        // A certificate ACME stored in an earlier run, and a CA that accepts connections but never answers (an outage)
        TestCertificates.Issued stored = new TestCertificates().issue("b.test");
        TestCertificates.write(stored, data.resolve("server/certs/acme"), "b.test");
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            Map<Setting, String> settings = new EnumMap<>(Setting.class);
            settings.put(Setting.ACME_ENABLED, "true");
            settings.put(Setting.ACME_DIRECTORY, "http://127.0.0.1:" + silentCa.port() + "/dir");
            startServer(settings);
            JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
            String services = "/api/tunnels/" + tunnel.get("id").asText() + "/services";
            // a.test needs an order, which waits on the silent CA for its network timeout (30 s)
            api.post(services, "{\"type\":\"http\",\"domain\":\"a.test\",\"target_addr\":\"127.0.0.1:9\","
                    + "\"enabled\":true}");
            api.post(services, "{\"type\":\"http\",\"domain\":\"b.test\",\"target_addr\":\"127.0.0.1:9\","
                    + "\"enabled\":true}");

            await().atMost(Duration.ofSeconds(5)).ignoreExceptions()
                    .until(() -> servedSerial("b.test").equals(stored.serial()));
            JsonNode b = api.get(services).json().get(1);
            assertThat(b.get("domain").asText()).isEqualTo("b.test");
            assertThat(b.get("cert_status").asText()).isEqualTo("valid");
        }
    }

    @Test
    void retryDelayOfADomainNoServiceWantsAnyMoreIsDeletedAtStart() throws Exception {
        // gone.test's service was deleted while the server was down; tunnel.test is the server's own domain
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            String directory = "http://127.0.0.1:" + silentCa.port() + "/dir";
            AcmeFiles files = new AcmeFiles(data.resolve("server/certs/acme"), directory);
            Instant later = Instant.now().plus(Duration.ofHours(1));
            files.storeFailure("gone.test", new OrderFailure(1, later, "validation failed"));
            files.storeFailure("tunnel.test", new OrderFailure(1, later, "validation failed"));
            Map<Setting, String> settings = new EnumMap<>(Setting.class);
            settings.put(Setting.DOMAIN, "tunnel.test");
            settings.put(Setting.ACME_ENABLED, "true");
            settings.put(Setting.ACME_DIRECTORY, directory);
            startServer(settings);

            await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(files.failureFile("gone.test")));
            assertThat(files.failureFile("tunnel.test")).as("the server's domain still needs a certificate").exists();
        }
    }

    /** The live threads of AcmeManagers (their checks and orders) in this JVM, earlier tests' included. */
    private static Set<Thread> acmeThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.isAlive() && thread.getName().startsWith("picotunnel-acme"))
                .collect(Collectors.toSet());
    }

    /** Creates a tunnel with an enabled http service for {@code domain}; answers the path of the tunnel's services. */
    private String tunnelWithHttpService(String domain) throws Exception {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        String services = "/api/tunnels/" + tunnel.get("id").asText() + "/services";
        api.post(services, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\"127.0.0.1:9\","
                + "\"enabled\":true}");
        return services;
    }

    /** Waits (up to an ACME order's time) until the first service of {@code services} has that cert_status. */
    private void awaitCertStatus(String services, String status) {
        await().atMost(Duration.ofSeconds(90)).until(() ->
                api.get(services).json().get(0).get("cert_status").asText().equals(status));
    }

    /** The status of GET https://{@code domain}/ on the HTTPS listener, its certificate checked by pebble's root. */
    private int statusTrustingPebbleRoot(String domain) throws Exception {
        http = HttpClient.newBuilder().sslContext(pebble.trustingRoot()).build();
        URI uri = URI.create("https://" + domain + ":" + server.httpsPort() + "/");
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode();
    }

    /** The serial number of the certificate the HTTPS listener presents for {@code name}, whoever issued it. */
    private BigInteger servedSerial(String name) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new AcceptAnyServer()}, null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), server.httpsPort())) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(name)));
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    /**
     * A port for pebble's HTTP-01 validation that holds each connection until {@link #release}, then relays it to the
     * server's HTTP listener (closing it at once when the listener is gone).
     */
    private static final class ValidationGate implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final CountDownLatch released = new CountDownLatch(1);
        private final AtomicInteger held = new AtomicInteger();
        private final List<Socket> open = new CopyOnWriteArrayList<>();
        private volatile int httpPort;
        private final Thread acceptor;

        ValidationGate() throws IOException {
            acceptor = Thread.ofPlatform().daemon().name("validation-gate").start(this::accept);
        }

        int port() {
            return socket.getLocalPort();
        }

        void forwardTo(int port) {
            httpPort = port;
        }

        boolean holding() {
            return held.get() > 0;
        }

        void release() {
            released.countDown();
        }

        private void accept() {
            try {
                while (!socket.isClosed()) {
                    Socket validation = socket.accept();
                    open.add(validation);
                    held.incrementAndGet();
                    Thread.ofVirtual().start(() -> relay(validation));
                }
            } catch (IOException e) {
                // closed
            }
        }

        private void relay(Socket validation) {
            try (validation) {
                if (!released.await(60, TimeUnit.SECONDS)) {
                    return;
                }
                try (Socket listener = new Socket(InetAddress.getLoopbackAddress(), httpPort)) {
                    listener.setSoTimeout(20_000);
                    validation.setSoTimeout(20_000);
                    Thread request = Thread.ofVirtual().start(() -> {
                        try {
                            validation.getInputStream().transferTo(listener.getOutputStream());
                        } catch (IOException e) {
                            // either side closed
                        }
                    });
                    listener.getInputStream().transferTo(validation.getOutputStream());
                    request.join(Duration.ofSeconds(20));
                }
            } catch (IOException e) {
                // the listener is gone: pebble sees its connection closed, as when nothing answers the challenge
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws IOException {
            release();
            socket.close();
            for (Socket validation : open) {
                validation.close();
            }
            try {
                acceptor.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Trusts any server: only for reading which certificate is presented. */
    private static final class AcceptAnyServer implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client certificates are not used here");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // any certificate: the test compares serial numbers
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
