package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/** Loads a PEM certificate chain and its key into a {@link ServerCertificate}, checking that they belong together. */
public final class CertificateLoader {

    private CertificateLoader() {
    }

    public static ServerCertificate load(Path certificateFile, Path keyFile) throws IOException {
        List<X509Certificate> chain = PemFiles.readChain(certificateFile);
        PrivateKey key = PemFiles.readPrivateKey(keyFile);
        return of(chain, key, certificateFile.toString());
    }

    public static ServerCertificate of(List<X509Certificate> chain, PrivateKey key, String source) throws IOException {
        if (!PemFiles.keyMatches(key, chain.getFirst())) {
            throw new IOException(source + ": the private key does not belong to the certificate");
        }
        SslContext context = TlsContexts.forHttps(key, chain);
        return new ServerCertificate(chain, key, context, source);
    }
}
