package io.picotunnel.server.tls;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * TLS client sockets to our listeners on loopback as a browser opens them: the name asked for by SNI, the served
 * certificate checked against the context's trust and that name.
 */
public final class SniSockets {

    private SniSockets() {
    }

    /** A socket to {@code port} on loopback that asks for {@code serverName}, not handshaken yet; reads time out. */
    public static SSLSocket connect(SSLContext context, int port, String serverName) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(serverName)));
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        return socket;
    }

    /** The leaf certificate served for {@code serverName} on {@code port}, after a handshake that verified it. */
    public static X509Certificate servedLeaf(SSLContext context, int port, String serverName) throws IOException {
        try (SSLSocket socket = connect(context, port, serverName)) {
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }
}
