package io.picotunnel.server.tls;

import io.picotunnel.server.files.BoundedFileReads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The operator's certificate files in {@code <data>/certs/}: {@code <domain>.crt} (PEM chain, leaf first)
 * with {@code <domain>.key} (PEM private key). A wildcard certificate for {@code *.example.com} is named
 * {@code _.example.com.crt} / {@code _.example.com.key}. {@link #scan()} loads new and changed pairs into
 * the store and drops removed ones; a pair that fails to load is logged once and the certificate loaded
 * before, if any, stays in use. A pair that clients would refuse for its name (expired, not valid yet, or for other
 * names) is loaded with a warning that says why; one that expires while loaded is warned of when it does.
 */
public final class CertificateDirectory implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CertificateDirectory.class);
    /** Certificate pairs read from one listing. */
    static final int MAX_PAIRS = 10_000;
    /**
     * Certificate files without their key read from one listing: each is kept (and warned of) until its key comes, so
     * that a pair read before stays in use; a listing with more drops none.
     */
    static final int MAX_KEYLESS = 10_000;
    /** What happens to an operator's certificate that clients would refuse for its name, for the log lines. */
    static final String GIVES_WAY =
            " (served only where no other certificate covers the name; ACME, when enabled, obtains one meanwhile)";

    /** Reads a pair of files; {@link CertificateLoader#load} but in tests. */
    interface PairLoader {
        ServerCertificate load(Path certificateFile, Path keyFile) throws IOException;
    }

    /** What a pair of files looked like when last read: a change of any of these means reload. */
    private record Signature(Object crtKey, FileTime crtModified, long crtSize, Object keyKey, FileTime keyModified,
                             long keySize) {
    }

    /** A passing failure already said at WARN: for these files of the pair, with this error class. */
    private record PassingFailure(String name, Signature files, Class<?> errorClass) {
    }

    private final Path directory;
    private final CertificateStore store;
    private final Clock clock;
    private final PairLoader loader;
    private final int maxPairs;
    private final int maxKeyless;
    private final Map<String, Signature> seen = new HashMap<>();
    private final Map<String, ServerCertificate> loaded = new HashMap<>();
    /** Names whose loaded certificate was logged as expired, so that it is said once. */
    private final Set<String> expiryTold = new HashSet<>();
    /** Passing failures said at WARN, so that one that comes back every scan is said once until the pair loads. */
    private final Set<PassingFailure> passingFailuresTold = new HashSet<>();
    /** What the last listing had more of than read (pairs, keyless certificates), if anything, so that it is said once. */
    private String cappedTold;
    /** Why the last listing failed, if it did, so that it is said once. */
    private String listingFailureTold;
    private ScheduledExecutorService watcher;
    private Runnable afterScan = () -> { };

    public CertificateDirectory(Path directory, CertificateStore store) {
        this(directory, store, Clock.systemUTC());
    }

    /** {@code clock}: what "expired" and "not valid yet" are measured against in the log lines. */
    public CertificateDirectory(Path directory, CertificateStore store, Clock clock) {
        this(directory, store, clock, CertificateLoader::load, MAX_PAIRS);
    }

    /** {@code maxPairs}: certificate pairs read from one listing; a listing with more drops none. */
    CertificateDirectory(Path directory, CertificateStore store, Clock clock, PairLoader loader, int maxPairs) {
        this(directory, store, clock, loader, maxPairs, MAX_KEYLESS);
    }

    /** {@code maxKeyless}: certificate files without their key read from one listing; a listing with more drops none. */
    CertificateDirectory(Path directory, CertificateStore store, Clock clock, PairLoader loader, int maxPairs,
                         int maxKeyless) {
        this.directory = directory;
        this.store = store;
        this.clock = clock;
        this.loader = loader;
        this.maxPairs = maxPairs;
        this.maxKeyless = maxKeyless;
    }

    public Path directory() {
        return directory;
    }

    /** Runs {@code action} after every scan, on the scanning thread. */
    public synchronized void afterScan(Runnable action) {
        afterScan = action;
    }

    /** Scans now, then every {@code interval} on a daemon thread until {@link #close()}. */
    public synchronized void startWatching(Duration interval) {
        scanSafely();
        if (watcher == null) {
            watcher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                    .name("picotunnel-cert-watch").factory());
            watcher.scheduleWithFixedDelay(this::scanSafely, interval.toMillis(), interval.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public synchronized void close() {
        if (watcher != null) {
            watcher.shutdownNow();
            watcher = null;
        }
    }

    /**
     * A scan whose failure is a WARN: whatever ends it (an Error too, such as running out of memory), the server starts
     * and the next scans come. Thrown on, it would end the start, or silently every later scan of the executor.
     */
    private void scanSafely() {
        try {
            scan();
        } catch (RuntimeException | Error e) {
            log.warn("certificate directory scan failed: {}", withSuppressed(e));
        }
    }

    /** The failure and those it carries (the step after the scan's, which failed too), each in one line's part. */
    private static String withSuppressed(Throwable failure) {
        StringBuilder text = new StringBuilder(failure.toString());
        for (Throwable suppressed : failure.getSuppressed()) {
            text.append("; and then: ").append(suppressed);
        }
        return text.toString();
    }

    /**
     * Reads new and changed certificate files; called at start and then periodically. The step after the scan runs
     * however it ends: a failure midway leaves in the store what was read before it, and the step tells what the store
     * now holds. Certificates are dropped only for a listing read to its end.
     */
    public synchronized void scan() {
        Throwable failure = null;
        try {
            readFiles();
        } catch (RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            try {
                afterScan.run();
            } catch (RuntimeException | Error e) {
                // the scan's own failure is the one to say; the step's goes with it
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }

    private void readFiles() {
        Map<String, Path> certificates = new HashMap<>();
        int pairs = 0;
        int keyless = 0;
        String capped = null;
        try (DirectoryStream<Path> files = listing()) {
            for (Path listed : files) {
                Path file = directory.resolve(listed.getFileName()); // not directory/./name, in what it is told
                String stem = file.getFileName().toString();
                String name = DomainNames.fromFileStem(stem.substring(0, stem.length() - ".crt".length()));
                if (name == null || !Files.isRegularFile(file)) {
                    continue;
                }
                boolean pair = hasKeyFile(file);
                if (pair ? pairs == maxPairs : keyless == maxKeyless) {
                    capped = pair ? "more than " + maxPairs + " certificate pairs (.crt with its .key): the first "
                            + maxPairs : "more than " + maxKeyless + " certificate files without their .key: the first "
                            + maxKeyless;
                    break;
                }
                certificates.put(name, file);
                if (pair) {
                    pairs++;
                } else {
                    keyless++;
                }
            }
        } catch (NoSuchFileException e) {
            // no directory: no certificates (one that is there but cannot be listed, EACCES, ENOTDIR or EIO, is not that)
        } catch (IOException | DirectoryIteratorException e) {
            // a listing cut short names only some files: the others are not gone
            warnOfListingFailure(e);
            return;
        }
        listingFailureTold = null;
        for (Map.Entry<String, Path> entry : certificates.entrySet()) {
            refresh(entry.getKey(), entry.getValue());
        }
        if (capped != null) {
            // the files past the cap are not gone either
            if (!capped.equals(cappedTold)) {
                cappedTold = capped;
                log.warn("certificate directory {} holds {} listed are read, and none is dropped until it holds fewer",
                        directory, capped);
            }
            warnOfExpiries();
            return;
        }
        cappedTold = null;
        for (String name : Set.copyOf(seen.keySet())) {
            if (!certificates.containsKey(name)) {
                seen.remove(name);
                expiryTold.remove(name);
                forgetPassingFailures(name);
                if (loaded.remove(name) != null) {
                    store.removeFromFile(name);
                    log.info("certificate for {} removed (its file is gone)", name);
                }
            }
        }
        warnOfExpiries();
    }

    /**
     * The {@code *.crt} entries of the directory, listed through {@code directory/.}. A path that is there but not a
     * directory (a file in its place, or in the place of a directory above it) is an error, ENOTDIR, not a directory
     * that is gone; so is a FIFO, which a listing of the path itself would open and block on for good, at the server's
     * start too. Asked of {@code directory/.}, the system refuses a FIFO at once, with no check before the listing that
     * a FIFO put in the directory's place between the two would pass.
     */
    private DirectoryStream<Path> listing() throws IOException {
        return Files.newDirectoryStream(directory.resolve("."), "*.crt");
    }

    /** Said once until the directory is listed again or fails another way: it is read every few seconds. */
    private void warnOfListingFailure(Exception failure) {
        Throwable cause = failure instanceof DirectoryIteratorException iteration ? iteration.getCause() : failure;
        String reason = switch (cause) {
            case NotDirectoryException e -> "not a directory";
            case AccessDeniedException e -> "permission denied, on it or on a directory above it";
            // the system's words ("Input/output error", say), in the line's case
            case FileSystemException e when e.getReason() != null && !e.getReason().isEmpty() ->
                    Character.toLowerCase(e.getReason().charAt(0)) + e.getReason().substring(1);
            default -> cause.toString();
        };
        if (!reason.equals(listingFailureTold)) {
            listingFailureTold = reason;
            log.warn("cannot list certificate directory {}: {}; the certificates read from it stay in use until it can"
                    + " be listed", directory, reason);
        }
    }

    /** A certificate that was fine when loaded and has expired since. */
    private void warnOfExpiries() {
        for (Map.Entry<String, ServerCertificate> entry : loaded.entrySet()) {
            ServerCertificate certificate = entry.getValue();
            if (!expiryTold.contains(entry.getKey()) && certificate.isExpiredAt(clock.instant())) {
                expiryTold.add(entry.getKey());
                log.warn("certificate for {} from {} expired at {}: replace the file{}", entry.getKey(),
                        certificate.source(), certificate.notAfter(), consequence(entry.getKey(), certificate));
            }
        }
    }

    private void refresh(String name, Path certificateFile) {
        Path keyFile;
        try {
            keyFile = keyFileOf(certificateFile);
        } catch (InvalidPathException e) {
            // a name outside the file name encoding the JVM took from the locale (ASCII in a POSIX or C locale) was
            // read with its bytes replaced, and cannot be spelt back
            if (skippedFirstTime(name)) {
                log.warn("certificate file {} is skipped: its name cannot be spelt in this system's file name encoding"
                        + " ({}); rename the pair to the name's xn-- form, or run the server in a UTF-8 locale",
                        certificateFile, System.getProperty("sun.jnu.encoding"));
            }
            return;
        }
        Signature signature;
        try {
            signature = signature(certificateFile, keyFile);
        } catch (IOException e) {
            signature = null;
        }
        if (signature == null) {
            if (skippedFirstTime(name)) {
                log.warn("certificate {} has no readable key file {}", certificateFile, keyFile);
            }
            return;
        }
        boolean wasSeen = seen.containsKey(name);
        Signature before = seen.get(name);
        if (wasSeen && Objects.equals(before, signature)) {
            return;
        }
        seen.put(name, signature);
        try {
            // a FIFO that stays is refused here, with no read of it left waiting (BoundedFileReads); one put in the
            // place of a file after this check, or the listing's, ends its read at the timeout, a WARN like this one
            if (!Files.isRegularFile(keyFile)) {
                throw new IOException(keyFile + ": not a regular file");
            }
            Instant now = clock.instant();
            ServerCertificate certificate = loader.load(certificateFile, keyFile);
            store.putFromFile(name, certificate);
            forgetPassingFailures(name);
            String loadedOrReloaded = loaded.put(name, certificate) == null ? "loaded" : "reloaded";
            List<String> problems = certificate.problemsFor(name, now);
            if (certificate.isExpiredAt(now)) {
                expiryTold.add(name);
            } else {
                expiryTold.remove(name);
            }
            if (problems.isEmpty()) {
                log.info("certificate for {} {} from {} (valid until {})", name, loadedOrReloaded, certificateFile,
                        certificate.notAfter());
            } else {
                log.warn("certificate for {} {} from {}, but clients will refuse it: {}{}", name, loadedOrReloaded,
                        certificateFile, String.join("; ", problems), consequence(name, certificate));
            }
        } catch (BoundedFileReads.NotReadInTimeException e) {
            // not the files' doing, maybe passing (a file system slow to answer, reads left waiting that end): read
            // again by the next scan, said once while it lasts
            seeAgain(name, wasSeen, before);
            if (passingFailureFirstTime(name, signature, e)) {
                log.warn("cannot load certificate for {} from {} now, tried again at the next scan: {}", name,
                        certificateFile, e.getMessage());
            } else {
                log.debug("cannot load certificate for {} from {} now, again: {}", name, certificateFile,
                        e.getMessage());
            }
        } catch (IOException | RuntimeException e) {
            forgetPassingFailures(name);
            log.warn("cannot load certificate for {} from {}: {}", name, certificateFile, e.getMessage());
        } catch (StackOverflowError | AssertionError e) {
            forgetPassingFailures(name);
            // this file's doing (a parser's recursion on nesting too deep, or a parser's bug), and the stack is whole
            // again: the pair is said like any bad pair, and the others are read
            log.warn("cannot load certificate for {} from {}: the parser failed on it ({})", name, certificateFile,
                    e.toString());
        } catch (OutOfMemoryError | LinkageError e) {
            // not the file's doing and passing (the direct memory an OpenSSL context takes, a native library that
            // would not load this time): the pair is read again by the next scan rather than left as if read
            seeAgain(name, wasSeen, before);
            // one that does not pass (a class that failed to initialise stays so) comes back every scan: said once
            if (passingFailureFirstTime(name, signature, e)) {
                log.warn("cannot load certificate for {} from {} now, tried again at the next scan: {}", name,
                        certificateFile, e.toString());
            } else {
                log.debug("cannot load certificate for {} from {} now, again: {}", name, certificateFile, e.toString());
            }
        } catch (Error e) {
            seeAgain(name, wasSeen, before);
            throw e;
        }
    }

    /** Whether {@code certificateFile} has its key beside it: a pair to load, what the cap counts. */
    private static boolean hasKeyFile(Path certificateFile) {
        try {
            return Files.isRegularFile(keyFileOf(certificateFile));
        } catch (InvalidPathException e) {
            // refresh() says why it is skipped
            return false;
        }
    }

    /** The key file beside {@code certificateFile}, under its stem as the operator spelled it (maybe its xn-- form). */
    private static Path keyFileOf(Path certificateFile) {
        String file = certificateFile.getFileName().toString();
        return certificateFile.resolveSibling(file.substring(0, file.length() - ".crt".length()) + ".key");
    }

    /** Whether this failure of the pair is new: another error class, or the first since its files changed. */
    private boolean passingFailureFirstTime(String name, Signature files, Throwable failure) {
        passingFailuresTold.removeIf(told -> told.name().equals(name) && !told.files().equals(files));
        return passingFailuresTold.add(new PassingFailure(name, files, failure.getClass()));
    }

    private void forgetPassingFailures(String name) {
        passingFailuresTold.removeIf(told -> told.name().equals(name));
    }

    /** Puts back what was seen of the pair before this scan read it, so that the next scan reads it again. */
    private void seeAgain(String name, boolean wasSeen, Signature before) {
        if (wasSeen) {
            seen.put(name, before);
        } else {
            seen.remove(name);
        }
    }

    /** Marks the pair as skipped; true unless it was skipped by the scan before too, to say it once. */
    private boolean skippedFirstTime(String name) {
        boolean first = !seen.containsKey(name) || seen.get(name) != null;
        seen.put(name, null);
        return first;
    }

    private String consequence(String name, ServerCertificate certificate) {
        return certificate.isUsableFor(name, clock.instant()) ? "" : GIVES_WAY;
    }

    private static Signature signature(Path crt, Path key) throws IOException {
        BasicFileAttributes c = Files.readAttributes(crt, BasicFileAttributes.class);
        BasicFileAttributes k = Files.readAttributes(key, BasicFileAttributes.class);
        return new Signature(c.fileKey(), c.lastModifiedTime(), c.size(), k.fileKey(), k.lastModifiedTime(), k.size());
    }
}
