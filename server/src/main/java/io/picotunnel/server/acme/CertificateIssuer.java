package io.picotunnel.server.acme;

import io.netty.handler.ssl.SslContext;
import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.ServerCertificate;
import io.picotunnel.server.tls.TlsContexts;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Certificate;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.challenge.TlsAlpn01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;

/** Runs one ACME order for one domain: authorize with the chosen challenge, finalize, download. */
final class CertificateIssuer {

    /** A certificate just issued: what is served, and the key and PEM chain to save. */
    record Issued(ServerCertificate certificate, KeyPair key, String chainPem) {
    }

    private static final Logger log = LoggerFactory.getLogger(CertificateIssuer.class);

    private final ChallengeResponses responses;
    private final Duration timeout;

    CertificateIssuer(ChallengeResponses responses, Duration timeout) {
        this.responses = responses;
        this.timeout = timeout;
    }

    Issued issue(Login login, String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        Order order = login.newOrder().domain(domain).create();
        for (Authorization authorization : order.getAuthorizations()) {
            if (authorization.getStatus() != Status.VALID) {
                authorize(authorization, domain, challengeType);
            }
        }
        Status ready = order.waitUntilReady(timeout);
        if (ready != Status.READY) {
            throw new AcmeException("order for " + domain + " is " + ready + " instead of ready"
                    + order.getError().map(p -> ": " + describe(p)).orElse(""));
        }
        KeyPair domainKey = EcKeys.newKeyPair();
        order.execute(domainKey);
        Status done = order.waitForCompletion(timeout);
        if (done != Status.VALID) {
            throw new AcmeException("order for " + domain + " ended " + done
                    + order.getError().map(p -> ": " + describe(p)).orElse(""));
        }
        Certificate certificate = order.getCertificate();
        StringWriter chainPem = new StringWriter();
        certificate.writeCertificate(chainPem);
        return new Issued(CertificateLoader.of(certificate.getCertificateChain(), domainKey.getPrivate(), "acme"),
                domainKey, chainPem.toString());
    }

    private void authorize(Authorization authorization, String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        Challenge challenge;
        Runnable cleanup;
        if (challengeType.equals(AcmeSettings.HTTP_01)) {
            Http01Challenge http = authorization.findChallenge(Http01Challenge.class)
                    .orElseThrow(() -> new AcmeException("the CA offers no http-01 challenge for " + domain));
            responses.putHttp01(http.getToken(), http.getAuthorization());
            cleanup = () -> responses.removeHttp01(http.getToken());
            challenge = http;
        } else {
            TlsAlpn01Challenge tls = authorization.findChallenge(TlsAlpn01Challenge.class)
                    .orElseThrow(() -> new AcmeException("the CA offers no tls-alpn-01 challenge for " + domain));
            // acme4j signs the challenge certificate with SHA256withRSA whatever the key, so it needs an RSA key
            KeyPair key = KeyPairUtils.createKeyPair(2048);
            X509Certificate challengeCertificate = tls.createCertificate(key, authorization.getIdentifier());
            SslContext context = TlsContexts.forAcmeChallenge(key.getPrivate(), challengeCertificate);
            responses.putTlsAlpn01(domain, context);
            cleanup = () -> responses.removeTlsAlpn01(domain);
            challenge = tls;
        }
        try {
            log.info("ACME: answering {} challenge for {}", challengeType, domain);
            challenge.trigger();
            Status status = challenge.waitForCompletion(timeout);
            if (status != Status.VALID) {
                throw new AcmeException(challengeType + " validation of " + domain + " failed"
                        + challenge.getError().map(p -> ": " + describe(p)).orElse(" (" + status + ")"));
            }
        } finally {
            cleanup.run();
        }
    }

    private static String describe(Problem problem) {
        return problem.getDetail().orElseGet(() -> problem.getTitle().orElse(problem.getType().toString()));
    }
}
