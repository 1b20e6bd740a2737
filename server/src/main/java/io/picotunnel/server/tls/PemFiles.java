package io.picotunnel.server.tls;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** Reads PEM certificate chains and private keys (PKCS#8, PKCS#1 RSA and SEC1 EC keys). */
public final class PemFiles {

    /** Certificate and key files larger than this are refused: a chain is a few KiB. */
    static final long MAX_FILE_SIZE = 1024 * 1024;

    private PemFiles() {
    }

    public static List<X509Certificate> readChain(Path file) throws IOException {
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (PEMParser parser = new PEMParser(open(file))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof X509CertificateHolder holder) {
                    chain.add(converter.getCertificate(holder));
                }
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": bad certificate: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw notPem(file, e);
        }
        if (chain.isEmpty()) {
            throw new IOException(file + ": no PEM certificate found");
        }
        return List.copyOf(chain);
    }

    public static PrivateKey readPrivateKey(Path file) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(open(file))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return pair.getPublicKeyInfo() != null ? converter.getKeyPair(pair).getPrivate()
                            : converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
            }
        } catch (RuntimeException e) {
            throw notPem(file, e);
        }
        throw new IOException(file + ": no unencrypted PEM private key found");
    }

    /**
     * BouncyCastle's PEM reader throws unchecked exceptions for some damage (DecoderException for text between the
     * markers that is not base64): as an IOException, which every reader of a chain or a key handles, so that one
     * damaged file is said and skipped, not thrown through (ACME's clean-up at start stopped silently on a
     * certificate, the start threw a configured key's out with a stack trace).
     */
    private static IOException notPem(Path file, RuntimeException e) {
        return new IOException(file + ": not a readable PEM file: " + e.getMessage(), e);
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

    private static Reader open(Path file) throws IOException {
        if (Files.size(file) > MAX_FILE_SIZE) {
            throw new IOException(file + ": larger than " + MAX_FILE_SIZE + " bytes, not a PEM certificate or key");
        }
        return Files.newBufferedReader(file, StandardCharsets.US_ASCII);
    }
}
