package io.picotunnel.server.tls;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Key files as an operator can get them wrong, each with what it is: for the readers of keys to say so. */
public final class BrokenKeys {

    /** For the encryption only (not registered: the server reads keys without it). */
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private BrokenKeys() {
    }

    /** Name of the mistake to the content of the key file, for a key of {@code issued}. */
    public static Map<String, String> of(TestCertificates.Issued issued) {
        try {
            Map<String, String> keys = new LinkedHashMap<>();
            String pkcs8 = TestCertificates.pem(new JcaPKCS8Generator(issued.keyPair().getPrivate(), null));
            String sec1 = TestCertificates.pem(issued.keyPair());
            keys.put("PKCS#8 key cut short", firstHalf(pkcs8));
            keys.put("SEC1 key cut short", firstHalf(sec1));
            keys.put("certificate in place of the key", TestCertificates.pem(issued.chain().getFirst()));
            keys.put("PKCS#8 key encrypted", TestCertificates.pem(new JcaPKCS8Generator(issued.keyPair().getPrivate(),
                    new JceOpenSSLPKCS8EncryptorBuilder(JcaPKCS8Generator.AES_256_CBC).setProvider(BC)
                            .setPassword("secret".toCharArray()).build())));
            StringWriter legacy = new StringWriter();
            try (JcaPEMWriter writer = new JcaPEMWriter(legacy)) {
                writer.writeObject(issued.keyPair(),
                        new JcePEMEncryptorBuilder("AES-128-CBC").setProvider(BC).build("secret".toCharArray()));
            }
            keys.put("SEC1 key encrypted (Proc-Type)", legacy.toString());
            keys.put("not base64 between the markers",
                    "-----BEGIN PRIVATE KEY-----\nthis is not base64, it was pasted into the wrong file\n"
                            + "-----END PRIVATE KEY-----\n");
            keys.put("base64 of no key", "-----BEGIN EC PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END EC PRIVATE KEY-----\n");
            return keys;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The PEM with the first half of its base64 only (whole groups of four): the armor lines whole, the key cut short. */
    private static String firstHalf(String pem) {
        List<String> lines = pem.lines().toList();
        String base64 = String.join("", lines.subList(1, lines.size() - 1));
        return lines.getFirst() + "\n" + base64.substring(0, base64.length() / 8 * 4) + "\n" + lines.getLast() + "\n";
    }
}
