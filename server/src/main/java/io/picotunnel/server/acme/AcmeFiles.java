package io.picotunnel.server.acme;

import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.DomainNames;
import io.picotunnel.server.tls.ServerCertificate;
import org.shredzone.acme4j.util.KeyPairUtils;

import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.Optional;

/**
 * What ACME keeps in {@code <data>/certs/acme/}: {@code account.key} and, per domain, {@code <domain>.crt}
 * (chain) with {@code <domain>.key}. Keys are written with mode 0600; every file is replaced atomically.
 */
final class AcmeFiles {

    private final Path directory;

    AcmeFiles(Path directory) {
        this.directory = directory;
    }

    Path directory() {
        return directory;
    }

    /** The account key pair, created on first use. */
    KeyPair accountKey() throws IOException {
        Path file = directory.resolve("account.key");
        if (Files.exists(file)) {
            try (var reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
                return KeyPairUtils.readKeyPair(reader);
            }
        }
        KeyPair key = EcKeys.newKeyPair();
        writePrivate(file, pem(key));
        return key;
    }

    /** The certificate stored for {@code domain}, if both files are there and load. */
    Optional<ServerCertificate> load(String domain) throws IOException {
        Path crt = certificateFile(domain);
        Path key = keyFile(domain);
        if (!Files.exists(crt) || !Files.exists(key)) {
            return Optional.empty();
        }
        return Optional.of(CertificateLoader.load(crt, key));
    }

    void store(String domain, KeyPair key, String chainPem) throws IOException {
        writePrivate(keyFile(domain), pem(key));
        write(certificateFile(domain), chainPem, false);
    }

    Path certificateFile(String domain) {
        return directory.resolve(DomainNames.fileStem(domain) + ".crt");
    }

    Path keyFile(String domain) {
        return directory.resolve(DomainNames.fileStem(domain) + ".key");
    }

    private static String pem(KeyPair key) throws IOException {
        Writer out = new StringWriter();
        KeyPairUtils.writeKeyPair(key, out);
        return out.toString();
    }

    private void writePrivate(Path file, String content) throws IOException {
        write(file, content, true);
    }

    private void write(Path file, String content, boolean secret) throws IOException {
        Files.createDirectories(directory);
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path temporary = posix
                ? Files.createTempFile(directory, ".tmp", ".pem", PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")))
                : Files.createTempFile(directory, ".tmp", ".pem");
        try {
            Files.writeString(temporary, content, StandardCharsets.US_ASCII);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
