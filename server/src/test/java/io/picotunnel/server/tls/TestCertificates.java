package io.picotunnel.server.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A throw-away CA for tests: issues certificates for names and writes them as PEM files, keys never committed. */
public final class TestCertificates {

    /** An issued certificate: chain leaf first, the key, and the serial to tell certificates apart. */
    public record Issued(List<X509Certificate> chain, KeyPair keyPair) {
        public BigInteger serial() {
            return chain.getFirst().getSerialNumber();
        }
    }

    private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime());

    private final KeyPair caKey;
    private final X509Certificate caCertificate;

    public TestCertificates() {
        try {
            caKey = newKeyPair();
            X500Name name = new X500Name("CN=PicoTunnel Test CA");
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, nextSerial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))), name,
                    caKey.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            caCertificate = sign(builder);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public X509Certificate caCertificate() {
        return caCertificate;
    }

    /** A certificate for {@code names} (SANs; the first is the CN), valid for a day. */
    public Issued issue(String... names) {
        Instant now = Instant.now();
        return issueValid(now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1)), names);
    }

    /** A certificate for {@code names} valid from {@code notBefore} to {@code notAfter}: expired, say, or not yet. */
    public Issued issueValid(Instant notBefore, Instant notAfter, String... names) {
        try {
            KeyPair key = newKeyPair();
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(caCertificate, nextSerial(),
                    Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + names[0]), key.getPublic());
            GeneralName[] sans = Arrays.stream(names).map(n -> new GeneralName(GeneralName.dNSName, n))
                    .toArray(GeneralName[]::new);
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            return new Issued(List.of(sign(builder), caCertificate), key);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code <stem>.crt} and {@code <stem>.key} into {@code directory} (key file first, both replaced whole). */
    public static void write(Issued issued, Path directory, String stem) {
        try {
            Files.createDirectories(directory);
            replace(directory.resolve(stem + ".key"), pem(new JcaPKCS8Generator(issued.keyPair().getPrivate(), null)));
            StringBuilder chain = new StringBuilder();
            for (X509Certificate certificate : issued.chain()) {
                chain.append(pem(certificate));
            }
            replace(directory.resolve(stem + ".crt"), chain.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A server SSLContext with {@code issued}'s key and chain (for a test's own TLS server, such as a proxy). */
    public static SSLContext serverContext(Issued issued) {
        try {
            char[] password = "test".toCharArray();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("key", issued.keyPair().getPrivate(), password,
                    issued.chain().toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, new SecureRandom());
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client SSLContext that trusts only this CA. */
    public SSLContext clientContext() {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", caCertificate);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), new SecureRandom());
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** An HTTP client of {@code version} that trusts only this CA and gives up connecting after 10 s. */
    public HttpClient httpClient(HttpClient.Version version) {
        return HttpClient.newBuilder().version(version).sslContext(clientContext())
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    public static String pem(Object object) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        }
        return out.toString();
    }

    private static void replace(Path file, String content) throws IOException {
        Path temporary = Files.createTempFile(file.getParent(), ".tmp", ".pem");
        Files.writeString(temporary, content);
        Files.move(temporary, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private X509Certificate sign(JcaX509v3CertificateBuilder builder) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    }

    private static KeyPair newKeyPair() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static BigInteger nextSerial() {
        return BigInteger.valueOf(SERIALS.incrementAndGet());
    }

    /** A PEM "certificate" that is {@code depth} DER SEQUENCEs, each the only content of the one around it. */
    public static String nestedSequencesPem(int depth) {
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
}
