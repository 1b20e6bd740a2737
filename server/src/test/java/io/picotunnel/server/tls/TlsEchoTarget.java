package io.picotunnel.server.tls;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;

/** A TLS server with its own certificate that answers each line of a connection with "target heard: <line>". */
final class TlsEchoTarget implements AutoCloseable {

    private final SSLServerSocket server;
    private final Thread thread;
    private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

    TlsEchoTarget(TestCertificates.Issued issued) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("target", issued.keyPair().getPrivate(), new char[0],
                issued.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 10, InetAddress.getLoopbackAddress());
        thread = Thread.ofPlatform().daemon().name("tls-target").start(this::serve);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Connections that reached this target. */
    int acceptedConnections() {
        return accepted.get();
    }

    private void serve() {
        while (!server.isClosed()) {
            try (Socket socket = server.accept()) {
                accepted.incrementAndGet();
                socket.setSoTimeout(10_000);
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
                String line;
                while ((line = in.readLine()) != null) {
                    out.println("target heard: " + line);
                }
            } catch (IOException e) {
                // closed by the test, or a client that went away
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            thread.join(5_000);
        } catch (IOException e) {
            // closing anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
