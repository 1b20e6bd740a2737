package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The operator's certificate files as loaded from {@code <data>/certs/}: what is logged and what wins. */
class CertificateDirectoryTest {

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private final CertificateStore store = new CertificateStore();
    private CertificateDirectory directory;

    @AfterEach
    void stop() {
        if (directory != null) {
            directory.close();
        }
    }

    @Test
    void filesClientsWouldRefuseAreLoggedAtWarnWithTheReason() {
        Instant now = Instant.now();
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issueValid(now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1)),
                "expired.test"), certs, "expired.test");
        TestCertificates.write(ca.issueValid(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(90)),
                "early.test"), certs, "early.test");
        TestCertificates.write(ca.issue("other.test", "www.other.test"), certs, "misnamed.test");
        TestCertificates.write(ca.issue("*.wild.test"), certs, "a.wild.test");
        TestCertificates.write(ca.issue("good.test"), certs, "good.test");
        directory = new CertificateDirectory(certs, store);

        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();

            assertThat(log.messages(Level.WARN)).hasSize(3);
            assertThat(log.messages(Level.WARN)).anySatisfy(line -> assertThat(line)
                    .startsWith("certificate for expired.test loaded from ").contains("it expired at ")
                    .contains("ACME, when enabled, obtains one"));
            assertThat(log.messages(Level.WARN)).anySatisfy(line -> assertThat(line)
                    .startsWith("certificate for early.test loaded from ").contains("it is not valid before "));
            assertThat(log.messages(Level.WARN)).anySatisfy(line -> assertThat(line)
                    .startsWith("certificate for misnamed.test loaded from ")
                    .contains("it is for other.test, www.other.test, not misnamed.test"));
            assertThat(log.messages(Level.INFO)).hasSize(2)
                    .anySatisfy(line -> assertThat(line).startsWith("certificate for good.test loaded from "))
                    .anySatisfy(line -> assertThat(line).startsWith("certificate for a.wild.test loaded from "));
        }
    }

    @Test
    void expiredFileGivesWayToAcmeAndAValidReplacementWinsAgain() {
        Instant now = Instant.now();
        Path certs = data.resolve("certs");
        TestCertificates.Issued expired = ca.issueValid(now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1)),
                "shop.test");
        TestCertificates.write(expired, certs, "shop.test");
        directory = new CertificateDirectory(certs, store);
        directory.scan();

        assertThat(store.selectFromFiles("shop.test")).as("ACME is not kept from the name").isEmpty();
        assertThat(store.select("shop.test").orElseThrow().leaf().getSerialNumber())
                .as("with nothing else, the expired file is still what is served").isEqualTo(expired.serial());

        TestCertificates.Issued fromAcme = ca.issue("shop.test");
        store.putFromAcme("shop.test", load(fromAcme, "acme-shop.test"));
        assertThat(store.select("shop.test").orElseThrow().leaf().getSerialNumber()).isEqualTo(fromAcme.serial());

        TestCertificates.Issued renewed = ca.issue("shop.test");
        TestCertificates.write(renewed, certs, "shop.test");
        directory.scan();

        assertThat(store.selectFromFiles("shop.test")).isPresent();
        assertThat(store.select("shop.test").orElseThrow().leaf().getSerialNumber()).isEqualTo(renewed.serial());
    }

    @Test
    void fileForOtherNamesGivesWayToAcmeForTheNameItIsFiledUnderAndIsNotServedForItsOwnNames() {
        Path certs = data.resolve("certs");
        TestCertificates.Issued misfiled = ca.issue("other.test");
        TestCertificates.write(misfiled, certs, "shop.test");
        TestCertificates.Issued wildcard = ca.issue("*.wild.test");
        TestCertificates.write(wildcard, certs, "_.wild.test");
        directory = new CertificateDirectory(certs, store);
        directory.scan();

        assertThat(store.selectFromFiles("shop.test")).as("ACME is not kept from the name").isEmpty();
        assertThat(store.select("shop.test").orElseThrow().leaf().getSerialNumber())
                .as("with nothing else, the file is still what is served").isEqualTo(misfiled.serial());
        assertThat(store.select("other.test")).as("files are found by their file name only").isEmpty();
        assertThat(store.selectFromFiles("a.wild.test")).as("a wildcard file holds the names one label down")
                .isPresent();

        TestCertificates.Issued fromAcme = ca.issue("shop.test");
        store.putFromAcme("shop.test", load(fromAcme, "acme-shop.test"));
        assertThat(store.select("shop.test").orElseThrow().leaf().getSerialNumber()).isEqualTo(fromAcme.serial());
    }

    /** Operators may name a file as they write the domain: it is served for the xn-- form SNI carries. */
    @Test
    void aFileNamedInUnicodeIsServedForTheNamesXnForm() {
        Path certs = data.resolve("certs");
        TestCertificates.Issued issued = ca.issue("xn--bcher-kva.test");
        TestCertificates.write(issued, certs, "bücher.test");
        TestCertificates.Issued wildcard = ca.issue("*.xn--strae-oqa.test");
        TestCertificates.write(wildcard, certs, "_.straße.test");
        directory = new CertificateDirectory(certs, store);
        directory.scan();

        assertThat(store.selectFromFiles("xn--bcher-kva.test").orElseThrow().leaf().getSerialNumber())
                .isEqualTo(issued.serial());
        assertThat(store.selectFromFiles("www.xn--strae-oqa.test").orElseThrow().leaf().getSerialNumber())
                .as("ß keeps its IDNA2008 form, not ss").isEqualTo(wildcard.serial());
        assertThat(store.selectFromFiles("www.strasse.test")).isEmpty();
    }

    @Test
    void configuredCertificateForOtherNamesIsWarnedOfAndGivesWayToAcme() throws Exception {
        TestCertificates.Issued misnamed = ca.issue("other.test");
        TestCertificates.write(misnamed, data.resolve("configured"), "server");
        try (LogCapture log = new LogCapture(ServerTls.class, Level.WARN);
             ServerTls tls = ServerTls.create(data.resolve("data"), "tunnel.test", new ServerTls.DomainFiles(
                     data.resolve("configured/server.crt"), data.resolve("configured/server.key")), null,
                     Clock.systemUTC())) {
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("certificate for tunnel.test loaded from ")
                    .contains("it is for other.test, not tunnel.test").contains("ACME, when enabled, obtains one");
            assertThat(tls.store().selectFromFiles("tunnel.test")).as("ACME is not kept from the name").isEmpty();
            assertThat(tls.store().select("tunnel.test").orElseThrow().leaf().getSerialNumber())
                    .as("with nothing else, it is still what is served").isEqualTo(misnamed.serial());
        }
    }

    @Test
    void keyFileThatIsAFifoIsRefusedWithoutBlockingTheScan() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("good.test"), certs, "good.test");
        TestCertificates.write(ca.issue("fifo.test"), certs, "fifo.test");
        Path key = certs.resolve("fifo.test.key");
        Files.delete(key);
        Process mkfifo = new ProcessBuilder("mkfifo", key.toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();
        directory = new CertificateDirectory(certs, store);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN)) {
            assertTimeoutPreemptively(Duration.ofSeconds(10), directory::scan);

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for fifo.test from ").endsWith("not a regular file");
            assertThat(store.select("good.test")).isPresent();
        } finally {
            // lets go of a reader blocked on the FIFO, if any
            try (RandomAccessFile writer = new RandomAccessFile(key.toFile(), "rw")) {
                writer.write('\n');
            }
        }
    }

    @Test
    void fileThatExpiresWhileLoadedIsWarnedOfOnceAndGivesWayToAcme() {
        ManualClock clock = new ManualClock(Instant.now());
        CertificateStore timedStore = new CertificateStore(clock);
        Path certs = data.resolve("certs");
        TestCertificates.Issued issued = ca.issue("shop.test");
        TestCertificates.write(issued, certs, "shop.test");
        directory = new CertificateDirectory(certs, timedStore, clock);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();
            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(timedStore.selectFromFiles("shop.test")).isPresent();

            Instant expired = issued.chain().getFirst().getNotAfter().toInstant().plusSeconds(1);
            clock.advance(Duration.between(clock.instant(), expired));
            directory.scan();
            directory.scan();

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("certificate for shop.test from ").contains("expired at ");
            assertThat(timedStore.selectFromFiles("shop.test")).isEmpty();
        }
    }

    private ServerCertificate load(TestCertificates.Issued issued, String stem) {
        TestCertificates.write(issued, data, stem);
        try {
            return CertificateLoader.load(data.resolve(stem + ".crt"), data.resolve(stem + ".key"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
