package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.monitor.TrafficCounters;

/** What the HTTPS listener does with a connection, decided from its ClientHello. */
public sealed interface HttpsRoute {

    /** Terminate TLS with this certificate and hand the decrypted stream to the HTTP proxy. */
    record Terminate(String serverName, SslContext sslContext) implements HttpsRoute {
    }

    /** Answer a TLS-ALPN-01 validation with the challenge certificate, then close. */
    record AcmeChallenge(String serverName, SslContext sslContext) implements HttpsRoute {
    }

    /**
     * Forward the raw bytes, ClientHello included, to a service's target through its tunnel, if the service's
     * {@code access} (ip_allow, rate_limit) lets the visitor in; its connections and bytes count in {@code traffic}.
     */
    record Passthrough(String serverName, String tunnelId, String targetAddr, String serviceId, AccessPolicy access,
                       TrafficCounters traffic) implements HttpsRoute {

        public Passthrough(String serverName, String tunnelId, String targetAddr) {
            this(serverName, tunnelId, targetAddr, null, AccessPolicy.OPEN, TrafficCounters.NONE);
        }
    }

    /** Refuse the handshake; {@code reason} goes to the log. */
    record Reject(String serverName, String reason) implements HttpsRoute {
    }
}
