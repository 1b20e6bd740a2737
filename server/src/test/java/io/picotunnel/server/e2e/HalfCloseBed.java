package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tls.TestCertificates;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real server with a certificate for {@code host}, one tunnel with our client connected and an HTTP service of
 * {@code host} to a socket target: visitors reach it with raw sockets on the plain and the TLS listener, and end
 * their side as they please. Closing it stops the server (the target is the test's).
 */
final class HalfCloseBed implements AutoCloseable {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final String host;
    private final TestCertificates ca = new TestCertificates();
    private final Testbed testbed;
    private final String tunnelId;

    HalfCloseBed(Path dataDir, String host, String tunnelName, int targetPort) throws IOException {
        this(dataDir, host, tunnelName, targetPort, Map.of());
    }

    /** As above, the server started with {@code settings} on top of the defaults. */
    HalfCloseBed(Path dataDir, String host, String tunnelName, int targetPort, Map<Setting, String> settings)
            throws IOException {
        this.host = host;
        TestCertificates.write(ca.issue(host), dataDir.resolve("data/certs"), host);
        testbed = new Testbed(dataDir.resolve("data"), settings);
        JsonNode tunnel = testbed.createTunnel(tunnelName);
        tunnelId = tunnel.get("id").asText();
        testbed.connect(tunnelId, tunnel.get("token").asText());
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + host + "\",\"path_prefix\":\"/\","
                + "\"target_addr\":\"127.0.0.1:" + targetPort + "\"}");
    }

    /** A visitor's socket to the plain HTTP listener, reads timing out after 30 s. */
    Socket connect() throws IOException {
        return FaultTarget.connect(testbed.server().httpPort(), READ_TIMEOUT);
    }

    /** A visitor's socket to the TLS listener, not yet TLS ({@link #tls}), reads timing out after 30 s. */
    Socket connectHttps() throws IOException {
        return FaultTarget.connect(testbed.server().httpsPort(), READ_TIMEOUT);
    }

    /** TLS 1.3 over {@code tcp}, SNI and ALPN http/1.1, handshake done; closing it leaves {@code tcp} open. */
    SSLSocket tls(Socket tcp) throws IOException {
        SSLSocket tls = (SSLSocket) ca.clientContext().getSocketFactory().createSocket(tcp, host, tcp.getPort(), false);
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(host)));
        parameters.setProtocols(new String[] {"TLSv1.3"});
        parameters.setApplicationProtocols(new String[] {"http/1.1"});
        tls.setSSLParameters(parameters);
        tls.startHandshake();
        return tls;
    }

    /** An HTTP/2 visitor written by hand, on the TLS listener with SNI {@code host}. */
    RawHttp2Visitor connectHttp2() throws IOException {
        return RawHttp2Visitor.connect(testbed.server().httpsPort(), host, ca.clientContext());
    }

    /** An http service of {@code domain} passing TLS through to {@code targetPort} over the same tunnel. */
    void createPassthroughService(String domain, int targetPort) {
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"tls_mode\":\"passthrough\","
                + "\"target_addr\":\"127.0.0.1:" + targetPort + "\"}");
    }

    /** The streams open on the tunnel's sessions at the server. */
    int openStreams() {
        return testbed.server().registry().connections(tunnelId).stream()
                .mapToInt(connection -> connection.session().activeStreams()).sum();
    }

    /** The tunnel's requests in flight at the proxy. */
    int openTunnelRequests() {
        return testbed.server().openTunnelRequests(tunnelId);
    }

    @Override
    public void close() {
        testbed.close();
    }
}
