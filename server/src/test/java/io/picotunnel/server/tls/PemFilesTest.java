package io.picotunnel.server.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PemFilesTest {

    @TempDir
    Path dir;

    @Test
    void aKeyFileThatHoldsNoUsableKeyIsAnIOExceptionNamingItAndSayingWhy() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        int i = 0;
        for (Map.Entry<String, String> broken : BrokenKeys.of(issued).entrySet()) {
            Path file = dir.resolve("key" + i++ + ".pem");
            Files.writeString(file, broken.getValue());

            assertThatThrownBy(() -> PemFiles.readPrivateKey(file)).as(broken.getKey())
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith(file.toString())
                    .hasMessageNotContaining("Exception")
                    .hasMessageContaining(broken.getKey().contains("encrypted") ? "encrypted with a passphrase"
                            : broken.getKey().startsWith("certificate") ? "holds a certificate, not a private key"
                            : "not a readable PEM private key, damaged or cut short");
        }
    }

    @Test
    void aCertificateFileThatHoldsNoUsableCertificateIsAnIOExceptionNamingIt() throws IOException {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        String pem = TestCertificates.pem(issued.chain().getFirst());
        String body = pem.substring(pem.indexOf('\n') + 1, pem.indexOf("-----END"));
        Map<String, String> broken = Map.of(
                "cut short", "-----BEGIN CERTIFICATE-----\n" + body.substring(0, body.length() / 2).strip()
                        + "\n-----END CERTIFICATE-----\n",
                "not base64", "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
                "base64 of no certificate", "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
                "no end marker", "-----BEGIN CERTIFICATE-----\n" + body);
        int i = 0;
        for (Map.Entry<String, String> each : broken.entrySet()) {
            Path file = dir.resolve("chain" + i++ + ".crt");
            Files.writeString(file, each.getValue());

            assertThatThrownBy(() -> PemFiles.readChain(file)).as(each.getKey())
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith(file.toString())
                    .hasMessageNotContaining("Exception");
        }
    }

    /**
     * A DER certificate (a .cer from Windows or a CA's download page) is said to be binary, with the command that
     * converts it: "not a readable PEM file: Input length = 1" named neither.
     */
    @Test
    void aDerCertificateIsSaidToBeBinaryWithTheCommandThatConvertsIt() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        Path file = dir.resolve("tunnel.cer");
        Files.write(file, issued.chain().getFirst().getEncoded());

        assertThatThrownBy(() -> PemFiles.readChain(file))
                .isExactlyInstanceOf(IOException.class)
                .hasMessage(file + ": not a PEM file (not text: a DER certificate is converted with openssl x509"
                        + " -inform DER -in " + file + " -out NEW.crt)");
    }
}
