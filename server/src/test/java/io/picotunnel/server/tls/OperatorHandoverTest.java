package io.picotunnel.server.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** When an operator's certificate file leaves its name to ACME ({@link CertificateStore#selectFromFilesBeforeRenewal}). */
class OperatorHandoverTest {

    @TempDir
    Path data;

    private final TestCertificates certificates = new TestCertificates();

    private boolean keepsAcmeAway(Duration age, Duration left) throws IOException {
        Instant now = Instant.now();
        TestCertificates.Issued issued = certificates.issueValid(now.minus(age), now.plus(left), "app.test");
        TestCertificates.write(issued, data, "app.test");
        CertificateStore store = new CertificateStore();
        store.putFromFile("app.test", CertificateLoader.load(data.resolve("app.test.crt"), data.resolve("app.test.key")));
        return store.selectFromFilesBeforeRenewal("app.test").isPresent();
    }

    @Test
    void aNinetyDayCertificateIsLeftToAcmeInItsLastThirty() throws IOException {
        assertThat(keepsAcmeAway(Duration.ofDays(55), Duration.ofDays(35))).isTrue();
        assertThat(keepsAcmeAway(Duration.ofDays(65), Duration.ofDays(25))).isFalse();
    }

    @Test
    void aOneYearCertificateIsLeftToAcmeOnlyInItsLastThirtyDaysNotItsLastFourMonths() throws IOException {
        // Two thirds of a year gone, 110 days left: an operator who renews a month ahead still means to serve it.
        assertThat(keepsAcmeAway(Duration.ofDays(255), Duration.ofDays(110))).isTrue();
        assertThat(keepsAcmeAway(Duration.ofDays(340), Duration.ofDays(25))).isFalse();
    }

    @Test
    void aShortLivedCertificateIsLeftToAcmeAtTwoThirdsOfItsLifetime() throws IOException {
        assertThat(keepsAcmeAway(Duration.ofDays(4), Duration.ofDays(3))).isTrue();
        assertThat(keepsAcmeAway(Duration.ofDays(5), Duration.ofDays(2))).isFalse();
    }
}
