package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.files.Fifo;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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

    /** The configured certificate (PICOTUNNEL_TLS_CERT) nested too deep to parse is the start's error naming it. */
    @Test
    void configuredCertificateNestedTooDeepIsAnErrorNamingItAtStart() throws Exception {
        Path configured = Files.createDirectories(data.resolve("configured"));
        Files.writeString(configured.resolve("server.crt"), TestCertificates.nestedSequencesPem(100_000));
        Files.writeString(configured.resolve("server.key"), "");
        assertThatThrownBy(() -> ServerTls.create(data.resolve("data"), "tunnel.test", new ServerTls.DomainFiles(
                configured.resolve("server.crt"), configured.resolve("server.key")), null, Clock.systemUTC()).close())
                .isExactlyInstanceOf(java.io.IOException.class)
                .hasMessage(configured.resolve("server.crt") + ": ASN.1 nested too deep, not a certificate or key"
                        + " PicoTunnel can read");
    }

    @Test
    void keyFileThatIsAFifoIsRefusedWithoutBlockingTheScan() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("good.test"), certs, "good.test");
        TestCertificates.write(ca.issue("fifo.test"), certs, "fifo.test");
        directory = new CertificateDirectory(certs, store);
        try (Fifo fifo = Fifo.replacing(certs.resolve("fifo.test.key"));
             LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN)) {
            assertTimeoutPreemptively(Duration.ofSeconds(10), directory::scan);

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for fifo.test from ")
                    .endsWith(fifo.path() + ": not a regular file");
            assertThat(store.select("good.test")).isPresent();
        }
    }

    /**
     * A certificate or key file put in place as a FIFO after the scan looked at it, as it is read (here by the loader,
     * the moment before it reads the pair): the open of a FIFO waits for a writer, for good, and the read is given up
     * after BoundedFileReads' timeout with a WARN naming the file, once for each; the other pairs are read and served.
     */
    @Test
    void aFileReplacedByAFifoAsItIsReadIsGivenUpWithAWarnAndTheOthersAreServed() throws Exception {
        Path certs = data.resolve("certs");
        for (String name : new String[] {"a.test", "crt.test", "key.test", "z.test"}) {
            TestCertificates.write(ca.issue(name), certs, name);
        }
        Path swappedCrt = certs.resolve("crt.test.crt");
        Path swappedKey = certs.resolve("key.test.key");
        List<Fifo> fifos = new CopyOnWriteArrayList<>();
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), (crt, key) -> {
            for (Path file : List.of(crt, key)) {
                if (file.equals(swappedCrt) || file.equals(swappedKey)) {
                    fifos.add(Fifo.replacing(file));
                }
            }
            return CertificateLoader.load(crt, key);
        }, CertificateDirectory.MAX_PAIRS);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            assertTimeoutPreemptively(Duration.ofSeconds(60), directory::scan);

            assertThat(log.messages(Level.WARN)).containsExactlyInAnyOrder(
                    "cannot load certificate for crt.test from " + swappedCrt + " now, tried again at the next scan: "
                            + notRead(swappedCrt),
                    "cannot load certificate for key.test from " + certs.resolve("key.test.crt") + " now, tried again"
                            + " at the next scan: " + notRead(swappedKey));
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("z.test")).isPresent();
            assertThat(store.select("crt.test")).isEmpty();
            assertThat(store.select("key.test")).isEmpty();
        } finally {
            for (Fifo fifo : fifos) {
                fifo.close();
            }
        }
    }

    /**
     * A read given up at the timeout says nothing of the files: the very same files (here the key put back by a rename,
     * its inode, time and size as the scan saw them, after a FIFO stood in its place as it was read) are read again by
     * the next scan and served, where the pair was kept as failed until its files changed.
     */
    @Test
    void aPairWhoseReadWasGivenUpIsReadAgainByTheNextScan() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        Path key = certs.resolve("a.test.key");
        Path aside = data.resolve("a.test.key.aside");
        List<Fifo> fifos = new CopyOnWriteArrayList<>();
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), (crt, keyFile) -> {
            if (fifos.isEmpty()) {
                Files.move(keyFile, aside);
                fifos.add(Fifo.make(keyFile));
            }
            return CertificateLoader.load(crt, keyFile);
        }, CertificateDirectory.MAX_PAIRS);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            assertTimeoutPreemptively(Duration.ofSeconds(60), directory::scan);
            assertThat(store.select("a.test")).isEmpty();
            fifos.getFirst().close();
            Files.delete(key);
            Files.move(aside, key);

            assertTimeoutPreemptively(Duration.ofSeconds(60), directory::scan);

            assertThat(store.select("a.test")).isPresent();
            assertThat(log.messages(Level.WARN)).containsExactly("cannot load certificate for a.test from "
                    + certs.resolve("a.test.crt") + " now, tried again at the next scan: " + notRead(key));
        } finally {
            for (Fifo fifo : fifos) {
                fifo.close();
            }
        }
    }

    private static String notRead(Path file) {
        return file + ": not read within 5 s: not a regular file (a FIFO put in its place as it was read, say), or on a"
                + " file system slow to answer";
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
        // the third reading is the expiry step's, after both pairs: a pair's own failure is said with its file
        directory = new CertificateDirectory(certs, store, new ClockFailingAtReading(3));
        directory.afterScan(afterScans::incrementAndGet);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.startWatching(Duration.ofHours(1));

            assertThat(afterScans).as("the step after the failed scan").hasValue(1);
            assertThat(log.messages(Level.WARN)).containsExactly(
                    "certificate directory scan failed: java.lang.OutOfMemoryError: " + ClockFailingAtReading.FAILURE);
            assertThat(log.messages(Level.INFO)).hasSize(2).allSatisfy(line -> assertThat(line).contains(" loaded from "));

            directory.scan();
            assertThat(afterScans).hasValue(2);
            assertThat(log.messages(Level.WARN)).hasSize(1);
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
     * A pair whose load fails for a passing reason (the direct memory its OpenSSL context takes, short for a moment) is
     * said naming its file and read again by the next scan, which serves it; the other pairs of the scan are loaded.
     */
    @Test
    void aPairThatFailsForWantOfDirectMemoryIsReadAgainByTheNextScan() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        TestCertificates.write(ca.issue("short.test"), certs, "short.test");
        AtomicInteger failures = new AtomicInteger(1);
        OutOfMemoryError outOfDirectMemory = outOfDirectMemory();
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), (crt, key) -> {
            if (crt.getFileName().toString().equals("short.test.crt") && failures.getAndDecrement() > 0) {
                throw outOfDirectMemory;
            }
            return CertificateLoader.load(crt, key);
        }, 10_000);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for short.test from " + certs.resolve("short.test.crt"))
                    .contains("tried again at the next scan").contains("OutOfDirectMemoryError");
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("short.test")).isEmpty();

            directory.scan();
            assertThat(store.select("short.test")).isPresent();
            assertThat(log.messages(Level.INFO)).anySatisfy(line -> assertThat(line)
                    .startsWith("certificate for short.test loaded from " + certs.resolve("short.test.crt")));
            assertThat(log.messages(Level.WARN)).hasSize(1);
        }
    }

    /**
     * A pair that fails for the same passing reason scan after scan (a class that failed to initialise fails so every
     * time) is said at WARN once, then at DEBUG, and still read again at every scan: the scan that can load it does.
     */
    @Test
    void aPairThatKeepsFailingTheSameWayIsWarnedOfOnceAndLoadedWhenItCan() {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        AtomicInteger failures = new AtomicInteger(3);
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), (crt, key) -> {
            if (failures.getAndDecrement() > 0) {
                throw new NoClassDefFoundError("Could not initialize class the.Test");
            }
            return CertificateLoader.load(crt, key);
        }, 10_000);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.DEBUG)) {
            for (int scan = 0; scan < 3; scan++) {
                directory.scan();
            }
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for a.test from " + certs.resolve("a.test.crt"))
                    .contains("NoClassDefFoundError");
            assertThat(log.messages(Level.DEBUG)).hasSize(2);
            assertThat(store.select("a.test")).isEmpty();

            directory.scan();
            assertThat(store.select("a.test")).isPresent();
            assertThat(log.messages(Level.WARN)).hasSize(1);
        }
    }

    /** Another passing failure of the same pair is said at WARN too: it is news. */
    @Test
    void aPairThatFailsAnotherWayIsWarnedOfAgain() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        AtomicInteger scans = new AtomicInteger();
        OutOfMemoryError outOfDirectMemory = outOfDirectMemory();
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), (crt, key) -> {
            if (scans.incrementAndGet() <= 2) {
                throw new NoClassDefFoundError("Could not initialize class the.Test");
            }
            throw outOfDirectMemory;
        }, 10_000);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            for (int scan = 0; scan < 4; scan++) {
                directory.scan();
            }
            assertThat(log.messages(Level.WARN)).hasSize(2);
            assertThat(log.messages(Level.WARN).get(1)).contains("OutOfDirectMemoryError");
        }
    }

    /** Netty's own, as its allocator throws it when the direct memory cap is reached (its constructor is not public). */
    private static OutOfMemoryError outOfDirectMemory() throws ReflectiveOperationException {
        var constructor = io.netty.util.internal.OutOfDirectMemoryError.class.getDeclaredConstructor(String.class);
        constructor.setAccessible(true);
        return constructor.newInstance("failed to allocate 16777216 byte(s) of direct memory (the test's)");
    }

    /**
     * A listing with more certificate files than are read drops none of the certificates it did not read (they are not
     * gone), says so once, and drops as before once the directory holds fewer.
     */
    @Test
    void aListingPastTheCapDropsNoCertificateAndIsSaidOnce() throws Exception {
        Path certs = data.resolve("certs");
        for (String name : new String[] {"a.test", "b.test", "c.test"}) {
            TestCertificates.write(ca.issue(name), certs, name);
        }
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), CertificateLoader::load, 3);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();
            assertThat(log.messages(Level.INFO)).hasSize(3);
            TestCertificates.write(ca.issue("d.test"), certs, "d.test");

            directory.scan();
            directory.scan();
            assertThat(log.messages(Level.INFO)).as("the one of the four left out of the listing is not gone")
                    .noneMatch(line -> line.contains("removed"));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .isEqualTo("certificate directory " + certs + " holds more than 3 certificate pairs (.crt with its"
                            + " .key): the first 3 listed are read, and none is dropped until it holds fewer");
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("b.test")).isPresent();
            assertThat(store.select("c.test")).isPresent();

            Files.delete(certs.resolve("d.test.crt"));
            assertDroppedOnceItsFileIsGone(log, certs, "a.test");
        }
    }

    /**
     * The cap counts pairs to load: {@code .crt} entries that are directories, or files without their key, do not fill
     * it, so a directory with as many pairs as the cap besides them is read whole, and a pair removed from it dropped.
     */
    @Test
    void theCapCountsPairsNotOtherCrtEntries() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        TestCertificates.write(ca.issue("b.test"), certs, "b.test");
        for (int i = 1; i <= 5; i++) {
            Files.createDirectories(certs.resolve("directory" + i + ".test.crt"));
            Files.writeString(certs.resolve("keyless" + i + ".test.crt"), "");
        }
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), CertificateLoader::load, 2);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("b.test")).isPresent();
            assertThat(log.messages(Level.WARN)).as("the keyless certificates only, no cap reached").hasSize(5)
                    .allMatch(line -> line.contains(".test.crt has no readable key file"));

            assertDroppedOnceItsFileIsGone(log, certs, "a.test");
        }
    }

    /**
     * Certificate files without their key, which the cap of pairs does not count, have a cap of their own: each is kept
     * (and warned of) until its key comes, so many thousands would be kept and warned of without end. Past it, the first
     * are read and, as past the cap of pairs, no certificate is dropped.
     */
    @Test
    void keylessCertificateFilesHaveACapOfTheirOwn() throws Exception {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        for (int i = 1; i <= 5; i++) {
            Files.writeString(certs.resolve("keyless" + i + ".test.crt"), "");
        }
        directory = new CertificateDirectory(certs, store, Clock.systemUTC(), CertificateLoader::load, 2, 2);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            directory.scan();
            Files.delete(certs.resolve("a.test.crt"));
            directory.scan();

            assertThat(log.messages(Level.WARN)).as("two keyless certificates, then the cap once").hasSize(3)
                    .filteredOn(line -> line.contains("has no readable key file")).hasSize(2);
            assertThat(log.messages(Level.WARN)).contains("certificate directory " + certs + " holds more than 2"
                    + " certificate files without their .key: the first 2 listed are read, and none is dropped until it"
                    + " holds fewer");
            assertThat(store.select("a.test")).as("not dropped by a listing past a cap").isPresent();
        }
    }

    /** Deleting the {@code .crt} of {@code name} drops its certificate at the next scan, with the INFO saying so. */
    private void assertDroppedOnceItsFileIsGone(LogCapture log, Path certs, String name) throws java.io.IOException {
        Files.delete(certs.resolve(name + ".crt"));
        directory.scan();
        assertThat(store.select(name)).isEmpty();
        assertThat(log.messages(Level.INFO)).contains("certificate for " + name + " removed (its file is gone)");
    }

    /**
     * A directory that is there but cannot be looked into (EACCES) is not a directory that is gone: its certificates
     * stay, with a WARN said once. The operator meets it with a directory above that the server's user cannot search
     * too. Root lists any directory: this runs for other users only (the next case runs for root too).
     */
    @Test
    void aDirectoryThatCannotBeListedDropsNoCertificate() throws Exception {
        Path certs = certsUnderParentWithACertificateRead();
        Path parent = certs.getParent();
        for (Path denied : new Path[] {certs, parent}) {
            Files.setPosixFilePermissions(denied, java.util.Set.of());
            try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
                org.junit.jupiter.api.Assumptions.assumeTrue(listingDenied(certs), "root lists any directory");
                directory.scan();
                directory.scan();
                assertThat(store.select("a.test")).as(denied.toString()).isPresent();
                assertThat(log.messages(Level.WARN)).singleElement().asString().isEqualTo("cannot list certificate"
                        + " directory " + certs + ": permission denied, on it or on a directory above it; the"
                        + " certificates read from it stay in use until it can be listed");
            } finally {
                Files.setPosixFilePermissions(denied,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            }
            directory.scan();
        }
    }

    private static boolean listingDenied(Path directory) throws java.io.IOException {
        try {
            Files.newDirectoryStream(directory).close();
            return false;
        } catch (java.nio.file.AccessDeniedException e) {
            return true;
        }
    }

    /**
     * A path that is there but is not a directory is not a directory that is gone either (root meets it too): a file in
     * its place, a file in the place of a directory above it (ENOTDIR), a FIFO, which the listing would block on for
     * good (at the server's start too). Each is a WARN said once, and the certificates read stay; only a directory that
     * is not there drops them.
     */
    @Test
    void aPathThatIsNotADirectoryDropsNoCertificate() throws Exception {
        Path certs = certsUnderParentWithACertificateRead();
        Path parent = certs.getParent();
        Path aside = data.resolve("aside");
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.INFO)) {
            for (Path replaced : new Path[] {certs, parent}) {
                Files.move(replaced, aside);
                Files.writeString(replaced, "a file");
                assertListingFailsAndKeepsTheCertificate(log, certs, "not a directory");
                Files.delete(replaced);
                Files.move(aside, replaced);
                directory.scan();
            }

            Files.move(certs, aside);
            try (Fifo fifo = Fifo.make(certs)) {
                assertTimeoutPreemptively(Duration.ofSeconds(10),
                        () -> assertListingFailsAndKeepsTheCertificate(log, fifo.path(), "not a directory"));
            }
            Files.delete(certs);
            assertThat(log.messages(Level.INFO)).noneMatch(line -> line.contains("removed"));

            directory.scan();
            assertThat(store.select("a.test")).as("a directory that is not there").isEmpty();
            assertThat(log.messages(Level.INFO)).contains("certificate for a.test removed (its file is gone)");
        }
    }

    /** {@code <data>/parent/certs} with the certificate of a.test in it, read by {@link #directory}. */
    private Path certsUnderParentWithACertificateRead() {
        Path certs = data.resolve("parent").resolve("certs");
        TestCertificates.write(ca.issue("a.test"), certs, "a.test");
        directory = new CertificateDirectory(certs, store);
        directory.scan();
        return certs;
    }

    /** Two scans: the certificate stays, and one more WARN says why the directory cannot be listed. */
    private void assertListingFailsAndKeepsTheCertificate(LogCapture log, Path certs, String reason) {
        int warnings = log.messages(Level.WARN).size();
        directory.scan();
        directory.scan();
        assertThat(store.select("a.test")).isPresent();
        assertThat(log.messages(Level.WARN)).hasSize(warnings + 1).last().isEqualTo("cannot list certificate directory "
                + certs + ": " + reason + "; the certificates read from it stay in use until it can be listed");
    }

    /** The step after a scan that fails too does not hide the scan's own failure, which the scan's WARN says. */
    @Test
    void aStepAfterTheScanThatFailsTooLeavesTheScansOwnFailureToSay() {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("first.test"), certs, "first.test");
        directory = new CertificateDirectory(certs, store, new ClockFailingAtReading(2));
        IllegalStateException stepFailure = new IllegalStateException("the test's step");
        directory.afterScan(() -> {
            throw stepFailure;
        });
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(directory::scan);
        assertThat(thrown).isInstanceOf(OutOfMemoryError.class).hasMessage(ClockFailingAtReading.FAILURE);
        assertThat(thrown.getSuppressed()).containsExactly(stepFailure);
    }

    /** The watch's WARN of a failed scan names the step after it that failed too, not the scan's failure alone. */
    @Test
    void theWatchSaysTheStepAfterTheScanThatFailedToo() {
        Path certs = data.resolve("certs");
        TestCertificates.write(ca.issue("first.test"), certs, "first.test");
        directory = new CertificateDirectory(certs, store, new ClockFailingAtReading(2));
        directory.afterScan(() -> {
            throw new IllegalStateException("the test's step");
        });
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN)) {
            directory.startWatching(Duration.ofHours(1));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("java.lang.OutOfMemoryError: " + ClockFailingAtReading.FAILURE)
                    .contains("java.lang.IllegalStateException: the test's step");
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
        Files.writeString(certs.resolve("deep.test.crt"), TestCertificates.nestedSequencesPem(100_000));
        directory = new CertificateDirectory(certs, store);
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN)) {
            directory.startWatching(Duration.ofMillis(50));
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .startsWith("cannot load certificate for deep.test from " + certs.resolve("deep.test.crt"))
                    .endsWith(certs.resolve("deep.test.crt") + ": ASN.1 nested too deep, not a certificate or key"
                            + " PicoTunnel can read");
            assertThat(store.select("a.test")).isPresent();
            assertThat(store.select("m.test")).isPresent();
            assertThat(store.select("z.test")).isPresent();

            // each file whole at once: a scan that read one half written would see it change, and say it again
            Path staging = Files.createDirectories(data.resolve("staging"));
            Files.writeString(staging.resolve("deeper.test.key"), "");
            Files.writeString(staging.resolve("deeper.test.crt"), TestCertificates.nestedSequencesPem(100_001));
            movePair(staging, certs, "deeper.test");
            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.WARN).size() == 2);
            assertThat(log.messages(Level.WARN).get(1))
                    .startsWith("cannot load certificate for deeper.test from " + certs.resolve("deeper.test.crt"));
            TestCertificates.write(ca.issue("later.test"), staging, "later.test");
            movePair(staging, certs, "later.test");
            await().atMost(Duration.ofSeconds(10)).until(() -> store.select("later.test").isPresent());
            assertThat(log.messages(Level.WARN)).hasSize(2);
        }
    }

    /** Moves the pair {@code stem} from {@code from} into {@code to} by renames, the key first. */
    private static void movePair(Path from, Path to, String stem) throws java.io.IOException {
        for (String file : new String[] {stem + ".key", stem + ".crt"}) {
            Files.move(from.resolve(file), to.resolve(file), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
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
