package io.picotunnel.server.acme;

import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

import javax.net.ssl.SSLContext;
import java.net.http.HttpClient;

/** A generic ACME provider whose connections trust a private CA (for example pebble's) instead of the JDK's roots. */
final class TrustingAcmeProvider extends GenericAcmeProvider {

    private final SSLContext sslContext;

    TrustingAcmeProvider(SSLContext sslContext) {
        this.sslContext = sslContext;
    }

    @Override
    protected HttpConnector createHttpConnector(NetworkSettings settings) {
        return new HttpConnector(settings) {
            @Override
            public HttpClient.Builder createClientBuilder() {
                return super.createClientBuilder().sslContext(sslContext);
            }
        };
    }
}
