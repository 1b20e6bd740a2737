package io.picotunnel.server.tls;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class HttpsListenerTest {

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private LoopbackHttpsListener listener;
    private CertificateDirectory directory;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        listener = new LoopbackHttpsListener(data, "https-test", new TestHttpBackend());
        directory = listener.certificates();
        client = HttpClient.newBuilder().sslContext(ca.clientContext()).connectTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        listener.close();
    }

    @Test
    void terminatesTlsWithTheCertificateChosenBySni() throws Exception {
        TestCertificates.Issued alpha = ca.issue("alpha.test");
        TestCertificates.Issued beta = ca.issue("beta.test");
        TestCertificates.write(alpha, directory.directory(), "alpha.test");
        TestCertificates.write(beta, directory.directory(), "beta.test");
        directory.scan();

        HttpResponse<String> toAlpha = get("alpha.test", HttpClient.Version.HTTP_1_1);
        HttpResponse<String> toBeta = get("beta.test", HttpClient.Version.HTTP_1_1);

        assertThat(toAlpha.body()).isEqualTo("http/1.1 https=true alpha.test:" + listener.port());
        assertThat(servedSerial(toAlpha)).isEqualTo(alpha.serial());
        assertThat(toBeta.body()).isEqualTo("http/1.1 https=true beta.test:" + listener.port());
        assertThat(servedSerial(toBeta)).isEqualTo(beta.serial());
    }

    @Test
    void http2ClientGetsH2ThroughAlpn() throws Exception {
        TestCertificates.write(ca.issue("alpha.test"), directory.directory(), "alpha.test");
        directory.scan();

        HttpResponse<String> response = get("alpha.test", HttpClient.Version.HTTP_2);

        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.body()).startsWith("h2 ");
    }

    @Test
    void exactCertificateBeatsWildcardAndWildcardCoversOneLabel() throws Exception {
        TestCertificates.Issued wildcard = ca.issue("*.wild.test");
        TestCertificates.Issued exact = ca.issue("exact.wild.test");
        TestCertificates.write(wildcard, directory.directory(), "_.wild.test");
        TestCertificates.write(exact, directory.directory(), "exact.wild.test");
        directory.scan();

        assertThat(servedSerial(get("exact.wild.test", HttpClient.Version.HTTP_1_1))).isEqualTo(exact.serial());
        assertThat(servedSerial(get("other.wild.test", HttpClient.Version.HTTP_1_1))).isEqualTo(wildcard.serial());
        assertThatThrownBy(() -> handshake("deep.other.wild.test"))
                .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("unrecognized_name");
    }

    @Test
    void unknownServerNameFailsHandshakeWithUnrecognizedName() {
        TestCertificates.write(ca.issue("alpha.test"), directory.directory(), "alpha.test");
        directory.scan();

        assertThatThrownBy(() -> handshake("stranger.test"))
                .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("unrecognized_name");
    }

    @Test
    void replacedCertificateFileIsUsedForNewHandshakesWithoutRestart() throws Exception {
        TestCertificates.Issued first = ca.issue("alpha.test");
        TestCertificates.write(first, directory.directory(), "alpha.test");
        directory.startWatching(Duration.ofMillis(100));
        assertThat(servedSerial(get("alpha.test", HttpClient.Version.HTTP_1_1))).isEqualTo(first.serial());

        TestCertificates.Issued second = ca.issue("alpha.test");
        TestCertificates.write(second, directory.directory(), "alpha.test");

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(handshake("alpha.test").getSerialNumber()).isEqualTo(second.serial()));
    }

    @Test
    void newCertificateFileIsPickedUpWithoutRestart() throws Exception {
        directory.startWatching(Duration.ofMillis(100));
        assertThatThrownBy(() -> handshake("late.test")).hasMessageContaining("unrecognized_name");

        TestCertificates.Issued late = ca.issue("late.test");
        TestCertificates.write(late, directory.directory(), "late.test");

        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() ->
                assertThat(handshake("late.test").getSerialNumber()).isEqualTo(late.serial()));
    }

    @Test
    void plainHttpOnTheHttpsPortGetsAnAlertAndIsClosed() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] alert = in.readNBytes(7);
            assertThat(alert).containsExactly(21, 3, 3, 0, 2, 2, 112);
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    private HttpResponse<String> get(String host, HttpClient.Version version) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://" + host + ":" + listener.port() + "/"))
                .version(version).timeout(Duration.ofSeconds(10)).build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static BigInteger servedSerial(HttpResponse<?> response) throws Exception {
        return ((X509Certificate) response.sslSession().orElseThrow().getPeerCertificates()[0]).getSerialNumber();
    }

    /** A bare TLS handshake with SNI {@code name}; returns the served leaf certificate. */
    private X509Certificate handshake(String name) throws Exception {
        return SniSockets.servedLeaf(ca.clientContext(), listener.port(), name);
    }
}
