package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
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

    /**
     * A scan that ends midway in an error the directory does not take as a bad pair (here the JVM out of memory, thrown
     * by the clock read for the second pair) still runs the step after the scan, so the tunnel endpoint told there that
     * wss is served now is not left unaware of a certificate read before it; the start of the watch does not fail, and
     * the next scan reads the pair again rather than leave it as if said.
     */
    @Test
    void aScanThatFailsMidwayStillRunsTheStepAfterItAndTheWatchGoesOn() {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("first.test"), certs, "first.test");
        TestCertificates.write(ca.issue("second.test"), certs, "second.test");
        AtomicInteger afterScans = new AtomicInteger();
        directory = new CertificateDirectory(certs, store, new ClockFailingAtReading(2));
        directory.afterScan(afterScans::incrementAndGet);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.startWatching(Duration.ofHours(1));

            assertThat(afterScans).as("the step after the failed scan").hasValue(1);
            assertThat(log.messages(Level.WARN)).containsExactly(
                    "certificate directory scan failed: java.lang.OutOfMemoryError: " + ClockFailingAtReading.FAILURE);
            assertThat(log.messages(Level.INFO)).singleElement().asString().contains(" loaded from ");

            directory.scan();
            assertThat(afterScans).hasValue(2);
            assertThat(log.messages(Level.INFO)).hasSize(2).allSatisfy(line -> assertThat(line).contains(" loaded from "));
            assertThat(store.select("first.test")).isPresent();
            assertThat(store.select("second.test")).isPresent();
        }
    }

    /** A clock whose {@code failing}th reading fails as the JVM does when out of memory. */
    private static final class ClockFailingAtReading extends Clock {
        static final String FAILURE = "the test's clock";
        private final int failing;
        private final AtomicInteger readings = new AtomicInteger();

        ClockFailingAtReading(int failing) {
            this.failing = failing;
        }

        @Override
        public Instant instant() {
            if (readings.incrementAndGet() == failing) {
                throw new OutOfMemoryError(FAILURE);
            }
            return Instant.now();
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    /**
     * A pair whose certificate file the parser cannot read for the stack it takes (SEQUENCEs nested too deep, at the
     * start and another pair later) is said once each, naming the file, like any other bad pair, and the other pairs
     * are loaded: the start of the watch does not fail, and the scans after it come.
     */
    @Test
    void aPairTooDeepToParseIsWarnedOfOnceAndTheOthersAreLoaded() throws Exception {
        Path certs = data.resolve("certs");
        for (String name : new String[] {"a.test", "m.test", "z.test"}) {
            TestCertificates.write(ca.issue(name), certs, name);
        }
        Files.writeString(certs.resolve("deep.test.key"), "");
        Files.writeString(certs.resolve("deep.test.crt"), nestedSequencesPem(100_000));
        directory = new CertificateDirectory(certs, store);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN)) {
            directory.startWatching(Duration.ofMillis(50));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for deep.test from " + certs.resolve("deep.test.crt"))
                    .endsWith("the parser failed on it (java.lang.StackOverflowError)");
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("m.test")).isPresent();
            assertThat(store.select("z.test")).isPresent();

            Files.writeString(certs.resolve("deeper.test.key"), "");
            Files.writeString(certs.resolve("deeper.test.crt"), nestedSequencesPem(100_001));
            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.WARN).size() == 2);
            assertThat(log.messages(Level.WARN).get(1))
                    .startsWith("cannot load certificate for deeper.test from " + certs.resolve("deeper.test.crt"));
            TestCertificates.write(ca.issue("later.test"), certs, "later.test");
            await().atMost(Duration.ofSeconds(10)).until(() -> store.select("later.test").isPresent());
            assertThat(log.messages(Level.WARN)).hasSize(2);
        }
    }

    /** A PEM "certificate" that is {@code depth} DER SEQUENCEs, each the only content of the one around it. */
    private static String nestedSequencesPem(int depth) {
        int[] lengths = new int[depth + 1];
        for (int i = 1; i <= depth; i++) {
            lengths[i] = 1 + lengthOctets(lengths[i - 1]) + lengths[i - 1];
        }
        ByteArrayOutputStream der = new ByteArrayOutputStream(lengths[depth]);
        for (int i = depth; i >= 1; i--) {
            der.write(0x30);
            int length = lengths[i - 1];
            int octets = lengthOctets(length);
            if (octets > 1) {
                der.write(0x80 | (octets - 1));
            }
            for (int shift = 8 * (octets > 1 ? octets - 2 : 0); shift >= 0; shift -= 8) {
                der.write(length >>> shift);
            }
        }
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der.toByteArray())
                + "\n-----END CERTIFICATE-----\n";
    }

    /** The octets of a DER length: one below 128, else one saying how many follow and those. */
    private static int lengthOctets(int length) {
        if (length < 128) {
            return 1;
        }
        return length < 1 << 8 ? 2 : length < 1 << 16 ? 3 : 4;
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
