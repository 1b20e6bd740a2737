package io.picotunnel.server.acme;

import io.picotunnel.server.files.BoundedFileReads;
import io.picotunnel.server.files.DurableFileWrites;
import io.picotunnel.server.store.FileErrors;
import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.DomainNames;
import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.ServerCertificate;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X962Parameters;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;
import org.shredzone.acme4j.util.KeyPairUtils;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.Writer;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What ACME keeps in {@code <data>/certs/acme/}: {@code account.key} and, per domain, {@code <domain>.crt}
 * (chain) with {@code <domain>.key} and {@code <domain>.directory} (the ACME directory it came from: a certificate
 * from another directory is not used), {@code <domain>.failure} while orders for it fail (the retry delay,
 * likewise only for the directory it names), and {@code <domain>.order} from the finalization of an order until its
 * certificate is saved (see {@link #storeOrder}). Keys, and the order with its key, are written with mode 0600; every
 * file is replaced atomically, and a certificate's files together (see {@link #store}). A domain too long for its
 * names to fit in NAME_MAX has a shortened {@code <domain>} instead (see {@link #stem}).
 * <p>
 * A certificate's files stay together on any POSIX file system, which keeps no order among the renames a crash cuts
 * short unless the directory is synced between them: the directory is synced before each rename that others must
 * precede (see {@link #store}). Syncs rather than a load that pairs the files it finds by their public keys, which
 * could not undo what a sync prevents: the new key moved into place while the new chain's file, written before, was
 * lost with the crash leaves the old chain with no key of its own on the disk.
 */
final class AcmeFiles {

    private static final String SEC1_TYPE = "EC PRIVATE KEY";
    private static final int MAX_FILES_LISTED = 10_000;
    /** Far more than orders every 12 hours fail in a lifetime. */
    private static final int MAX_FAILURES = 1_000_000;
    private static final int MAX_FAILURE_FILE_SIZE = 64 * 1024;
    private static final int MAX_ERROR_LENGTH = 4096;
    private static final int MAX_ORDER_FILE_SIZE = 64 * 1024;
    /** NAME_MAX of Linux and most file systems, in bytes. */
    private static final int MAX_FILE_NAME = 255;
    /** The longest stem that leaves room for every suffix: {@code <stem>.directory.next}. */
    static final int MAX_STEM_LENGTH = MAX_FILE_NAME - ".directory.next".length();
    /** In no domain name: a stem with it is a long domain's, shortened, never another domain's whole. */
    private static final char SHORTENED = '~';
    private static final int HASH_HEX_LENGTH = 64;
    /** An ACME domain's stem: in ASCII (its xn-- form), lower case, {@code _} for a wildcard's {@code *}. */
    private static final Pattern FILE_STEM = Pattern.compile("[a-z0-9._-]+");
    /** As {@link #stem} shortens an ACME domain's stem, all of whose characters are of one byte. */
    private static final Pattern SHORTENED_STEM = Pattern.compile("[a-z0-9._-]{" + (MAX_STEM_LENGTH - 1
            - HASH_HEX_LENGTH) + "}" + SHORTENED + "[0-9a-f]{" + HASH_HEX_LENGTH + "}");
    /** A certificate's files that only a save cut short, or a deletion that failed, leaves with no chain in place. */
    private static final List<String> CUT_SHORT_SAVE_SUFFIXES = List.of(".crt.next", ".key.next", ".directory.next",
            ".directory");
    /** As for a key file PemFiles reads, which a stored key this class cannot read falls back to. */
    static final int MAX_KEY_FILE_SIZE = PemFiles.MAX_FILE_SIZE;
    /** The note of a certificate's ACME directory: one URI. */
    static final int MAX_ISSUER_FILE_SIZE = 64 * 1024;
    private final Path directory;
    private final String acmeDirectory;
    private final DurableFileWrites files;

    /** {@code acmeDirectory}: the URI of the ACME directory the certificates are obtained from. */
    AcmeFiles(Path directory, String acmeDirectory) {
        this(directory, acmeDirectory, DurableFileWrites.standard());
    }

    /** {@code files}: {@link DurableFileWrites#standard()} but in tests. */
    AcmeFiles(Path directory, String acmeDirectory, DurableFileWrites files) {
        this.directory = directory;
        this.acmeDirectory = acmeDirectory;
        this.files = files;
    }

    Path directory() {
        return directory;
    }

    /** The account key pair, created on first use. */
    synchronized KeyPair accountKey() throws IOException {
        Path file = directory.resolve("account.key");
        if (Files.exists(file)) {
            requireRegularFile(file);
            try {
                return readKeyPair(file);
            } catch (IOException e) {
                throw new IOException("the ACME account key " + e.getMessage() + "; restore it from a backup, or move"
                        + " it away and a new account is made at the next order", e);
            }
        }
        KeyPair key = EcKeys.newKeyPair();
        writePrivate(file, pem(key));
        return key;
    }

    /** The certificate stored for {@code domain}, if both files are there and load (a save cut short completed). */
    synchronized Optional<ServerCertificate> load(String domain) throws IOException {
        completeOrUndoCutShortSave(domain);
        Path crt = certificateFile(domain);
        Path key = keyFile(domain);
        if (!Files.exists(crt) || !Files.exists(key)) {
            return Optional.empty();
        }
        Path issuer = issuerFile(domain);
        requireRegularFile(crt);
        requireRegularFile(key);
        if (Files.exists(issuer)) {
            requireRegularFile(issuer);
            String issuedBy = readBounded(issuer, MAX_ISSUER_FILE_SIZE, StandardCharsets.UTF_8).strip();
            if (!issuedBy.equals(acmeDirectory)) {
                throw new IOException("it was issued through the ACME directory " + issuedBy + ", not the configured "
                        + acmeDirectory + " (staging, say, before production); a new one is obtained");
            }
        }
        return Optional.of(CertificateLoader.of(PemFiles.readChain(crt), readPrivateKey(key), crt.toString()));
    }

    /** A certificate's key: as this class writes it, or in any form {@link PemFiles} reads (PKCS#8, say). */
    private static PrivateKey readPrivateKey(Path file) throws IOException {
        try {
            return readKeyPair(file).getPrivate();
        } catch (IOException e) {
            return PemFiles.readPrivateKey(file);
        }
    }

    /**
     * Reads a key pair this class wrote. Earlier versions wrote the JDK's P-256 keys as SEC1 {@code EC PRIVATE KEY}
     * with neither the curve nor the public key in it (what BouncyCastle's writer makes of the JDK's encoding), which
     * no PEM reader takes: such a key is read as P-256, the only curve ACME keys were made with, and its public key
     * is computed from the private one.
     */
    static KeyPair readKeyPair(Path file) throws IOException {
        return readKeyPair(readBounded(file, MAX_KEY_FILE_SIZE, StandardCharsets.US_ASCII), file);
    }

    /** {@link #readKeyPair(Path)} of the PEM text {@code pemText}, read from {@code file} (named in errors). */
    private static KeyPair readKeyPair(String pemText, Path file) throws IOException {
        try {
            return parseKeyPair(pemText, file);
        } catch (StackOverflowError e) {
            // BouncyCastle's parsers recurse once per level of ASN.1 nesting; the stack is whole again here
            throw PemFiles.nestedTooDeep(file);
        }
    }

    private static KeyPair parseKeyPair(String pemText, Path file) throws IOException {
        PemObject pem;
        try (PemReader reader = new PemReader(new StringReader(pemText))) {
            pem = reader.readPemObject();
        } catch (IOException | RuntimeException e) {
            // BouncyCastle's DecoderException for text between the markers that is not base64, say
            throw new IOException(file + ": not a readable PEM key, damaged or cut short (" + PemFiles.reason(e) + ")",
                    e);
        }
        if (pem == null || !pem.getType().equals(SEC1_TYPE)) {
            try (var reader = new StringReader(pemText)) {
                return KeyPairUtils.readKeyPair(reader);
            } catch (IOException | RuntimeException e) {
                throw new IOException(file + ": no PEM key pair (" + PemFiles.reason(e) + ")", e);
            }
        }
        try {
            ECPrivateKey sec1 = ECPrivateKey.getInstance(pem.getContent());
            X962Parameters curve = sec1.getParametersObject() == null
                    ? new X962Parameters(SECObjectIdentifiers.secp256r1)
                    : X962Parameters.getInstance(sec1.getParametersObject());
            X9ECParameters curveParameters = curve.isNamedCurve()
                    ? ECNamedCurveTable.getByOID(ASN1ObjectIdentifier.getInstance(curve.getParameters())) : null;
            if (curveParameters == null) {
                throw new IOException(file + ": EC key on an unknown curve");
            }
            AlgorithmIdentifier algorithm = new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, curve);
            byte[] publicPoint = sec1.getPublicKey() != null ? sec1.getPublicKey().getOctets()
                    : curveParameters.getG().multiply(sec1.getKey()).normalize().getEncoded(false);
            KeyFactory factory = KeyFactory.getInstance("EC");
            PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(
                    new PrivateKeyInfo(algorithm, new ECPrivateKey(curveParameters.getN().bitLength(),
                            sec1.getKey(), new DERBitString(publicPoint), algorithm.getParameters())).getEncoded()));
            PublicKey publicKey = factory.generatePublic(new X509EncodedKeySpec(
                    new SubjectPublicKeyInfo(algorithm, publicPoint).getEncoded()));
            return new KeyPair(publicKey, privateKey);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException(file + ": unreadable EC private key (" + PemFiles.reason(e) + ")", e);
        }
    }

    /**
     * Stores a certificate obtained through the configured ACME directory, which is noted next to it. The key, the note
     * and the chain are first written whole beside the files they replace ({@code <domain>.key.next}, ...), the chain
     * last, then moved into place, the chain last: a save cut short (a crash, a full disk) leaves the stored
     * certificate as it was, or the new one ready to be moved into place, which {@link #load} does. Never a new key
     * beside the old certificate, or an old key beside the new one (each refused as not belonging to it, and a new
     * certificate ordered). The directory is synced before each step that the ones before must precede on the disk:
     * once the key and the note are beside (to a load, the chain's file beside says they are), once the chain is (the
     * key's move replaces the old chain's key), once the key and the note are moved (to a load, the chain in place
     * says they are), and after all; then its order's note is deleted and the directory synced once more.
     */
    synchronized void store(String domain, KeyPair key, String chainPem) throws IOException {
        Path dir = keyFile(domain).toAbsolutePath().getParent();
        // another certificate's chain left beside by a save that failed (a full disk) would be paired with this key
        moveChainLeftBesideIntoPlace(domain);
        write(files::writeWhole, next(keyFile(domain)), pem(key), true);
        write(files::writeWhole, next(issuerFile(domain)), acmeDirectory + "\n", false);
        files.sync(dir);
        write(files::writeWhole, next(certificateFile(domain)), chainPem, false);
        files.sync(dir);
        moveBesideIntoPlaceAndDeleteOrder(domain);
    }

    /**
     * The files of a new certificate, written whole, that are not in place yet: the key and the note, then, the
     * directory synced, the chain; then the order they came from is deleted ({@link #deleteOrder}).
     */
    private void moveBesideIntoPlaceAndDeleteOrder(String domain) throws IOException {
        moveBesideIntoPlace(domain);
        // its certificate saved, the order is done with: a later attempt must not download this certificate again
        deleteOrder(domain);
    }

    /**
     * Moves into place a certificate whose chain is beside, left by a save cut short, whose key may be in place already
     * (so never deleted instead), before a save writes its own key beside; its order, if any, is the certificate being
     * saved, not this one's to delete.
     */
    private void moveChainLeftBesideIntoPlace(String domain) throws IOException {
        if (Files.exists(next(certificateFile(domain)), LinkOption.NOFOLLOW_LINKS)) {
            moveBesideIntoPlace(domain);
        }
    }

    private void moveBesideIntoPlace(String domain) throws IOException {
        // synced after each, so that the chain's move never outlasts a crash that the key's does not; if it cannot be,
        // the moves are as durable as the file system makes them. Synced before the chain's move even when the key and
        // the note were in place already: a process killed before its sync leaves their moves seen, not yet on the disk
        if (!moveIntoPlace(List.of(keyFile(domain), issuerFile(domain)))) {
            files.sync(keyFile(domain).toAbsolutePath().getParent());
        }
        moveIntoPlace(List.of(certificateFile(domain)));
    }

    /**
     * Moves into place those of {@code places} whose file is written whole beside, then syncs the directory; false
     * when none was beside (nothing moved, nothing synced).
     */
    private boolean moveIntoPlace(List<Path> places) throws IOException {
        List<DurableFileWrites.Move> moves = new ArrayList<>();
        for (Path file : places) {
            Path next = next(file);
            // gone when a move cut short earlier had moved it already
            if (Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                moves.add(new DurableFileWrites.Move(next, file));
            }
        }
        if (moves.isEmpty()) {
            return false;
        }
        files.moveIntoPlace(moves);
        return true;
    }

    /**
     * Completes or undoes a save cut short: with the new chain beside, its key and note were on the disk before it, and
     * the three are moved into place (the key and the note may be already); without it the chain was not written yet,
     * or was moved into place after the others, and a key and a note beside are deleted.
     */
    private void completeOrUndoCutShortSave(String domain) throws IOException {
        if (Files.exists(next(certificateFile(domain)), LinkOption.NOFOLLOW_LINKS)) {
            moveBesideIntoPlaceAndDeleteOrder(domain);
        } else {
            // both tried: a key beside that stays is named even when the note's deletion failed too
            List<IOException> failures = new ArrayList<>();
            deleteEach(List.of(next(keyFile(domain)), next(issuerFile(domain))), failures);
            if (!failures.isEmpty()) {
                throw new IOException(FileErrors.describe(failures, failures.size()));
            }
        }
    }

    private static Path next(Path file) {
        return file.resolveSibling(file.getFileName() + ".next");
    }

    /**
     * Notes the order for {@code domain} about to be finalized with the certificate key {@code key}, through the
     * configured ACME directory: a stop or a crash before its certificate is saved ({@link #store} deletes the note)
     * leaves the CA's order, which the next start takes up instead of placing another (a CA limits the certificates
     * for one set of names: Let's Encrypt, 5 a week). Mode 0600: the key is the certificate's.
     */
    synchronized void storeOrder(String domain, PendingOrder order) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("directory", acmeDirectory);
        properties.setProperty("location", order.location().toString());
        properties.setProperty("domain", domain);
        properties.setProperty("key", pem(order.key()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        properties.store(out, "The ACME order for " + domain + ", finalized with this certificate key: the next start"
                + " takes it up (downloads its certificate) instead of ordering another. Deleted once the certificate"
                + " is saved.");
        writePrivate(orderFile(domain), out.toString(StandardCharsets.ISO_8859_1));
    }

    /**
     * The order noted for {@code domain} by {@link #storeOrder}, if any. Throws when it cannot be taken up: unreadable,
     * or placed through another ACME directory than the configured one.
     */
    Optional<PendingOrder> loadOrder(String domain) throws IOException {
        Path file = orderFile(domain);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        requireRegularFile(file);
        Properties properties = new Properties();
        String text = readBounded(file, MAX_ORDER_FILE_SIZE, StandardCharsets.ISO_8859_1);
        try {
            properties.load(new StringReader(text));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        String directory = properties.getProperty("directory");
        if (!acmeDirectory.equals(directory)) {
            throw new IOException(file + ": placed through the ACME directory " + directory + ", not the configured "
                    + acmeDirectory);
        }
        String location = properties.getProperty("location", "");
        String key = properties.getProperty("key", "");
        try {
            URI uri = new URI(location);
            if (!uri.isAbsolute() || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))) {
                throw new IOException(file + ": location " + location + " is not an http(s) URL");
            }
            return Optional.of(new PendingOrder(uri.toURL(), readKeyPair(key, file)));
        } catch (URISyntaxException | IllegalArgumentException | MalformedURLException e) {
            throw new IOException(file + ": location " + location + " is not a URL (" + e.getMessage() + ")", e);
        }
    }

    /** Whether there was an order noted for {@code domain}, now deleted ({@link #deleteSynced}). */
    boolean deleteOrder(String domain) throws IOException {
        return deleteSynced(orderFile(domain));
    }

    /** The domains with a {@code .order} file, whatever ACME directory it names (at most 10,000). */
    List<String> orderDomains() throws IOException {
        return domainsWith(".order");
    }

    Path orderFile(String domain) {
        return directory.resolve(stem(domain) + ".order");
    }

    /** Notes that orders for {@code domain} failed, through the configured ACME directory. */
    synchronized void storeFailure(String domain, OrderFailure failure) throws IOException {
        Properties properties = new Properties();
        properties.setProperty("directory", acmeDirectory);
        properties.setProperty("domain", domain);
        properties.setProperty("failures", Integer.toString(failure.failures()));
        properties.setProperty("next_attempt", failure.nextAttempt().toString());
        if (failure.caRetryAfter() != null) {
            properties.setProperty("ca_retry_after", failure.caRetryAfter().toString());
        }
        String lastError = failure.lastError() == null ? "" : failure.lastError();
        // so that the file stays far below the size it is read up to, however long the CA's message
        properties.setProperty("last_error", lastError.length() > MAX_ERROR_LENGTH
                ? lastError.substring(0, MAX_ERROR_LENGTH) + "..." : lastError);
        // the stream form escapes every character outside ASCII
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        properties.store(out, "ACME orders for " + domain + " failed: none before next_attempt."
                + " Update the service (PATCH) or delete this file and restart to try at once.");
        write(failureFile(domain), out.toString(StandardCharsets.ISO_8859_1), false);
    }

    /**
     * The failed orders noted for {@code domain}, if any, through the configured ACME directory: those through
     * another say nothing of this one's limits.
     */
    Optional<OrderFailure> loadFailure(String domain) throws IOException {
        Path file = failureFile(domain);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        requireRegularFile(file);
        Properties properties = new Properties();
        properties.load(new StringReader(readBounded(file, MAX_FAILURE_FILE_SIZE, StandardCharsets.ISO_8859_1)));
        if (!acmeDirectory.equals(properties.getProperty("directory"))) {
            return Optional.empty();
        }
        try {
            int failures = Integer.parseInt(properties.getProperty("failures", ""));
            Instant nextAttempt = Instant.parse(properties.getProperty("next_attempt", ""));
            String lastError = properties.getProperty("last_error", "");
            String caRetryAfter = properties.getProperty("ca_retry_after");
            if (failures < 1 || failures > MAX_FAILURES) {
                // a count near the int limit would overflow as orders go on failing
                throw new IOException(file + ": failures must be from 1 to " + MAX_FAILURES);
            }
            return Optional.of(new OrderFailure(failures, nextAttempt, lastError.isEmpty() ? null : lastError,
                    caRetryAfter == null ? null : Instant.parse(caRetryAfter)));
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Deletes the failed orders noted for {@code domain}, if any ({@link #deleteSynced}). */
    void deleteFailure(String domain) throws IOException {
        deleteSynced(failureFile(domain));
    }

    /**
     * Deletes {@code file} if it is there, then syncs the directory; whether it was. A deletion a crash of the machine
     * undid would bring back an order whose certificate is saved (downloaded again at the next start) or the note of
     * failures that ended (the next attempt put off).
     */
    private boolean deleteSynced(Path file) throws IOException {
        if (!files.delete(file)) {
            return false;
        }
        files.sync(directory.toAbsolutePath());
        return true;
    }

    /**
     * The text of {@code file}, which is larger than {@code limit} bytes only when it is not what this class wrote: an
     * error naming it, read no further than one byte past the limit (a size looked at first holds only for that
     * moment). Read through {@link BoundedFileReads}: a FIFO found in its place costs a timeout, not the thread, and
     * the ACME thread interrupted by the server's shutdown reads it too.
     */
    private static String readBounded(Path file, int limit, Charset charset) throws IOException {
        return new String(BoundedFileReads.read(file, limit), charset);
    }

    /**
     * Files here are read on API threads and the ACME thread: a FIFO that stays is refused here, with no read of it
     * left waiting; one put in a file's place after this check ends its read after {@link BoundedFileReads}'s timeout.
     */
    private static void requireRegularFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file");
        }
    }

    /**
     * Deletes the temporary files a crash of the machine or a {@code kill -9} left during a write here (a key, a
     * chain, a note, before its rename): how many, and those it could not delete. Synchronized, as every write here
     * is: a write's own temporary file is never deleted under it.
     */
    synchronized DurableFileWrites.LeftTemporaryFiles deleteLeftTemporaryFiles() {
        return files.deleteLeftTemporaryFiles(directory);
    }

    /** The domains with a {@code .failure} file, whatever ACME directory it names (at most 10,000). */
    List<String> failureDomains() throws IOException {
        return domainsWith(".failure");
    }

    /** The domains with a {@code .crt} file, whatever ACME directory it came from (at most 10,000). */
    List<String> certificateDomains() throws IOException {
        return domainsWith(".crt");
    }

    /**
     * The stems ({@link #stem}) of certificates with no chain in place ({@code <stem>.crt}), so that
     * {@link #certificateDomains} lists none of them, but with a file of a save cut short: one beside
     * ({@code .crt.next}, {@code .key.next}, {@code .directory.next}), or the note moved into place
     * ({@code .directory}). A first save cut short leaves these, the key in place maybe ({@code <stem>.key} beside
     * {@code <stem>.crt.next}), and so does a deletion ({@link #deleteCertificate}) that could not delete a note. Only
     * names {@link #stem} makes, with these suffixes, which no one else writes here; a key alone is not listed, as it
     * could be anyone's (at most 10,000, in order).
     */
    List<String> certificateStemsWithoutChain() throws IOException {
        Set<String> stems = new TreeSet<>();
        try (DirectoryStream<Path> listed = Files.newDirectoryStream(directory.resolve("."), "*.{next,directory}")) {
            for (Path file : listed) {
                String name = file.getFileName().toString();
                for (String suffix : CUT_SHORT_SAVE_SUFFIXES) {
                    String stem = name.endsWith(suffix) ? name.substring(0, name.length() - suffix.length()) : "";
                    if (isStem(stem) && stems.size() < MAX_FILES_LISTED
                            && !Files.exists(directory.resolve(stem + ".crt"), LinkOption.NOFOLLOW_LINKS)) {
                        stems.add(stem);
                    }
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // no directory, or something else in its place: no files of ACME
        } catch (DirectoryIteratorException e) {
            throw e.getCause();
        }
        return List.copyOf(stems);
    }

    /** Whether {@link #stem} makes {@code stem} of a domain: as {@link DomainNames#fileStem}, or shortened. */
    private static boolean isStem(String stem) {
        if (stem.indexOf(SHORTENED) >= 0) {
            return SHORTENED_STEM.matcher(stem).matches();
        }
        String domain = DomainNames.fromFileStem(stem);
        return FILE_STEM.matcher(stem).matches() && domain != null && stem(domain).equals(stem);
    }

    /**
     * Listed through {@code directory/.}, as {@link io.picotunnel.server.tls.CertificateDirectory} lists: a listing of
     * the path itself opens it with no O_NONBLOCK, and would block for good (the ACME thread, an API thread) on a FIFO
     * put in the directory's place after any check, where {@code fifo/.} fails at once with ENOTDIR.
     */
    private List<String> domainsWith(String suffix) throws IOException {
        List<String> domains = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory.resolve("."), "*" + suffix)) {
            for (Path file : files) {
                String stem = file.getFileName().toString();
                stem = stem.substring(0, stem.length() - suffix.length());
                String domain = stem.indexOf(SHORTENED) >= 0 ? shortenedStemsDomain(directory.resolve(file
                        .getFileName()), stem, suffix) : DomainNames.fromFileStem(stem);
                if (domain != null && domains.size() < MAX_FILES_LISTED) {
                    domains.add(domain);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // no directory, or something else in its place: no files of ACME
        } catch (DirectoryIteratorException e) {
            throw e.getCause();
        }
        return domains;
    }

    /**
     * The domain a shortened stem's file is for, which its name no longer says: a certificate's is among its names,
     * a note's is in it ({@code domain}); null for a file that names none whose stem this is (not one of ours).
     */
    private static String shortenedStemsDomain(Path file, String stem, String suffix) {
        try {
            requireRegularFile(file);
            List<String> candidates = new ArrayList<>();
            if (suffix.equals(".crt")) {
                Collection<List<?>> names = PemFiles.readChain(file).getFirst().getSubjectAlternativeNames();
                for (List<?> name : names == null ? List.<List<?>>of() : names) {
                    if (name.get(1) instanceof String dnsName) {
                        candidates.add(DomainNames.normalize(dnsName));
                    }
                }
            } else {
                int limit = suffix.equals(".order") ? MAX_ORDER_FILE_SIZE : MAX_FAILURE_FILE_SIZE;
                Properties properties = new Properties();
                properties.load(new StringReader(readBounded(file, limit, StandardCharsets.ISO_8859_1)));
                candidates.add(DomainNames.normalize(properties.getProperty("domain")));
            }
            return candidates.stream().filter(d -> d != null && stem(d).equals(stem)).findFirst().orElse(null);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            return null; // unreadable: loading it says why
        }
    }

    /**
     * The stem of {@code domain}'s file names ({@link DomainNames#fileStem}). One that would make a name longer than
     * NAME_MAX (a stem of more than {@value #MAX_STEM_LENGTH} bytes in UTF-8: a domain may have 253 characters) is cut
     * to the whole characters that fit in a prefix and {@code ~} and the SHA-256 of the whole stem's UTF-8 bytes, at
     * most {@value #MAX_STEM_LENGTH} bytes in all; shorter ones stay as they were.
     */
    static String stem(String domain) {
        String stem = DomainNames.fileStem(domain);
        byte[] bytes = stem.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_STEM_LENGTH) {
            return stem;
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        StringBuilder prefix = new StringBuilder();
        int room = MAX_STEM_LENGTH - 1 - HASH_HEX_LENGTH;
        for (int i = 0; i < stem.length(); ) {
            int c = stem.codePointAt(i);
            String character = Character.toString(c);
            room -= character.getBytes(StandardCharsets.UTF_8).length;
            if (room < 0) {
                break;
            }
            prefix.append(character);
            i += Character.charCount(c);
        }
        return prefix.toString() + SHORTENED + hash;
    }

    /** When the certificate stored for {@code domain} expires (its first certificate's, the leaf's). */
    Instant certificateNotAfter(String domain) throws IOException {
        Path crt = certificateFile(domain);
        requireRegularFile(crt);
        return PemFiles.readChain(crt).getFirst().getNotAfter().toInstant();
    }

    /**
     * Deletes the certificate stored for {@code domain}: its key, the note of its ACME directory and its chain, and
     * those of a save cut short beside. In steps, the directory synced after each, so that a crash of the machine
     * keeps them in order: the key in place; the chain beside, which says to a load that the key and the note beside
     * are whole (a save cut short after the key's move left the new key in place beside the old chain, which only the
     * new chain beside was to replace); the key and the note beside and the note in place; the chain in place last,
     * which is what the certificate is listed by ({@link #certificateDomains}). Every file of a step is tried, and one
     * that cannot be deleted ends the deletion there: what is left is listed still, for the next start to try again,
     * never a key whose chain is gone, which nothing would ever delete, nor a chain beside another's key. Throws naming
     * each file left and why.
     */
    void deleteCertificate(String domain) throws IOException {
        deleteCertificateOfStem(stem(domain));
    }

    /** {@link #deleteCertificate} of the files named {@code stem} ({@link #stem}), whatever domain it is of. */
    synchronized void deleteCertificateOfStem(String stem) throws IOException {
        Path dir = directory.toAbsolutePath();
        Path chain = directory.resolve(stem + ".crt");
        Path key = directory.resolve(stem + ".key");
        Path issuer = directory.resolve(stem + ".directory");
        List<List<Path>> steps = List.of(List.of(key), List.of(next(chain)),
                List.of(next(key), next(issuer), issuer), List.of(chain));
        for (int step = 0; step < steps.size(); step++) {
            List<IOException> failures = new ArrayList<>();
            boolean deleted = deleteEach(steps.get(step), failures);
            if (deleted) {
                files.sync(dir);
            }
            if (!failures.isEmpty()) {
                List<String> staying = steps.subList(step + 1, steps.size()).stream().flatMap(List::stream)
                        .filter(file -> Files.exists(file, LinkOption.NOFOLLOW_LINKS)).map(Path::toString).toList();
                throw new IOException(FileErrors.describe(failures, failures.size()) + (staying.isEmpty() ? ""
                        : "; left too: " + String.join(", ", staying)));
            }
        }
    }

    /** Deletes each of {@code paths} that is there, adding to {@code failures} those it cannot; whether any was. */
    private boolean deleteEach(List<Path> paths, List<IOException> failures) {
        boolean deleted = false;
        for (Path file : paths) {
            try {
                deleted |= files.delete(file);
            } catch (IOException e) {
                failures.add(e);
            }
        }
        return deleted;
    }

    Path failureFile(String domain) {
        return directory.resolve(stem(domain) + ".failure");
    }

    /** The ACME directory a stored certificate came from (none from versions before this file was written). */
    Path issuerFile(String domain) {
        return directory.resolve(stem(domain) + ".directory");
    }

    Path certificateFile(String domain) {
        return directory.resolve(stem(domain) + ".crt");
    }

    Path keyFile(String domain) {
        return directory.resolve(stem(domain) + ".key");
    }

    /**
     * An EC key pair as SEC1 {@code EC PRIVATE KEY} with its curve and public key, as OpenSSL writes it (acme4j's
     * writer drops both for the JDK's keys, and then nothing reads the file back); any other key as acme4j writes it.
     */
    private static String pem(KeyPair key) throws IOException {
        Writer out = new StringWriter();
        if (key.getPrivate() instanceof java.security.interfaces.ECPrivateKey ec) {
            SubjectPublicKeyInfo publicKey = SubjectPublicKeyInfo.getInstance(key.getPublic().getEncoded());
            ECPrivateKey sec1 = new ECPrivateKey(ec.getParams().getOrder().bitLength(), ec.getS(),
                    publicKey.getPublicKeyData(), publicKey.getAlgorithm().getParameters());
            try (PemWriter writer = new PemWriter(out)) {
                writer.writeObject(new PemObject(SEC1_TYPE, sec1.getEncoded()));
            }
        } else {
            KeyPairUtils.writeKeyPair(key, out);
        }
        return out.toString();
    }

    private void writePrivate(Path file, String content) throws IOException {
        write(file, content, true);
    }

    /** Writes {@code file} whole and syncs its directory ({@link DurableFileWrites#replace}). */
    private void write(Path file, String content, boolean secret) throws IOException {
        write(files::replace, file, content, secret);
    }

    /** {@link DurableFileWrites#replace}'s signature, or {@link DurableFileWrites#writeWhole}'s. */
    private interface Write {
        void to(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException;
    }

    /**
     * Writes {@code file} whole through a temporary file, by {@code write}. A failure names {@code file}, never the
     * temporary file, whose name is random: a message naming it differed at every attempt, and a failure meant to be
     * logged once (a certificate that cannot be saved, retried at every check) was logged every time.
     */
    private void write(Write write, Path file, String content, boolean secret) throws IOException {
        Files.createDirectories(directory);
        try {
            write.to(file, content.getBytes(StandardCharsets.US_ASCII),
                    PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + reason(e), e);
        }
    }

    /** What went wrong in an I/O exception, without the file names some give in their message. */
    private static String reason(IOException e) {
        if (e instanceof FileSystemException fs) {
            if (fs.getReason() != null) {
                return fs.getReason();
            }
            return switch (fs) {
                case AccessDeniedException denied -> "Permission denied";
                case NoSuchFileException missing -> "No such file or directory";
                case FileAlreadyExistsException exists -> "File exists";
                default -> fs.getClass().getSimpleName();
            };
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        // a FileOutputStream that cannot open its file says "<file> (<reason>)"
        int reasonStart = message.lastIndexOf(" (");
        return e instanceof FileNotFoundException && reasonStart >= 0 && message.endsWith(")")
                ? message.substring(reasonStart + 2, message.length() - 1) : message;
    }
}
