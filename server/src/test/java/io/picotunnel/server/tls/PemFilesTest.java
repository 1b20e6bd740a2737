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
}
