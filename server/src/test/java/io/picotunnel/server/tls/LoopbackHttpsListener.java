package io.picotunnel.server.tls;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An HTTPS listener on a loopback port with its own event loop, serving the certificates written to a directory
 * under the test's data; it passes nothing through (a passthrough route is closed).
 */
final class LoopbackHttpsListener implements AutoCloseable {

    private final EventLoopGroup group;
    private final CertificateDirectory directory;
    private final HttpsListener listener;

    /** Started, with {@code http} behind the TLS handshake and its event loop's thread named after {@code name}. */
    LoopbackHttpsListener(Path data, String name, HttpPipelines http) throws IOException {
        group = Transport.newEventLoopGroup(1, name);
        CertificateStore store = new CertificateStore();
        directory = new CertificateDirectory(data.resolve("certs"), store);
        HttpsRouter router = new HttpsRouter(store, new PassthroughRoutes(), TlsAlpnChallenges.NONE, null);
        listener = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group, router,
                http, (ctx, route) -> ctx.close());
        try {
            listener.start();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    int port() {
        return listener.port();
    }

    /** Where the listener's certificates come from: write to it, then scan it or have it watched. */
    CertificateDirectory certificates() {
        return directory;
    }

    /** Serves {@code issued} for {@code name} from now on. */
    void serve(TestCertificates.Issued issued, String name) {
        TestCertificates.write(issued, directory.directory(), name);
        directory.scan();
    }

    @Override
    public void close() {
        listener.close();
        directory.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
