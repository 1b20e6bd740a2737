package io.picotunnel.server.acme;

import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import ch.qos.logback.classic.Level;
import io.picotunnel.server.files.Fifo;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener.Staged;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.StoreException;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.CertificateStatus;
import io.picotunnel.server.tls.CertificateStatuses;
import io.picotunnel.server.tls.CertificateStore;
import io.picotunnel.server.tls.HttpsListener;
import io.picotunnel.server.tls.HttpsRouter;
import io.picotunnel.server.tls.PassthroughRoutes;
import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.SniSockets;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.server.tls.TestHttpBackend;
import io.picotunnel.server.tls.TlsAlpnChallenges;
import io.netty.handler.ssl.SslContext;
import io.picotunnel.testkit.DirectoryNames;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.ImmutableFile;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentPeer;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.Session;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import java.math.BigInteger;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

/** ACME against Debian's pebble, started by each test, validating through our real listeners. */
class AcmeManagerTest {

    private static final Duration ISSUANCE = Duration.ofSeconds(90);

    @TempDir
    Path data;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final AtomicReference<Duration> clockOffset = new AtomicReference<>(Duration.ZERO);
    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(clockOffset.get());
        }
    };
    private final CertificateStore store = new CertificateStore();
    private final PassthroughRoutes passthrough = new PassthroughRoutes();
    private EventLoopGroup group;
    private HttpsListener https;
    private HttpServer http;
    private Pebble pebble;
    private AcmeManager acme;
    private AcmeSettings settings;
    private String serverDomain;
    private final AtomicReference<AcmeManager> manager = new AtomicReference<>();

    /** Starts the HTTP-01 responder, the HTTPS listener, pebble and the ACME manager for {@code serverDomain}. */
    private void start(String serverDomain, List<String> challengeTypes, boolean answerHttp01) throws Exception {
        this.serverDomain = serverDomain;
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        http.createContext("/.well-known/acme-challenge/", exchange -> {
            String token = exchange.getRequestURI().getPath().substring("/.well-known/acme-challenge/".length());
            byte[] body = manager.get().challenges().http01(token).orElse("").getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        cleanup.add(() -> http.stop(0));
        group = Transport.newEventLoopGroup(1, "acme-test");
        cleanup.add(() -> group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync());
        ChallengeResponsesHolder challenges = new ChallengeResponsesHolder(manager);
        https = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group,
                new HttpsRouter(store, passthrough, challenges, serverDomain), new TestHttpBackend(),
                (ctx, route) -> ctx.close());
        https.start();
        cleanup.add(https);
        int httpPort = answerHttp01 ? http.getAddress().getPort() : Ports.freePort();
        pebble = Pebble.started(data.resolve("pebble"), httpPort, https.port());
        cleanup.add(pebble);
        settings = new AcmeSettings("admin@example.test", pebble.directory(), pebble.listenerTrust(),
                challengeTypes, Duration.ofMillis(200), Duration.ofHours(1), Duration.ofHours(12), Duration.ofSeconds(60));
        startManager();
    }

    /** A new manager on the same files, as after a restart of the server. */
    private void startManager() {
        acme = new AcmeManager(settings, data.resolve("certs"), store, serverDomain, clock);
        manager.set(acme);
        cleanup.add(acme);
        acme.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void http01CertificatesForServerDomainAndTerminateServicesValidateAgainstPebbleRoot() throws Exception {
        start("tunnel.test", List.of(AcmeSettings.HTTP_01), true);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
        acme.onServiceChange(null, service("s2", "off.test", TlsMode.TERMINATE, false));
        passthrough.onServiceChange(null, service("s3", "pass.test", TlsMode.PASSTHROUGH, true));
        acme.onServiceChange(null, service("s3", "pass.test", TlsMode.PASSTHROUGH, true));
        CertificateStatuses statuses = new CertificateStatuses(store, acme, clock);

        await().atMost(ISSUANCE).until(() -> statusOf(statuses, "s1", "app.test").status().equals("valid")
                && acme.status("tunnel.test").map(CertificateStatus::status).orElse("").equals("valid"));

        HttpClient client = HttpClient.newBuilder().sslContext(pebble.trustingRoot()).build();
        cleanup.add(client);
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                URI.create("https://app.test:" + https.port() + "/")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(servedCertificate("tunnel.test").getSubjectX500Principal().getName())
                .isNotEmpty();
        CertificateStatus appStatus = statusOf(statuses, "s1", "app.test");
        assertThat(appStatus.expiresAt()).isAfter(Instant.now());
        assertThat(appStatus.error()).isNull();
        assertThat(statuses.of(service("s3", "pass.test", TlsMode.PASSTHROUGH, true)))
                .isEqualTo(CertificateStatus.NOT_APPLICABLE);
        assertThat(acme.status("off.test")).isEmpty();
        assertThat(store.select("off.test")).isEmpty();
        assertThat(store.select("pass.test")).isEmpty();
        assertThat(Files.getPosixFilePermissions(data.resolve("certs/acme/app.test.key")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(data.resolve("certs/acme/account.key")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void aCertificateThatCannotBeSavedIsServedNotOrderedAgainAndSavedOnceItCan() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        // stands in for a full disk: the certificate's file cannot be written where a directory is
        Path inTheWay = data.resolve("certs/acme/app.test.crt");
        Files.createDirectories(inTheWay.resolve("not-empty"));
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        await().atMost(ISSUANCE).until(() -> !acme.status("app.test").orElseThrow().status().equals("pending"));
        CertificateStatus unsaved = acme.status("app.test").orElseThrow();
        // it was thrown away as a failed order, and ordered again after each retry delay: a new certificate every time,
        // up to the CA's limit of duplicate certificates (Let's Encrypt: 5 a week), while none was served
        assertThat(unsaved.status()).isEqualTo("valid");
        assertThat(unsaved.error()).contains("could not be saved",
                "a restart before then downloads it again from its order at the CA");
        BigInteger served = servedCertificate("app.test").getSerialNumber();
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);
        assertThat(acme.attempts("app.test")).isEqualTo(1);

        Files.delete(inTheWay.resolve("not-empty"));
        Files.delete(inTheWay);

        // the file is in place a moment before the error is cleared
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.isRegularFile(inTheWay)
                && acme.status("app.test").orElseThrow().error() == null);
        assertThat(PemFiles.readChain(inTheWay).getFirst().getSerialNumber()).isEqualTo(served);
        acme.close();
        store.removeFromAcme("app.test");
        startManager();
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
        assertThat(servedCertificate("app.test").getSerialNumber()).as("served from disk after a restart")
                .isEqualTo(served);
        assertThat(acme.attempts("app.test")).isZero();
    }

    @Test
    void aDeleteOrDisableNotYetStoredOrUndoneKeepsTheCertificateServed() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        Service service = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, service);
        await().atMost(ISSUANCE).until(() -> store.fromAcme("app.test").isPresent());

        for (Service after : java.util.Arrays.asList(null, service("s1", "app.test", TlsMode.TERMINATE, false))) {
            Staged staged = acme.stage(service, after);
            long checksBefore = acme.checks();
            await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 2);
            assertThat(store.fromAcme("app.test")).as("staged, to %s", after).isPresent();
            staged.undo();
            assertThat(acme.status("app.test").orElseThrow().status()).as("undone, to %s", after).isEqualTo("valid");
        }
        Staged stored = acme.stage(service, null);
        stored.stored();
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 2);
        assertThat(store.fromAcme("app.test")).as("stored").isEmpty();
    }

    @Test
    void aCertificateThatCannotBeSavedIsWarnedOfOnceNotAtEveryCheck() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        // each check writes the key again through a temporary file of a random name, moved where a directory is
        Path inTheWay = data.resolve("certs/acme/app.test.key.next");
        Files.createDirectories(inTheWay.resolve("not-empty"));

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
            await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().error() != null);
            long checksBefore = acme.checks();
            await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);

            // its error named the temporary file, so it differed at every check and was logged at every check
            assertThat(log.messages(Level.WARN)).filteredOn(line -> line.contains("could not be saved"))
                    .singleElement().asString().contains("cannot write " + inTheWay + ": Is a directory");
        }
    }

    @Test
    void aChangedEmailIsSentToTheCaForTheExistingAccount() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        acme.onServiceChange(null, service("s1", "one.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("one.test").orElseThrow().status().equals("valid"));
        assertThat(accountContacts()).containsExactly(URI.create("mailto:admin@example.test"));

        // a restart with another address: the CA answers the new-account request with the account as it was
        acme.close();
        settings = new AcmeSettings("ops@example.test", settings.directory(), settings.trustedCa(),
                settings.challengeTypes(), settings.checkInterval(), settings.firstRetry(), settings.maxRetry(),
                settings.timeout());
        startManager();
        acme.onServiceChange(null, service("s2", "two.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("two.test").orElseThrow().status().equals("valid"));
        assertThat(accountContacts()).containsExactly(URI.create("mailto:ops@example.test"));

        // the same address again: nothing to change, and the orders go on
        acme.close();
        startManager();
        acme.onServiceChange(null, service("s3", "three.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("three.test").orElseThrow().status().equals("valid"));
        assertThat(accountContacts()).containsExactly(URI.create("mailto:ops@example.test"));
    }

    @Test
    void aCertificateIssuedButNotSavedBeforeAStopIsDownloadedAtTheNextStartWithoutANewOrder() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        // the save fails at its first file (which cannot be written where a directory is), as a kill -9 or a stop
        // between the download and the save would leave it: nothing of the certificate on disk
        Path crt = data.resolve("certs/acme/app.test.crt");
        Path inTheWay = data.resolve("certs/acme/app.test.key.next");
        Files.createDirectories(inTheWay.resolve("not-empty"));
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);
        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().error() != null);
        String unsaved = acme.status("app.test").orElseThrow().error();
        BigInteger issued = servedCertificate("app.test").getSerialNumber();
        acme.close();
        assertThat(pebble.ordersCreated()).isEqualTo(1);

        assertThat(crt).doesNotExist();
        Files.delete(inTheWay.resolve("not-empty"));
        Files.delete(inTheWay);
        store.removeFromAcme("app.test");
        startManager();
        acme.onServiceChange(null, app);

        await().atMost(ISSUANCE).until(() -> Files.isRegularFile(crt)
                && !Files.exists(data.resolve("certs/acme/app.test.order")));
        // a new order each time: a few restarts at the wrong moment used up Let's Encrypt's 5 certificates a week
        assertThat(pebble.ordersCreated()).as("orders placed with pebble").isEqualTo(1);
        assertThat(PemFiles.readChain(crt).getFirst().getSerialNumber()).isEqualTo(issued);
        assertThat(servedCertificate("app.test").getSerialNumber()).isEqualTo(issued);
        assertThat(unsaved).contains("a restart before then downloads it again from its order at the CA");
    }

    @Test
    void anOrderStoppedBeforeItsFinalizationIsFinalizedAtTheNextStartWithTheNotedKey() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        // what a kill -9 leaves after the order was noted and before the CA took its finalization: a ready order
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        Order order = readyOrder("app.test");
        java.security.KeyPair noted = EcKeys.newKeyPair();
        files.storeOrder("app.test", new PendingOrder(order.getLocation(), noted));
        assertThat(Files.getPosixFilePermissions(files.orderFile("app.test")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));

        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("valid"));
        assertThat(pebble.ordersCreated()).as("the test's order only").isEqualTo(1);
        assertThat(servedCertificate("app.test").getPublicKey()).isEqualTo(noted.getPublic());
        assertThat(files.orderFile("app.test")).as("deleted once the certificate is saved").doesNotExist();
        order.fetch();
        assertThat(order.getStatus()).isEqualTo(org.shredzone.acme4j.Status.VALID);
    }

    @Test
    void aNotedOrderStillPendingIsAuthorizedAsUsualAndFinalizedWithTheNotedKey() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        // an order not validated yet (this version notes orders once ready; a note may still name a pending one)
        Order order = testLogin().newOrder().domain("app.test").create();
        assertThat(order.getStatus()).isEqualTo(org.shredzone.acme4j.Status.PENDING);
        java.security.KeyPair noted = EcKeys.newKeyPair();
        files.storeOrder("app.test", new PendingOrder(order.getLocation(), noted));

        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("valid"));
        assertThat(pebble.ordersCreated()).as("the test's order only").isEqualTo(1);
        assertThat(servedCertificate("app.test").getPublicKey()).isEqualTo(noted.getPublic());
        assertThat(files.orderFile("app.test")).doesNotExist();
    }

    @Test
    void aStopWhileAnOrderPastValidationIsUnderWayWaitsForItsCertificateToBeSaved() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        // the manager's login to pebble is made by a first order, while pebble answers
        acme.onServiceChange(null, service("s0", "first.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("first.test").orElseThrow().status().equals("valid"));
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        Order order = readyOrder("app.test");
        files.storeOrder("app.test", new PendingOrder(order.getLocation(), EcKeys.newKeyPair()));
        // the order past validation then waits on the CA for as long as the test says
        pebble.freeze();

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
            await().atMost(Duration.ofSeconds(20)).until(acme::finishingAnOrder);
            java.util.concurrent.CompletableFuture<Void> closing =
                    java.util.concurrent.CompletableFuture.runAsync(acme::close);
            // the CA answers again once close() waits, or once it has returned (as it did at once: the order was
            // given up, its certificate left to the next start)
            await().atMost(Duration.ofSeconds(10)).until(() -> closing.isDone() || log.messages(Level.INFO).stream()
                    .anyMatch(line -> line.startsWith("ACME: waiting up to 5 s for the order under way")));
            pebble.thaw();
            closing.get(30, TimeUnit.SECONDS);
        }

        assertThat(data.resolve("certs/acme/app.test.crt")).as("saved before close() returned").isRegularFile();
        assertThat(files.orderFile("app.test")).doesNotExist();
    }

    @Test
    void notedOrdersTheCaCannotCompleteAreDiscardedSayingWhyAndNewOnesOrdered() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        // invalid: its validation failed (nobody answered the challenge)
        Order invalid = testLogin().newOrder().domain("a.test").create();
        Http01Challenge unanswered = invalid.getAuthorizations().getFirst().findChallenge(Http01Challenge.class)
                .orElseThrow();
        unanswered.trigger();
        assertThat(unanswered.waitForCompletion(Duration.ofSeconds(30))).isEqualTo(org.shredzone.acme4j.Status.INVALID);
        files.storeOrder("a.test", new PendingOrder(invalid.getLocation(), EcKeys.newKeyPair()));
        // unknown to the CA (a CA that forgot it, or an order of another account)
        files.storeOrder("b.test", new PendingOrder(URI.create(pebble.directory()).resolve("/my-order/gone").toURL(),
                EcKeys.newKeyPair()));
        int ordersBefore = pebble.ordersCreated();

        try (LogCapture log = new LogCapture(CertificateIssuer.class, Level.INFO)) {
            acme.onServiceChange(null, service("s1", "a.test", TlsMode.TERMINATE, true));
            acme.onServiceChange(null, service("s2", "b.test", TlsMode.TERMINATE, true));

            await().atMost(ISSUANCE).until(() -> acme.status("a.test").orElseThrow().status().equals("valid")
                    && acme.status("b.test").orElseThrow().status().equals("valid"));
            assertThat(log.messages(Level.INFO)).anySatisfy(line -> assertThat(line)
                    .startsWith("ACME: the order noted for a.test (" + invalid.getLocation() + ") cannot be completed,"
                            + " so a new one is placed: it is invalid"));
            assertThat(log.messages(Level.INFO)).anySatisfy(line -> assertThat(line)
                    .startsWith("ACME: the order noted for b.test (").contains("/my-order/gone) cannot be completed,"
                            + " so a new one is placed: the CA answered "));
        }
        assertThat(pebble.ordersCreated() - ordersBefore).isEqualTo(2);
        assertThat(files.orderFile("a.test")).doesNotExist();
        assertThat(files.orderFile("b.test")).doesNotExist();
    }

    @Test
    void anUnreadableOrderNoteIsLoggedAndReplacedByANewOrder() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        Files.createDirectories(files.directory());
        // cut short by a power cut on a file system that does not keep the order of writes, say
        Files.writeString(files.orderFile("app.test"), "directory=" + settings.directoryUri() + "\nlocation=https://lo");

        try (LogCapture log = new LogCapture(CertificateIssuer.class, Level.WARN)) {
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

            await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("valid"));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("ACME: cannot take up the order noted for app.test, so a new one is placed: "
                            + files.orderFile("app.test") + ": ");
        }
        assertThat(pebble.ordersCreated()).isEqualTo(1);
        assertThat(files.orderFile("app.test")).doesNotExist();
        assertThat(data.resolve("certs/acme/app.test.crt")).isRegularFile();
    }

    /** A session with pebble that trusts its listener's certificate, as the manager's does. */
    private Session pebbleSession() throws Exception {
        KeyStore pebbleCa = KeyStore.getInstance("PKCS12");
        pebbleCa.load(null, null);
        pebbleCa.setCertificateEntry("pebble", PemFiles.readChain(pebble.listenerTrust()).getFirst());
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(pebbleCa);
        SSLContext trust = SSLContext.getInstance("TLS");
        trust.init(null, factory.getTrustManagers(), null);
        return new Session(URI.create(pebble.directory()), new TrustingAcmeProvider(trust));
    }

    /** A login to pebble for the account of {@code certs/acme/account.key}, as the manager's (made if missing). */
    private Login testLogin() throws Exception {
        Session session = pebbleSession();
        java.security.KeyPair accountKey = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString())
                .accountKey();
        return new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey).createLogin(session);
    }

    /** An order for {@code domain} placed and validated by the test (through the manager's HTTP-01 answers): ready. */
    private Order readyOrder(String domain) throws Exception {
        Order order = testLogin().newOrder().domain(domain).create();
        Http01Challenge challenge = order.getAuthorizations().getFirst().findChallenge(Http01Challenge.class)
                .orElseThrow();
        acme.challenges().putHttp01(challenge.getToken(), challenge.getAuthorization());
        challenge.trigger();
        assertThat(challenge.waitForCompletion(Duration.ofSeconds(30))).isEqualTo(org.shredzone.acme4j.Status.VALID);
        acme.challenges().removeHttp01(challenge.getToken());
        assertThat(order.waitUntilReady(Duration.ofSeconds(30))).isEqualTo(org.shredzone.acme4j.Status.READY);
        return order;
    }

    /** The contacts pebble holds for the account of {@code certs/acme/account.key}, as the CA answers for it. */
    private List<URI> accountContacts() throws Exception {
        Session session = pebbleSession();
        Account account = new AccountBuilder().onlyExisting()
                .useKeyPair(AcmeFiles.readKeyPair(data.resolve("certs/acme/account.key"))).createLogin(session)
                .getAccount();
        account.fetch();
        return account.getContacts();
    }

    @Test
    void aRenewalWhoseSaveIsCutShortLosesNoCertificateAfterARestart() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);
        Path crt = data.resolve("certs/acme/app.test.crt");
        Path key = data.resolve("certs/acme/app.test.key");
        await().atMost(ISSUANCE).until(() -> store.fromAcme("app.test").isPresent());
        String firstChain = Files.readString(crt);
        String firstKey = Files.readString(key);
        BigInteger first = servedCertificate("app.test").getSerialNumber();
        clockOffset.set(Duration.between(Instant.now(), store.fromAcme("app.test").orElseThrow().renewalDue())
                .plusMinutes(1));
        await().atMost(ISSUANCE).ignoreExceptions().until(() ->
                !servedCertificate("app.test").getSerialNumber().equals(first));
        BigInteger renewed = servedCertificate("app.test").getSerialNumber();
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() ->
                PemFiles.readChain(crt).getFirst().getSerialNumber().equals(renewed));
        String renewedChain = Files.readString(crt);
        String renewedKey = Files.readString(key);
        clockOffset.set(Duration.ZERO);

        // cut short after the new key was moved into place, before the new chain: the key did not belong to the
        // stored chain, which was refused, and a new certificate ordered
        acme.close();
        Files.writeString(key, renewedKey);
        Files.writeString(data.resolve("certs/acme/app.test.crt.next"), renewedChain);
        Files.writeString(crt, firstChain);
        assertThat(servedAfterARestart(app)).as("the renewed certificate, moved into place").isEqualTo(renewed);
        assertThat(Files.readString(crt)).isEqualTo(renewedChain);
        assertThat(data.resolve("certs/acme/app.test.crt.next")).doesNotExist();

        // cut short after the new key was written beside the stored files, before the new chain
        acme.close();
        Files.writeString(crt, firstChain);
        Files.writeString(key, firstKey);
        Files.writeString(data.resolve("certs/acme/app.test.key.next"), renewedKey);
        assertThat(servedAfterARestart(app)).as("the stored certificate, as it was").isEqualTo(first);
        assertThat(data.resolve("certs/acme/app.test.key.next")).doesNotExist();
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 3);
        assertThat(acme.attempts("app.test")).isZero();
        assertThat(acme.status("app.test").orElseThrow().status()).isEqualTo("valid");
    }

    /** The serial number served for {@code service}'s domain by a new manager on the same files, before any order. */
    private BigInteger servedAfterARestart(Service service) throws Exception {
        store.removeFromAcme(service.domain());
        startManager();
        acme.onServiceChange(null, service);
        assertThat(store.fromAcme(service.domain())).as("loaded from disk").isPresent();
        return servedCertificate(service.domain()).getSerialNumber();
    }

    @Test
    void anOperatorsCertificateFileNearItsEndIsTakenOverByAcmeBeforeItExpires() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        Instant now = Instant.now();
        // 70 of its 90 days gone: past two thirds of its lifetime, when ACME renews its own, but valid for 20 days more
        TestCertificates.Issued expiring = new TestCertificates().issueValid(now.minus(Duration.ofDays(70)),
                now.plus(Duration.ofDays(20)), "app.test");
        TestCertificates.write(expiring, data.resolve("certs"), "app.test");
        store.putFromFile("app.test", CertificateLoader.load(data.resolve("certs/app.test.crt"),
                data.resolve("certs/app.test.key")));
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        await().atMost(ISSUANCE).until(() ->
                acme.status("app.test").map(CertificateStatus::status).orElse("").equals("valid"));
        // verified against pebble's root: ACME's, not the file's
        X509Certificate served = servedCertificate("app.test");
        assertThat(served.getNotAfter()).isAfter(expiring.chain().getFirst().getNotAfter());
        assertThat(acme.attempts("app.test")).isEqualTo(1);
    }

    @Test
    void strangerServerNamesNeverTriggerIssuance() throws Exception {
        start("tunnel.test", List.of(AcmeSettings.HTTP_01), true);
        await().atMost(ISSUANCE).until(() ->
                acme.status("tunnel.test").map(CertificateStatus::status).orElse("").equals("valid"));

        assertThatThrownBy(() -> servedCertificate("stranger.test"))
                .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("unrecognized_name");
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 3);

        assertThat(acme.attempts("stranger.test")).isZero();
        assertThat(Files.exists(data.resolve("certs/acme/stranger.test.crt"))).isFalse();
    }

    @Test
    void tlsAlpn01CertificateIsRenewedAtTwoThirdsOfItsLifetimeWithoutRestart() throws Exception {
        start(null, List.of(AcmeSettings.TLS_ALPN_01), false);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> store.fromAcme("app.test").isPresent());
        X509Certificate first = servedCertificate("app.test");
        Instant renewalDue = store.fromAcme("app.test").orElseThrow().renewalDue();

        clockOffset.set(Duration.between(Instant.now(), renewalDue).plusMinutes(1));

        await().atMost(ISSUANCE).ignoreExceptions().until(() ->
                !servedCertificate("app.test").getSerialNumber().equals(first.getSerialNumber()));
        clockOffset.set(Duration.ZERO);
        BigInteger renewedOnDisk = PemFiles.readChain(data.resolve("certs/acme/app.test.crt")).getFirst()
                .getSerialNumber();
        assertThat(renewedOnDisk).isNotEqualTo(first.getSerialNumber());
        assertThat(acme.status("app.test").orElseThrow().status()).isEqualTo("valid");
    }

    @Test
    void failedValidationIsVisibleAndRetriedOnlyAfterTheRetryDelay() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), false);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("error"));
        CertificateStatus failed = acme.status("app.test").orElseThrow();
        assertThat(failed.error()).contains("http-01");
        assertThat(failed.expiresAt()).isNull();
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);

        assertThat(acme.attempts("app.test")).isEqualTo(1);
        assertThat(store.select("app.test")).isEmpty();
    }

    @Test
    void retryDelayOutlastsARestartAndOrdersResumeWhenItIsOver() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), false);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);
        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("error"));
        acme.close();

        startManager();
        acme.onServiceChange(null, app);

        CertificateStatus restored = acme.status("app.test").orElseThrow();
        assertThat(restored.status()).isEqualTo("error");
        assertThat(restored.error()).contains("http-01");
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);
        assertThat(acme.attempts("app.test")).as("no order before the retry delay is over").isZero();

        clockOffset.set(Duration.ofHours(1).plusMinutes(1));

        await().atMost(Duration.ofSeconds(20)).until(() -> acme.attempts("app.test") == 1);
    }

    @Test
    void restoredNextAttemptIsNeverLaterThanTheLongestRetryDelayFromNow() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), false);
        // a file edited by hand, or written before the clock was set back by a month
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), settings.directoryUri().toString());
        files.storeFailure("app.test", new OrderFailure(3, clock.instant().plus(Duration.ofDays(30)), "earlier error"));

        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        assertThat(acme.status("app.test").orElseThrow().error()).isEqualTo("earlier error");
        assertThat(files.loadFailure("app.test").orElseThrow().nextAttempt())
                .as("the capped time is kept, so that restarts do not put it off again")
                .isBefore(clock.instant().plus(Duration.ofHours(12)).plusSeconds(1));
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);
        assertThat(acme.attempts("app.test")).as("the delay holds up to its cap").isZero();

        clockOffset.set(Duration.ofHours(12).plusMinutes(1));

        await().atMost(Duration.ofSeconds(20)).until(() -> acme.attempts("app.test") == 1);
    }

    @Test
    void serviceUpdateEndsTheRetryDelayAtOnce() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), false);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);
        await().atMost(ISSUANCE).until(() -> acme.status("app.test").orElseThrow().status().equals("error"));
        assertThat(acme.attempts("app.test")).isEqualTo(1);

        acme.onServiceChange(app, app);

        await().atMost(Duration.ofSeconds(20)).until(() -> acme.attempts("app.test") == 2);
    }

    @Test
    void orderFailingAfterAServiceUpdateDuringItIsRetriedAtOnceWithNoDelayOnDisk() throws Exception {
        try (ServerSocket ca = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AcmeSettings failing = settingsFor(directoryOf(ca), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            startManagerWithoutServerDomain(failing);
            Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
            acme.onServiceChange(null, app);
            ca.setSoTimeout(20_000);
            Socket order = ca.accept();
            assertThat(acme.attempts("app.test")).as("the order waits for the CA").isEqualTo(1);

            // the operator mends DNS and updates the service while the order is on its way; then the order fails
            acme.onServiceChange(app, app);
            order.close();

            ca.setSoTimeout(1_000);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (acme.attempts("app.test") < 2 && System.nanoTime() < deadline) {
                try (Socket next = ca.accept()) {
                    assertThat(next.isConnected()).isTrue();
                } catch (java.net.SocketTimeoutException e) {
                    // none yet
                }
            }
            assertThat(acme.attempts("app.test")).as("ordered again at once").isGreaterThanOrEqualTo(2);
            assertThat(Files.exists(data.resolve("certs/acme/app.test.failure")))
                    .as("no delay for a restart to take up").isFalse();
        }
    }

    @Test
    void serviceUpdatesWhileChecksRunNeverDropTheDomainsCertificate() throws Exception {
        TestCertificates.write(new TestCertificates().issue("app.test"), data.resolve("certs/acme"), "app.test");
        // checks as often as they can run; the CA is never asked, the stored certificate being fresh
        AcmeSettings busy = settingsFor("http://127.0.0.1:9/dir", Duration.ofMillis(1), AcmeSettings.HTTP_01);
        startManagerWithoutServerDomain(busy);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.onServiceChange(null, app);

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            for (int i = 0; i < 20_000 && System.nanoTime() < deadline; i++) {
                acme.onServiceChange(app, app);
            }
            acme.close();

            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("loaded from disk"))
                    .as("the domain's state and certificate were never dropped, so never loaded again").hasSize(1);
            assertThat(store.fromAcme("app.test")).isPresent();
        }
    }

    /**
     * The store takes a listener's exception for a refusal: a service change that met close() on its way to the ACME
     * thread was rolled back and its API request failed. close() lands between the manager's own check of it and the
     * queueing of the check in a narrow window, so many managers are closed while a thread changes services.
     */
    @Test
    void aServiceChangeRacingCloseNeverThrowsIntoTheThreadThatMadeIt() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        // wants no certificate: each change only queues a check, so the thread changes as fast as it can
        Service off = service("s1", "off.test", TlsMode.TERMINATE, false);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int i = 0; i < 500 && thrown.get() == null && System.nanoTime() < deadline; i++) {
            AcmeManager racing = new AcmeManager(unused, data.resolve("certs"), store, null, clock);
            CountDownLatch changing = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
            Thread api = Thread.ofPlatform().name("api-" + i).start(() -> {
                try {
                    for (int n = 0; n < 1_000_000 && !closed.get(); n++) {
                        racing.onServiceChange(null, off);
                        changing.countDown();
                    }
                    racing.onServiceChange(null, off);
                    racing.servicesLoaded();
                } catch (Throwable t) {
                    thrown.set(t);
                    changing.countDown();
                }
            });
            assertThat(changing.await(10, TimeUnit.SECONDS)).isTrue();
            racing.close();
            closed.set(true);
            assertThat(api.join(Duration.ofSeconds(10))).isTrue();
        }

        assertThat(thrown.get()).as("thrown into the thread that changed the service").isNull();
    }

    @Test
    void retryDelayOnDiskIsDeletedWhileAnOperatorsCertificateFileCoversTheDomain() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofMillis(200), AcmeSettings.HTTP_01);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), unused.directoryUri().toString());
        files.storeFailure("app.test", new OrderFailure(2, clock.instant().plus(Duration.ofHours(1)), "earlier error"));
        TestCertificates.write(new TestCertificates().issue("app.test"), data.resolve("certs"), "app.test");
        store.putFromFile("app.test", CertificateLoader.load(data.resolve("certs/app.test.crt"),
                data.resolve("certs/app.test.key")));
        startManagerWithoutServerDomain(unused);

        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        // else deleting the service later, while the file still covers it, would leave the .failure file for good
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(files.failureFile("app.test")));
        assertThat(acme.attempts("app.test")).isZero();
    }

    /**
     * A stop must not wait for the CA: close() interrupts the order, and the JDK's HTTP client under acme4j gives up
     * the request it waits on. Were either lost, a server stopping during an order would wait in close() up to 10 s
     * for the ACME thread and 5 s more for the order's, and the order would go on after close().
     */
    @Test
    void closeWhileAnOrderWaitsOnACaThatNeverAnswersReturnsWithinSecondsWithTheOrdersThreadEnded() throws Exception {
        try (LoopbackCa silentCa = new LoopbackCa(16, LoopbackCa.NEVER)) {
            Set<Thread> before = orderThreads();
            // requests may wait 30 s for the CA: far longer than close() may take
            startManagerWithoutServerDomain(settingsFor(silentCa.directory(), Duration.ofHours(1),
                    AcmeSettings.HTTP_01));
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
            await().atMost(Duration.ofSeconds(30)).until(silentCa::connected);
            Set<Thread> ours = orderThreads();
            ours.removeAll(before);
            assertThat(ours).as("the order's thread, waiting for the CA's directory").isNotEmpty();

            long begin = System.nanoTime();
            acme.close();
            Duration took = Duration.ofNanos(System.nanoTime() - begin);

            assertThat(took).as("close() with an order waiting on the CA").isLessThan(Duration.ofSeconds(3));
            // else it went on after close(), writing in a data directory another server may have started on
            assertThat(ours).noneMatch(Thread::isAlive);
        }
    }

    /**
     * acme4j turns an interrupt into an exception and clears it; the update of the account's contact, which lets a
     * failure pass, let this one pass too: the order given up went on and placed an order at the CA, after close()
     * here, alongside the next attempt for the same domain after the order's deadline.
     */
    @Test
    void closeWhileTheAccountsContactIsUpdatedEndsTheOrderInsteadOfPlacingOneAfterClose() throws Exception {
        java.util.concurrent.atomic.AtomicInteger orders = new java.util.concurrent.atomic.AtomicInteger();
        CountDownLatch contactAsked = new CountDownLatch(1);
        String directory = contactHoldingCa(orders, contactAsked);
        // an address other than the account's: the contact is updated at the order's login
        startManagerWithoutServerDomain(new AcmeSettings("ops@example.test", directory, null,
                List.of(AcmeSettings.HTTP_01), Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(12),
                Duration.ofSeconds(60)));
        Set<Thread> before = orderThreads();
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
        assertThat(contactAsked.await(30, TimeUnit.SECONDS)).as("the contact update waits on the CA").isTrue();
        Set<Thread> ours = orderThreads();
        ours.removeAll(before);

        acme.close();

        assertThat(orders.get()).as("orders placed at the CA").isZero();
        assertThat(ours).noneMatch(Thread::isAlive);
        assertThat(Files.exists(data.resolve("certs/acme/app.test.failure"))).as("cut short by the stop").isFalse();
    }

    /**
     * A CA on loopback whose account has the contact old@example.test and which holds the request that updates it
     * until the test ends; counts the new orders. Its directory URL.
     */
    private String contactHoldingCa(java.util.concurrent.atomic.AtomicInteger orders, CountDownLatch contactAsked)
            throws IOException {
        HttpServer ca = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        String base = "http://127.0.0.1:" + ca.getAddress().getPort();
        CountDownLatch released = new CountDownLatch(1);
        java.util.concurrent.ExecutorService handlers = java.util.concurrent.Executors.newCachedThreadPool();
        java.util.concurrent.atomic.AtomicInteger nonces = new java.util.concurrent.atomic.AtomicInteger();
        ca.setExecutor(handlers);
        ca.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().set("Replay-Nonce", "nonce" + nonces.incrementAndGet());
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            int status = 200;
            String body = null;
            switch (exchange.getRequestURI().getPath()) {
                case "/dir" -> body = "{\"newNonce\":\"" + base + "/nonce\",\"newAccount\":\"" + base
                        + "/account\",\"newOrder\":\"" + base + "/order\"}";
                case "/nonce" -> { }
                case "/account" -> {
                    status = 200;
                    exchange.getResponseHeaders().set("Location", base + "/account/1");
                    body = "{\"status\":\"valid\",\"contact\":[\"mailto:old@example.test\"]}";
                }
                case "/account/1" -> {
                    contactAsked.countDown();
                    try {
                        released.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    status = 500;
                }
                case "/order" -> {
                    orders.incrementAndGet();
                    status = 500;
                }
                default -> status = 404;
            }
            if (body == null) {
                exchange.sendResponseHeaders(status, -1);
            } else {
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(status, bytes.length);
                exchange.getResponseBody().write(bytes);
            }
            exchange.close();
        });
        ca.start();
        cleanup.add(() -> {
            released.countDown();
            ca.stop(0);
            handlers.shutdownNow();
        });
        return base + "/dir";
    }

    private static Set<Thread> orderThreads() {
        Set<Thread> threads = new HashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().equals("picotunnel-acme-order") && thread.isAlive()) {
                threads.add(thread);
            }
        }
        return threads;
    }

    @Test
    void failureFileWithACountNearTheIntLimitIsRefusedAndTheDomainOrderedAtOnce() throws Exception {
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = settingsFor(directoryOf(silentCa), Duration.ofMillis(200), AcmeSettings.HTTP_01,
                    AcmeSettings.TLS_ALPN_01);
            // a few more failures would overflow the count, and a negative one picked no challenge type: every check
            // then threw before reaching the domains after this one
            new AcmeFiles(data.resolve("certs/acme"), silent.directoryUri().toString()).storeFailure("app.test",
                    new OrderFailure(Integer.MAX_VALUE, clock.instant().plus(Duration.ofHours(1)), "edited by hand"));
            startManagerWithoutServerDomain(silent);
            try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
                acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .startsWith("cannot read the ACME retry delay of app.test, so it is ordered at once: ")
                        .endsWith("failures must be from 1 to 1000000");
            }
            assertThat(acme.status("app.test").orElseThrow().error()).isNull();
        }
    }

    @Test
    void expiredCertificatesOfDomainsNoLongerWantedAreDeletedAtStartAndValidOnesKept() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = data.resolve("certs/acme");
        TestCertificates ca = new TestCertificates();
        Instant now = clock.instant();
        writeAcmeCertificate(ca.issueValid(now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1)), "gone.test"),
                "gone.test");
        writeAcmeCertificate(ca.issueValid(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(60)), "back.test"),
                "back.test");
        writeAcmeCertificate(ca.issueValid(now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1)), "app.test"),
                "app.test");
        startManagerWithoutServerDomain(unused);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.servicesLoaded();

            // The three files go one after the other on the ACME thread: wait for all of them, not for the first.
            await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(acmeFiles.resolve("gone.test.crt"))
                    && !Files.exists(acmeFiles.resolve("gone.test.key"))
                    && !Files.exists(acmeFiles.resolve("gone.test.directory")));
            assertThat(log.messages(Level.INFO)).anySatisfy(message -> assertThat(message)
                    .startsWith("ACME: deleting the certificate of gone.test, which expired at"));
        }
        // The clean-up holds the lock a service change takes: once this change returns, it has looked at every
        // domain, so what is still there below was kept, not merely not reached yet.
        acme.onServiceChange(null, service("s2", "off.test", TlsMode.TERMINATE, false));
        assertThat(acmeFiles.resolve("back.test.crt")).as("valid: a service that comes back reuses it").exists();
        assertThat(acmeFiles.resolve("back.test.key")).exists();
        assertThat(acmeFiles.resolve("app.test.crt")).as("wanted: renewed, never deleted").exists();
        assertThat(acmeFiles.resolve("app.test.key")).exists();
    }

    @Test
    void orderNotesOfDomainsNoLongerWantedAreDeletedAtStartAndThoseOfWantedOnesKept() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), unused.directoryUri().toString());
        Instant now = clock.instant();
        // fresh: no order for it while the test runs
        writeAcmeCertificate(new TestCertificates().issueValid(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(60)),
                "app.test"), "app.test");
        for (String domain : List.of("gone.test", "app.test")) {
            files.storeOrder(domain, new PendingOrder(URI.create("http://127.0.0.1:9/order/" + domain).toURL(),
                    EcKeys.newKeyPair()));
        }
        startManagerWithoutServerDomain(unused);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

        acme.servicesLoaded();

        // else the key in it stayed on disk for good
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(files.orderFile("gone.test")));
        // the clean-up holds the lock a service change takes: once this change returns, it has looked at every domain
        acme.onServiceChange(null, service("s2", "off.test", TlsMode.TERMINATE, false));
        assertThat(files.orderFile("app.test")).exists();
    }

    /**
     * The temporary files a crash left between their write and their rename (a key among them) are deleted at start,
     * and no other file: nothing else reads or deletes them, so each crash left one more for good.
     */
    @Test
    void temporaryFilesACrashLeftInTheAcmeDirectoryAreDeletedAtStart() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = Files.createDirectories(data.resolve("certs/acme"));
        Path leftKey = Files.writeString(acmeFiles.resolve(".tmp4097612388455061231.tmp"), "a key cut short");
        Path leftNote = Files.writeString(acmeFiles.resolve(".tmp7.tmp"), "a note");
        List<Path> kept = List.of(Files.writeString(acmeFiles.resolve("app.test.tmp"), "not a temporary file's name"),
                Files.writeString(acmeFiles.resolve(".tmp-notes"), "nor this"),
                Files.createDirectory(acmeFiles.resolve(".tmp1.tmp.d.tmp")));
        startManagerWithoutServerDomain(unused);

        acme.servicesLoaded();

        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(leftKey) && !Files.exists(leftNote));
        // the clean-up holds the lock a service change takes: once this change returns, it has ended
        acme.onServiceChange(null, service("s1", "off.test", TlsMode.TERMINATE, false));
        assertThat(kept).allSatisfy(file -> assertThat(file).exists());
    }

    /**
     * Each step of the clean-up at start on its own: a temporary file that cannot be deleted (immutable) and an expired
     * certificate whose key cannot be (a directory, not empty, in its place) are each a WARN saying so and why, and the
     * other temporary files and the retry delays, expired certificates and order notes of domains no service needs
     * are deleted still. The first IOException ended the clean-up, with "cannot list <directory>".
     */
    @Test
    void whatTheCleanUpAtStartCannotDeleteIsToldOfAndTheRestIsDeletedStill() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = Files.createDirectories(data.resolve("certs/acme"));
        AcmeFiles files = new AcmeFiles(acmeFiles, unused.directoryUri().toString());
        Instant now = clock.instant();
        Path stuck = Files.writeString(acmeFiles.resolve(".tmp4711.tmp"), "a key cut short");
        Path leftNote = Files.writeString(acmeFiles.resolve(".tmp815.tmp"), "a note cut short");
        files.storeFailure("gone.test", new OrderFailure(3, now.plus(Duration.ofDays(1)), "earlier error"));
        files.storeOrder("gone.test", new PendingOrder(URI.create("http://127.0.0.1:9/order/gone.test").toURL(),
                EcKeys.newKeyPair()));
        writeExpiredAcmeCertificate("gone.test");
        writeExpiredAcmeCertificate("keyed.test");
        Path keyInTheWay = acmeFiles.resolve("keyed.test.key");
        Files.delete(keyInTheWay);
        Files.createDirectories(keyInTheWay.resolve("not-empty"));
        List<String> warnings;
        try (ImmutableFile immutable = ImmutableFile.make(stuck);
             LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            startManagerWithoutServerDomain(unused);

            acme.servicesLoaded();

            // the order notes go last
            await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(files.orderFile("gone.test")));
            warnings = log.messages(Level.WARN);
            assertThat(immutable.path()).exists();
        }

        assertThat(List.of(leftNote, files.failureFile("gone.test"), files.certificateFile("gone.test"),
                files.keyFile("gone.test"))).allSatisfy(file -> assertThat(file).doesNotExist());
        assertThat(files.certificateFile("keyed.test")).as("listed still, for the next start").exists();
        assertThat(warnings).satisfiesExactly(
                temporary -> assertThat(temporary).isEqualTo("ACME: cannot delete the temporary files left in "
                        + acmeFiles + " by writes a crash cut short (" + stuck + ": Operation not permitted); a key"
                        + " may be among them: delete them (" + acmeFiles.resolve(".tmp<digits>.tmp") + ") by hand,"
                        + " the next start tries again"),
                certificate -> assertThat(certificate).startsWith("ACME: cannot delete the certificate of keyed.test,"
                        + " which expired at ").endsWith(" and no service needs (" + keyInTheWay
                        + " is a directory, and not empty; left too: " + files.issuerFile("keyed.test") + ", "
                        + files.certificateFile("keyed.test") + "); the next start tries again"));
    }

    /**
     * An expired certificate's key that cannot be deleted keeps its chain, by which the next start finds the
     * certificate and deletes it whole once it can; the chain went first, and the key stayed with nothing to list it.
     */
    @Test
    void anExpiredCertificateWhoseKeyCannotBeDeletedIsDeletedWholeByTheNextStartThatCan() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = Files.createDirectories(data.resolve("certs/acme"));
        AcmeFiles files = new AcmeFiles(acmeFiles, unused.directoryUri().toString());
        writeExpiredAcmeCertificate("gone.test");
        Path key = files.keyFile("gone.test");
        List<String> warnings;
        try (ImmutableFile immutable = ImmutableFile.make(key);
             LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            startManagerWithoutServerDomain(unused);

            acme.servicesLoaded();

            await().atMost(Duration.ofSeconds(30)).until(() -> !log.messages(Level.WARN).isEmpty());
            acme.close();
            warnings = log.messages(Level.WARN);
            assertThat(immutable.path()).exists();
        }

        assertThat(List.of(key, files.issuerFile("gone.test"), files.certificateFile("gone.test")))
                .allSatisfy(file -> assertThat(file).exists());
        assertThat(warnings).singleElement().asString().startsWith("ACME: cannot delete the certificate of gone.test,"
                + " which expired at ").endsWith(" and no service needs (" + key + ": Operation not permitted; left"
                + " too: " + files.issuerFile("gone.test") + ", " + files.certificateFile("gone.test") + "); the next"
                + " start tries again");

        startManagerWithoutServerDomain(unused);
        acme.servicesLoaded();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(DirectoryNames.of(acmeFiles))
                .as("nothing of the certificate left").isEmpty());
    }

    /**
     * What a first save cut short left of a certificate with no chain in place (the key and the note moved into place
     * beside the chain beside, or one file beside alone) is deleted at the start for a domain no service needs; a
     * wanted domain's is left to its load, which completes it, or, for one a certificate file covers (not loaded from
     * ACME's files then) or a wildcard, kept as it is, by its stem (a long domain's shortened); files of other names
     * stay. Nothing listed them, so the key stayed for good.
     */
    @Test
    void whatAFirstSaveCutShortLeftWithNoChainIsDeletedAtStartForADomainNoLongerWanted() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = Files.createDirectories(data.resolve("certs/acme"));
        AcmeFiles files = new AcmeFiles(acmeFiles, unused.directoryUri().toString());
        Instant now = clock.instant();
        for (String domain : List.of("moved.test", "app.test")) {
            writeAcmeCertificate(new TestCertificates().issueValid(now.minus(Duration.ofDays(1)),
                    now.plus(Duration.ofDays(60)), domain), domain);
            Files.move(files.certificateFile(domain), acmeFiles.resolve(domain + ".crt.next"));
        }
        List<Path> alone = List.of(Files.writeString(acmeFiles.resolve("key.test.key.next"), "a key beside"),
                Files.writeString(acmeFiles.resolve("chain.test.crt.next"), "a chain beside"),
                Files.writeString(acmeFiles.resolve("note.test.directory.next"), "a note beside"));
        List<Path> notOurs = List.of(Files.writeString(acmeFiles.resolve("alone.test.key"), "anyone's key"),
                Files.writeString(acmeFiles.resolve("moved.test.crt.bak"), "an operator's copy"),
                Files.writeString(acmeFiles.resolve("Moved.test.key.next"), "no domain's stem"));
        // wanted, not loaded (covered by a file, a wildcard): kept by their stems, shortened or with _ for *
        String longDomain = ("a".repeat(60) + ".").repeat(4) + "test";
        List<Path> keptByStem = new ArrayList<>();
        for (String domain : List.of("covered.test", longDomain)) {
            TestCertificates.Issued issued = new TestCertificates().issueValid(now.minus(Duration.ofDays(1)),
                    now.plus(Duration.ofDays(60)), domain);
            TestCertificates.write(issued, acmeFiles, AcmeFiles.stem(domain));
            Files.writeString(files.issuerFile(domain), "http://127.0.0.1:9/dir\n");
            keptByStem.add(Files.move(files.certificateFile(domain), acmeFiles.resolve(AcmeFiles.stem(domain)
                    + ".crt.next")));
            keptByStem.add(files.keyFile(domain));
            keptByStem.add(files.issuerFile(domain));
            TestCertificates.write(issued, data.resolve("certs"), domain);
            store.putFromFile(domain, CertificateLoader.load(data.resolve("certs/" + domain + ".crt"),
                    data.resolve("certs/" + domain + ".key")));
        }
        keptByStem.add(Files.writeString(acmeFiles.resolve("_.wild.test.key.next"), "a wildcard's key beside"));
        startManagerWithoutServerDomain(unused);
        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));
        acme.onServiceChange(null, service("s2", "covered.test", TlsMode.TERMINATE, true));
        acme.onServiceChange(null, service("s4", longDomain, TlsMode.TERMINATE, true));
        acme.onServiceChange(null, service("s5", "*.wild.test", TlsMode.TERMINATE, true));

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.servicesLoaded();

            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(DirectoryNames.of(acmeFiles))
                    .noneMatch(name -> name.startsWith("moved.test.") && !name.endsWith(".bak"))
                    .doesNotContain("key.test.key.next", "chain.test.crt.next", "note.test.directory.next"));
            assertThat(log.messages(Level.INFO)).contains("ACME: deleting the files of a certificate that a save cut"
                    + " short left with no chain (" + acmeFiles.resolve("moved.test.*") + "), which no service needs");
        }
        // the clean-up holds the lock a service change takes: once this change returns, it has looked at every file
        acme.onServiceChange(null, service("s3", "off.test", TlsMode.TERMINATE, false));
        assertThat(notOurs).allSatisfy(file -> assertThat(file).exists());
        assertThat(List.of("app.test.crt", "app.test.key", "app.test.directory")).as("completed by its load")
                .allSatisfy(name -> assertThat(acmeFiles.resolve(name)).exists());
        assertThat(store.fromAcme("app.test")).isPresent();
        assertThat(keptByStem).as("wanted: its load's to complete, once no file covers it")
                .allSatisfy(file -> assertThat(file).exists());
    }

    @Test
    void theOrderNoteOfADomainWhoseServiceIsDeletedWhileTheServerRunsIsDeletedAtTheNextCheck() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofMillis(200), AcmeSettings.HTTP_01);
        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), unused.directoryUri().toString());
        Instant now = clock.instant();
        // fresh: no order for them while the test runs
        for (String domain : List.of("gone.test", "app.test")) {
            writeAcmeCertificate(new TestCertificates().issueValid(now.minus(Duration.ofDays(1)),
                    now.plus(Duration.ofDays(60)), domain), domain);
            files.storeOrder(domain, new PendingOrder(URI.create("http://127.0.0.1:9/order/" + domain).toURL(),
                    EcKeys.newKeyPair()));
        }
        startManagerWithoutServerDomain(unused);
        Service gone = service("s1", "gone.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, gone);
        // no servicesLoaded(): its clean-up at start is not what this test is about
        acme.onServiceChange(null, service("s2", "app.test", TlsMode.TERMINATE, true));

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.onServiceChange(gone, null);
            long checksBefore = acme.checks();
            await().atMost(Duration.ofSeconds(10)).until(() -> acme.checks() >= checksBefore + 2);

            // else the certificate key in it stayed on disk until the next start
            assertThat(files.orderFile("gone.test")).doesNotExist();
            assertThat(log.messages(Level.INFO)).contains("ACME: deleted the order noted for gone.test, which no"
                    + " service needs a certificate for now");
        }
        assertThat(files.orderFile("app.test")).as("wanted: kept").exists();
        assertThat(files.certificateFile("gone.test")).as("valid: a service that comes back reuses it").exists();
    }

    @Test
    void aCertificateOfADomainNoLongerWantedThatIsNotPemStaysWithAWarnAndTheCleaningGoesOn() throws Exception {
        AcmeSettings unused = settingsFor("http://127.0.0.1:9/dir", Duration.ofHours(1), AcmeSettings.HTTP_01);
        Path acmeFiles = data.resolve("certs/acme");
        Files.createDirectories(acmeFiles);
        // Not base64 between the markers: BouncyCastle's PEM reader throws an unchecked DecoderException for it.
        Files.writeString(acmeFiles.resolve("broken.test.crt"),
                "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n");
        Files.writeString(acmeFiles.resolve("broken.test.key"), "kept\n");
        startManagerWithoutServerDomain(unused);

        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.servicesLoaded();

            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.WARN).stream()
                    .anyMatch(message -> message.startsWith("ACME: cannot read the certificate of broken.test")));
        }
        assertThat(acmeFiles.resolve("broken.test.crt")).as("not ours to judge: it stays").exists();
        assertThat(acmeFiles.resolve("broken.test.key")).exists();
    }

    /** A certificate of {@code domain} that expired a day ago, as ACME stores it. */
    private void writeExpiredAcmeCertificate(String domain) throws Exception {
        Instant now = clock.instant();
        writeAcmeCertificate(new TestCertificates().issueValid(now.minus(Duration.ofDays(90)),
                now.minus(Duration.ofDays(1)), domain), domain);
    }

    /** Writes {@code issued} where ACME keeps the certificates it obtained, as obtained through {@code unused}. */
    private void writeAcmeCertificate(TestCertificates.Issued issued, String domain) throws Exception {
        Path acmeFiles = data.resolve("certs/acme");
        TestCertificates.write(issued, acmeFiles, domain);
        Files.writeString(acmeFiles.resolve(domain + ".directory"), "http://127.0.0.1:9/dir\n");
    }

    @Test
    void failureFileThatIsAFifoIsRefusedInsteadOfBlockingTheServiceUpdate() throws Exception {
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = settingsFor(directoryOf(silentCa), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            Path fifo = data.resolve("certs/acme/app.test.failure");
            Files.createDirectories(fifo.getParent());
            makeFifo(fifo);
            startManagerWithoutServerDomain(silent);

            try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
                assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true)));

                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .startsWith("cannot read the ACME retry delay of app.test").endsWith("not a regular file");
            }
        }
    }

    @Test
    void accountKeyThatIsAFifoFailsTheOrderInsteadOfBlockingAcmeForGood() throws Exception {
        Path fifo = data.resolve("certs/acme/account.key");
        Files.createDirectories(fifo.getParent());
        makeFifo(fifo);
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = settingsFor(directoryOf(silentCa), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            acme = new AcmeManager(silent, data.resolve("certs"), store, null, clock);
            cleanup.add(acme);
            acme.start();
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

            // The account key is read before the CA is asked anything: a FIFO held the ACME thread for good.
            await().atMost(Duration.ofSeconds(10)).until(() -> acme.status("app.test").orElseThrow().status()
                    .equals("error"));
            assertThat(acme.status("app.test").orElseThrow().error()).contains("account.key", "not a regular file");
        }
    }

    @Test
    void storedCertificateKeyThatIsAFifoIsRefusedInsteadOfBlockingTheServiceUpdate() throws Exception {
        TestCertificates.write(new TestCertificates().issue("app.test"), data.resolve("certs/acme"), "app.test");
        Path key = data.resolve("certs/acme/app.test.key");
        Files.delete(key);
        makeFifo(key);
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = settingsFor(directoryOf(silentCa), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            startManagerWithoutServerDomain(silent);

            try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
                assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                        acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true)));

                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .startsWith("cannot load the stored ACME certificate for app.test").endsWith("not a regular file");
            }
        }
    }

    @Test
    void damagedKeysAreAWarnAndAnOrderFailingWithAnErrorNamingTheFileNeverAnExceptionThrownThrough() throws Exception {
        TestCertificates.write(new TestCertificates().issue("app.test"), data.resolve("certs/acme"), "app.test");
        String notBase64 = "-----BEGIN PRIVATE KEY-----\nthis is not base64!\n-----END PRIVATE KEY-----\n";
        Path key = data.resolve("certs/acme/app.test.key");
        Path accountKey = data.resolve("certs/acme/account.key");
        Files.writeString(key, notBase64);
        Files.writeString(accountKey, notBase64);
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = settingsFor(directoryOf(silentCa), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            startManagerWithoutServerDomain(silent);

            try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
                acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

                // A new order is made at once, and fails at the account key before the CA is asked anything.
                await().atMost(Duration.ofSeconds(10)).until(() -> acme.status("app.test").orElseThrow().status()
                        .equals("error"));
                assertThat(log.messages(Level.WARN).getFirst()).startsWith("cannot load the stored ACME certificate for"
                        + " app.test: " + key + ": not a readable PEM private key, damaged or cut short (unable to decode"
                        + " base64 string: invalid characters encountered");
                assertThat(acme.status("app.test").orElseThrow().error()).startsWith("the ACME account key " + accountKey
                        + ": not a readable PEM key, damaged or cut short (unable to decode base64 string: invalid"
                        + " characters encountered").endsWith("); restore it from a backup, or move it away and a new"
                        + " account is made at the next order");
                assertThat(store.select("app.test")).isEmpty();
            }
        }
    }

    @Test
    void orderCutShortByShutdownLeavesNoRetryDelayForTheNextStart() throws Exception {
        // close() interrupts the ACME thread waiting for the order, so this goes through obtain's
        // InterruptedException branch; for its executor.isShutdown() check after a failure, see the next test
        try (LoopbackCa silentCa = new LoopbackCa(2, LoopbackCa.NEVER)) {
            AcmeSettings silent = settingsFor(silentCa.directory(), Duration.ofMillis(200), AcmeSettings.HTTP_01);
            Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
            startManagerWithoutServerDomain(silent);
            acme.onServiceChange(null, app);
            await().atMost(Duration.ofSeconds(20)).until(silentCa::connected);
            assertThat(acme.attempts("app.test")).as("the order waits for the CA").isEqualTo(1);

            acme.close();

            assertThat(Files.exists(data.resolve("certs/acme/app.test.failure"))).isFalse();
            startManagerWithoutServerDomain(silent);
            acme.onServiceChange(null, app);
            await().atMost(Duration.ofSeconds(20)).until(() -> acme.attempts("app.test") == 1);
            assertThat(acme.status("app.test").orElseThrow().status()).isEqualTo("pending");
        }
    }

    @Test
    void anIssuedCertificateWhoseOutcomeIsCutShortByShutdownLeavesNoRetryDelayForTheNextStart() throws Exception {
        // obtain's executor.isShutdown() check after a failure: an order that fails on its own as close() starts is a
        // race no test can arrange (close()'s interrupt is seen first); the outcome listener is the one piece of
        // outside code run on the ACME thread within an order, and close() interrupts it there
        start(null, List.of(AcmeSettings.HTTP_01), true);
        HeldUntilInterrupted listener = new HeldUntilInterrupted();
        acme.onOutcome(listener);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);
        assertThat(listener.issued.await(ISSUANCE.toSeconds(), TimeUnit.SECONDS)).as("issued by pebble").isTrue();

        acme.close();

        assertThat(data.resolve("certs/acme/app.test.failure")).as("no retry delay kept").doesNotExist();
        BigInteger issued = PemFiles.readChain(data.resolve("certs/acme/app.test.crt")).getFirst().getSerialNumber();
        assertThat(servedAfterARestart(app)).isEqualTo(issued);
        assertThat(acme.status("app.test").orElseThrow().status()).isEqualTo("valid");
        assertThat(acme.attempts("app.test")).isZero();
    }

    @Test
    void anOutcomeListenerThatThrowsLeavesTheIssuedCertificateValidWithNoRetryDelayAndIsLogged() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        acme.onOutcome(throwingOutcomes());
        try (LogCapture log = new LogCapture(AcmeManager.class, Level.INFO)) {
            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

            // after the outcome: the listener's exception logged, or the order's failure
            await().atMost(ISSUANCE).until(() -> log.events().stream()
                    .anyMatch(event -> event.getLevel().isGreaterOrEqual(Level.WARN)));
            CertificateStatus status = acme.status("app.test").orElseThrow();
            assertThat(status.status()).isEqualTo("valid");
            assertThat(status.error()).isNull();
            assertThat(data.resolve("certs/acme/app.test.failure")).as("no retry delay kept").doesNotExist();
            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.ERROR).singleElement()
                    .satisfies(event -> {
                        assertThat(event.getFormattedMessage()).contains("app.test");
                        assertThat(event.getThrowableProxy().getMessage()).isEqualTo("Database error: disk I/O error");
                    });
        }
        BigInteger issued = PemFiles.readChain(data.resolve("certs/acme/app.test.crt")).getFirst().getSerialNumber();
        assertThat(servedCertificate("app.test").getSerialNumber()).isEqualTo(issued);
        assertThat(acme.attempts("app.test")).isEqualTo(1);
    }

    @Test
    void anOutcomeListenerThatThrowsOnAFailureDoesNotKeepTheSameCheckFromOrderingTheNextDomain() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), false);
        acme.close();
        // checks only when a service changes: each domain is ordered by the check its own change starts, until both
        // retry delays are over; then the one check that the next change starts orders both, in name order
        settings = new AcmeSettings("admin@example.test", pebble.directory(), pebble.listenerTrust(),
                List.of(AcmeSettings.HTTP_01), Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(12),
                Duration.ofSeconds(60));
        startManager();
        acme.onOutcome(throwingOutcomes());
        acme.onServiceChange(null, service("s1", "a.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("a.test").orElseThrow().status().equals("error"));
        acme.onServiceChange(null, service("s2", "b.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.status("b.test").orElseThrow().status().equals("error"));
        clockOffset.set(Duration.ofHours(2));

        acme.onServiceChange(null, service("s3", "off.test", TlsMode.TERMINATE, false));

        await().atMost(ISSUANCE).until(() -> acme.attempts("a.test") == 2);
        await("b.test ordered by the same check").atMost(ISSUANCE).until(() -> acme.attempts("b.test") == 2);
    }

    @Test
    void closeWhileAnOutcomeListenerSwallowsItsInterruptStartsNoOrderForTheNextDomain() throws Exception {
        start(null, List.of(AcmeSettings.HTTP_01), true);
        acme.close();
        // checks only when a service changes, so that one check renews both domains, in name order
        settings = new AcmeSettings("admin@example.test", pebble.directory(), pebble.listenerTrust(),
                List.of(AcmeSettings.HTTP_01), Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(12),
                Duration.ofSeconds(60));
        startManager();
        acme.onServiceChange(null, service("s1", "a.test", TlsMode.TERMINATE, true));
        acme.onServiceChange(null, service("s2", "b.test", TlsMode.TERMINATE, true));
        await().atMost(ISSUANCE).until(() -> acme.attempts("a.test") == 1 && acme.attempts("b.test") == 1
                && acme.status("b.test").orElseThrow().status().equals("valid"));
        HeldUntilInterrupted listener = new HeldUntilInterrupted();
        acme.onOutcome(listener);
        clockOffset.set(Duration.ofDays(3650));
        acme.onServiceChange(null, service("s3", "off.test", TlsMode.TERMINATE, false));
        assertThat(listener.issued.await(ISSUANCE.toSeconds(), TimeUnit.SECONDS)).as("a.test renewed").isTrue();

        acme.close();

        assertThat(acme.attempts("b.test")).as("no renewal of b.test ordered by the closed manager").isEqualTo(1);
    }

    /**
     * An outcome listener that, told of an issued certificate, holds the ACME thread until close() interrupts it,
     * then throws without keeping the interrupt (as a listener may).
     */
    private static final class HeldUntilInterrupted implements CertificateOutcomes {
        final CountDownLatch issued = new CountDownLatch(1);

        @Override
        public void issued(String domain, boolean renewal, Instant notAfter) {
            issued.countDown();
            try {
                new CountDownLatch(1).await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException("stopped while recording the certificate of " + domain);
            }
        }

        @Override
        public void failed(String domain, boolean renewal, String error, Duration retryIn) {
        }
    }

    /** An outcome listener that fails as CertificateEvents does when the store cannot read the services. */
    private static CertificateOutcomes throwingOutcomes() {
        return new CertificateOutcomes() {
            @Override
            public void issued(String domain, boolean renewal, Instant notAfter) {
                throw new StoreException("Database error: disk I/O error", null);
            }

            @Override
            public void failed(String domain, boolean renewal, String error, Duration retryIn) {
                throw new StoreException("Database error: disk I/O error", null);
            }
        };
    }

    @Test
    void aCaThatNeverAnswersIsNamedAsSuchWithTheTimeInTheStatusAndTheLog() throws Exception {
        // it takes the connection, nobody ever reads or answers it
        try (SilentPeer silentCa = SilentPeer.readingNothing()) {
            AcmeSettings silent = new AcmeSettings(null, directoryOf(silentCa), null, List.of(AcmeSettings.HTTP_01),
                    Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(12), Duration.ofSeconds(1));
            startManagerWithoutServerDomain(silent);
            try (LogCapture log = new LogCapture(AcmeManager.class, Level.WARN)) {
                acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

                // the status is set first, the WARN right after
                await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
                assertThat(acme.status("app.test").orElseThrow().status()).isEqualTo("error");
                String expected = "the ACME server at " + directoryOf(silentCa) + " did not answer within 1 s";
                assertThat(acme.status("app.test").orElseThrow().error()).isEqualTo(expected);
                assertThat(log.messages(Level.WARN)).singleElement().asString().endsWith(": " + expected)
                        .contains("(attempt 1, next try in 1 h)");
            }
        }
    }

    @Test
    void aCaThatStallsInTheMiddleOfAnAnswerFailsTheOrderAtItsDeadlineInsteadOfHoldingAcmeForGood() throws Exception {
        try (LoopbackCa ca = new LoopbackCa(100, AcmeManagerTest::answerHeadersThenStall)) {
            // waits of 0.5 s: the order's deadline is 1.5 s plus 15 requests of 0.5 s
            AcmeSettings stalling = new AcmeSettings(null, ca.directory(), null, List.of(AcmeSettings.HTTP_01),
                    Duration.ofMillis(200), Duration.ofHours(1), Duration.ofHours(12), Duration.ofMillis(500));
            assertThat(stalling.orderDeadline()).isEqualTo(Duration.ofSeconds(9));
            startManagerWithoutServerDomain(stalling);

            acme.onServiceChange(null, service("s1", "app.test", TlsMode.TERMINATE, true));

            // the HTTP client bounds the wait for an answer's headers only: the order waited for the body for good
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    acme.status("app.test").orElseThrow().status().equals("error"));
            assertThat(acme.status("app.test").orElseThrow().error())
                    .contains("the ACME server at " + ca.directory() + " did not complete the order within 9 s");
            long checksAfter = acme.checks();
            await().atMost(Duration.ofSeconds(10)).until(() -> acme.checks() > checksAfter);
        }
    }

    /** A CA that answers each request with its status line, headers and the start of a body, then nothing more. */
    private static void answerHeadersThenStall(Socket connection) throws IOException {
        HttpHead.read(connection.getInputStream());
        connection.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000\r\n\r\n{\"newNonce\": ").getBytes(StandardCharsets.US_ASCII));
        connection.getOutputStream().flush();
    }

    @Test
    void aCaRefusingAnOrderForARateLimitIsNotAskedAgainBeforeItsRetryAfterEvenAcrossARestart() throws Exception {
        java.util.concurrent.atomic.AtomicInteger orders = new java.util.concurrent.atomic.AtomicInteger();
        String directory = rateLimitingCa(Duration.ofDays(1), orders);
        // retries from 1 hour, doubling up to 12 hours
        AcmeSettings limited = settingsFor(directory, Duration.ofMillis(200), AcmeSettings.HTTP_01);
        startManagerWithoutServerDomain(limited);
        Service app = service("s1", "app.test", TlsMode.TERMINATE, true);
        acme.onServiceChange(null, app);

        AcmeFiles files = new AcmeFiles(data.resolve("certs/acme"), limited.directoryUri().toString());
        await().atMost(Duration.ofSeconds(20)).until(() -> files.loadFailure("app.test").isPresent());
        assertThat(acme.status("app.test").orElseThrow().error()).contains("too many certificates already issued");
        assertThat(files.loadFailure("app.test").orElseThrow().nextAttempt())
                .as("the CA's Retry-After of a day, not the first retry delay of an hour")
                .isAfter(clock.instant().plus(Duration.ofHours(23)));
        acme.close();

        startManagerWithoutServerDomain(limited);
        acme.onServiceChange(null, app);
        // past the longest retry delay, which a restart took as the latest next attempt
        clockOffset.set(Duration.ofHours(13));
        long checksBefore = acme.checks();
        await().atMost(Duration.ofSeconds(20)).until(() -> acme.checks() >= checksBefore + 5);
        assertThat(acme.attempts("app.test")).isZero();
        assertThat(orders.get()).isEqualTo(1);

        clockOffset.set(Duration.ofDays(1).plusMinutes(1));

        await().atMost(Duration.ofSeconds(20)).until(() -> orders.get() == 2);
    }

    /**
     * A CA on loopback that makes accounts and refuses every new order for a rate limit, saying to come back after
     * {@code retryAfter} (as Let's Encrypt does when a domain has had too many certificates); counts the orders refused.
     * Its directory URL.
     */
    private String rateLimitingCa(Duration retryAfter, java.util.concurrent.atomic.AtomicInteger orders)
            throws IOException {
        HttpServer ca = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        String base = "http://127.0.0.1:" + ca.getAddress().getPort();
        java.util.concurrent.atomic.AtomicInteger nonces = new java.util.concurrent.atomic.AtomicInteger();
        ca.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().set("Replay-Nonce", "nonce" + nonces.incrementAndGet());
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            String path = exchange.getRequestURI().getPath();
            int status;
            String type = "application/json";
            String body;
            switch (path) {
                case "/dir" -> {
                    status = 200;
                    body = "{\"newNonce\":\"" + base + "/nonce\",\"newAccount\":\"" + base + "/account\","
                            + "\"newOrder\":\"" + base + "/order\"}";
                }
                case "/nonce" -> {
                    status = 200;
                    body = null;
                }
                case "/account" -> {
                    status = 201;
                    exchange.getResponseHeaders().set("Location", base + "/account/1");
                    body = "{\"status\":\"valid\"}";
                }
                case "/order" -> {
                    orders.incrementAndGet();
                    status = 429;
                    type = "application/problem+json";
                    exchange.getResponseHeaders().set("Retry-After", Long.toString(retryAfter.toSeconds()));
                    body = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
                            + "\"detail\":\"too many certificates already issued for app.test\",\"status\":429}";
                }
                default -> {
                    status = 404;
                    body = null;
                }
            }
            if (body == null) {
                exchange.sendResponseHeaders(status, -1);
            } else {
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", type);
                exchange.sendResponseHeaders(status, bytes.length);
                exchange.getResponseBody().write(bytes);
            }
            exchange.close();
        });
        ca.start();
        cleanup.add(() -> ca.stop(0));
        return base + "/dir";
    }

    /** ACME settings for a CA at {@code directory} with no account e-mail nor trust file, checking as often as said. */
    private static AcmeSettings settingsFor(String directory, Duration checkInterval, String... challengeTypes) {
        return new AcmeSettings(null, directory, null, List.of(challengeTypes), checkInterval, Duration.ofHours(1),
                Duration.ofHours(12), Duration.ofSeconds(60));
    }

    private static String directoryOf(ServerSocket ca) {
        return "http://127.0.0.1:" + ca.getLocalPort() + "/dir";
    }

    private static String directoryOf(SilentPeer ca) {
        return "http://127.0.0.1:" + ca.port() + "/dir";
    }

    /** A manager on its own (no server domain, no listeners), closed when the test ends. */
    private void startManagerWithoutServerDomain(AcmeSettings settings) {
        acme = new AcmeManager(settings, data.resolve("certs"), store, null, clock);
        cleanup.add(acme);
        acme.start();
    }

    /** A FIFO at {@code path}; whatever happens, a reader blocked on it is let go when the test ends. */
    private void makeFifo(Path path) throws Exception {
        cleanup.add(Fifo.make(path));
    }

    private static CertificateStatus statusOf(CertificateStatuses statuses, String id, String domain) {
        return statuses.of(service(id, domain, TlsMode.TERMINATE, true));
    }

    private static Service service(String id, String domain, TlsMode mode, boolean enabled) {
        return new Service(id, "tunnel1", ServiceType.HTTP, domain, "/", mode, null, "127.0.0.1:1", enabled,
                Instant.now());
    }

    /** Handshakes with SNI {@code name}, verifying the chain against pebble's root and the host name. */
    private X509Certificate servedCertificate(String name) throws Exception {
        return SniSockets.servedLeaf(pebble.trustingRoot(), https.port(), name);
    }

    /** The HTTPS listener is built before the manager; this forwards TLS-ALPN-01 lookups to it once it exists. */
    private record ChallengeResponsesHolder(AtomicReference<AcmeManager> manager) implements TlsAlpnChallenges {
        @Override
        public Optional<SslContext> challengeFor(String serverName) {
            AcmeManager current = manager.get();
            return current == null ? Optional.empty() : current.challenges().challengeFor(serverName);
        }
    }
}
