package io.picotunnel.server.tls;

import io.netty.handler.ssl.SslContext;

import java.util.Optional;

/** The pending TLS-ALPN-01 challenges (RFC 8737): a challenge certificate per domain being validated. */
public interface TlsAlpnChallenges {

    TlsAlpnChallenges NONE = name -> Optional.empty();

    Optional<SslContext> challengeFor(String serverName);
}
