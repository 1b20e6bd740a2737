package io.picotunnel.server.tls;

import io.picotunnel.server.files.BoundedFileReads;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Reads PEM certificate chains and private keys (PKCS#8, PKCS#1 RSA and SEC1 EC keys). */
public final class PemFiles {

    private static final Pattern EXCEPTION_NAME = Pattern.compile("\\b(?:[a-z_]\\w*\\.)+\\w*(?:Exception|Error): ");

    /** Certificate and key files larger than this are refused: a chain is a few KiB. */
    public static final int MAX_FILE_SIZE = 1024 * 1024;

    private PemFiles() {
    }

    /**
     * The certificates of {@code file}, in order. Every failure of its content is an IOException whose message starts
     * with the file, without the exception names BouncyCastle puts in its messages.
     */
    public static List<X509Certificate> readChain(Path file) throws IOException {
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        Reader reader = open(file);
        try (PEMParser parser = new PEMParser(reader)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof X509CertificateHolder holder) {
                    chain.add(converter.getCertificate(holder));
                }
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": bad certificate: " + reason(e), e);
        } catch (IOException | RuntimeException e) {
            // the file opened: what fails now is its content
            throw notPem(file, e);
        } catch (StackOverflowError e) {
            throw nestedTooDeep(file);
        }
        if (chain.isEmpty()) {
            throw new IOException(file + ": no PEM certificate found");
        }
        return List.copyOf(chain);
    }

    /**
     * The first private key of {@code file}. Every failure is an IOException whose message starts with the file and
     * says what is wrong in words: damage (text between the markers that is not base64, or base64 that holds no key,
     * which BouncyCastle reports with unchecked exceptions or exception names in its messages), a key encrypted with a
     * passphrase, or a file that holds something else (a certificate given as the key).
     */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        List<String> others = new ArrayList<>();
        boolean encrypted = false;
        Reader reader = open(file);
        try (PEMParser parser = new PEMParser(reader)) {
            Object o;
            while (!encrypted && (o = parser.readObject()) != null) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return pair.getPublicKeyInfo() != null ? converter.getKeyPair(pair).getPrivate()
                            : converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                encrypted = o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair;
                String other = whatElse(o);
                if (other != null && !others.contains(other)) {
                    others.add(other);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the file opened: what fails now is its content
            throw unreadable(file, e);
        } catch (StackOverflowError e) {
            throw nestedTooDeep(file);
        }
        if (encrypted) {
            throw new IOException(file + ": the private key is encrypted with a passphrase, which PicoTunnel cannot type"
                    + " in; give it the key decrypted (openssl pkey -in " + file + " -out NEW.key asks for the passphrase"
                    + " and writes it so), readable by the server's user only");
        }
        throw new IOException(file + (others.isEmpty() ? ": no PEM private key found"
                : " holds " + String.join(" and ", others) + ", not a private key"));
    }

    /** What a PEM object that is not a private key is, for the message; null for one that goes with keys. */
    private static String whatElse(Object o) {
        if (o instanceof X509CertificateHolder) {
            return "a certificate";
        }
        if (o instanceof SubjectPublicKeyInfo) {
            return "a public key";
        }
        if (o instanceof PKCS10CertificationRequest) {
            return "a certificate signing request";
        }
        return null;
    }

    /**
     * BouncyCastle's ASN.1 parser recurses once per level of nesting: a file nested deep enough overflows the stack,
     * which is whole again here. Said as the file's damage, so that every reader of a chain or key (the certificate
     * directory, the configured certificate at start, ACME's files) names the file instead of ending with the Error.
     */
    public static IOException nestedTooDeep(Path file) {
        return new IOException(file + ": ASN.1 nested too deep, not a certificate or key PicoTunnel can read");
    }

    /** A key file that cannot be read, said with the reason BouncyCastle found, without exception names. */
    private static IOException unreadable(Path file, Exception e) {
        if (e instanceof CharacterCodingException) {
            return new IOException(file + ": not a PEM file (not text: a DER key is converted with openssl pkey -inform"
                    + " DER -in " + file + " -out NEW.key)", e);
        }
        return new IOException(file + ": not a readable PEM private key, damaged or cut short (" + reason(e) + ")", e);
    }

    /**
     * What BouncyCastle says went wrong, without the names of exceptions it puts in its messages ("problem parsing
     * PRIVATE KEY: java.lang.IllegalArgumentException: failed to construct sequence ...").
     */
    public static String reason(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return EXCEPTION_NAME.matcher(message).replaceAll("");
    }

    /**
     * BouncyCastle's PEM reader throws unchecked exceptions for some damage (DecoderException for text between the
     * markers that is not base64), and PEMExceptions that name neither the file nor the damage in words: as an
     * IOException naming the file, which every reader of a chain handles, so that one damaged file is said and
     * skipped, not thrown through (ACME's clean-up at start stopped silently on such a certificate).
     */
    private static IOException notPem(Path file, Exception e) {
        if (e instanceof CharacterCodingException) {
            return new IOException(file + ": not a PEM file (not text: a DER certificate is converted with openssl x509"
                    + " -inform DER -in " + file + " -out NEW.crt)", e);
        }
        return new IOException(file + ": not a readable PEM file: " + reason(e), e);
    }

    /** Checks that {@code key} belongs to {@code certificate} by signing and verifying a test message. */
    public static boolean keyMatches(PrivateKey key, X509Certificate certificate) {
        PublicKey publicKey = certificate.getPublicKey();
        String keyAlgorithm = key.getAlgorithm().equals("ECDSA") ? "EC" : key.getAlgorithm();
        String algorithm = switch (publicKey.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null || !publicKey.getAlgorithm().equals(keyAlgorithm)) {
            return false;
        }
        try {
            byte[] message = "picotunnel key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(message);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(message);
            return verifier.verify(signature);
        } catch (java.security.GeneralSecurityException e) {
            return false;
        }
    }

    /**
     * The text of {@code file}, read whole through {@link BoundedFileReads} (no further than {@link #MAX_FILE_SIZE}, and
     * a FIFO found in its place costs a timeout, not the thread), then decoded as ASCII: a byte outside it is a
     * {@link CharacterCodingException} as the content is parsed.
     */
    private static Reader open(Path file) throws IOException {
        byte[] bytes = BoundedFileReads.read(file, MAX_FILE_SIZE);
        return new BufferedReader(new InputStreamReader(new ByteArrayInputStream(bytes),
                StandardCharsets.US_ASCII.newDecoder()));
    }
}
