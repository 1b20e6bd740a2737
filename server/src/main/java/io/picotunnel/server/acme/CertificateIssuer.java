package io.picotunnel.server.acme;

import io.netty.handler.ssl.SslContext;
import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.ServerCertificate;
import io.picotunnel.server.tls.TlsContexts;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Certificate;
import org.shredzone.acme4j.Identifier;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.challenge.TlsAlpn01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.exception.AcmeUserActionRequiredException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Runs one ACME order for one domain: authorize with the chosen challenge, finalize, download. An order is noted on
 * disk before it is finalized ({@link AcmeFiles#storeOrder}), and an order so noted is taken up instead of placing
 * another: a stop or a crash between finalization and the certificate's save cost a certificate of the CA's weekly
 * limit for the same names at every restart.
 */
final class CertificateIssuer {

    /**
     * A certificate just issued: what is served, and the key and PEM chain to save. {@code orderNoted}: its order is
     * noted on disk, so that a restart before the certificate is saved downloads it again instead of ordering another.
     */
    record Issued(ServerCertificate certificate, KeyPair key, String chainPem, boolean orderNoted) {
    }

    private static final Logger log = LoggerFactory.getLogger(CertificateIssuer.class);
    /** The states of an order that can still end with its certificate. */
    private static final Set<Status> LIVE = EnumSet.of(Status.PENDING, Status.READY, Status.PROCESSING, Status.VALID);

    private final ChallengeResponses responses;
    private final Duration timeout;
    private final AcmeFiles files;
    /** Whether the order under way is past validation; set on the order's thread, read by close(). */
    private volatile boolean finishing;

    CertificateIssuer(ChallengeResponses responses, Duration timeout, AcmeFiles files) {
        this.responses = responses;
        this.timeout = timeout;
        this.files = files;
    }

    Issued issue(Login login, String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        try {
            Optional<Issued> takenUp = takeUp(login, domain, challengeType);
            if (takenUp.isPresent()) {
                return takenUp.get();
            }
            return complete(login.newOrder().domain(domain).create(), null, domain, challengeType);
        } finally {
            finishing = false;
        }
    }

    /**
     * Whether an order past validation is under way (finalized, processed, downloaded): a stop gives it a moment to
     * end, as its certificate is issued or about to be.
     */
    boolean finishing() {
        return finishing;
    }

    /**
     * Completes the order noted for {@code domain} and left unfinished (by a stop, a crash, a deadline), if the CA still
     * has it and it can end with a certificate; else discards the note (saying why) and returns empty, for a new order.
     */
    private Optional<Issued> takeUp(Login login, String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        PendingOrder pending;
        try {
            pending = files.loadOrder(domain).orElse(null);
        } catch (IOException e) {
            log.warn("ACME: cannot take up the order noted for {}, so a new one is placed: {}", domain,
                    e.getMessage());
            discard(domain);
            return Optional.empty();
        }
        if (pending == null) {
            return Optional.empty();
        }
        // noted only once ready
        finishing = true;
        Order order = login.bindOrder(pending.location());
        try {
            order.fetch();
        } catch (AcmeException e) {
            if (!refusal(e)) {
                throw e;
            }
            return dead(domain, pending, "the CA answered " + describe(e));
        }
        if (!order.getIdentifiers().equals(List.of(Identifier.dns(domain)))) {
            return dead(domain, pending, "it is for " + order.getIdentifiers());
        }
        Status status = order.getStatus();
        if (!LIVE.contains(status)) {
            return dead(domain, pending, "it is " + status.name().toLowerCase(Locale.ROOT)
                    + order.getError().map(p -> ": " + describe(p)).orElse(""));
        }
        log.info("ACME: taking up the order for {} left unfinished ({}, {} now), instead of placing another", domain,
                pending.location(), status.name().toLowerCase(Locale.ROOT));
        try {
            return Optional.of(complete(order, pending.key(), domain, challengeType));
        } catch (AcmeException e) {
            if (refusal(e)) {
                // else every later attempt would take it up again and meet the same refusal
                log.info("ACME: the order noted for {} is discarded, as the CA refused it", domain);
                discard(domain);
            }
            throw e;
        }
    }

    private Optional<Issued> dead(String domain, PendingOrder pending, String why) {
        log.info("ACME: the order noted for {} ({}) cannot be completed, so a new one is placed: {}", domain,
                pending.location(), why);
        finishing = false;
        discard(domain);
        return Optional.empty();
    }

    /**
     * Whether the CA refused the order itself (unknown, not the account's, malformed), not for a passing state of its
     * own (a rate limit, an internal error, terms of service to agree to) nor for a network error.
     */
    private static boolean refusal(AcmeException e) {
        if (e instanceof AcmeServerException server) {
            return !(e instanceof AcmeRateLimitedException) && !(e instanceof AcmeUserActionRequiredException)
                    && !server.getType().toString().endsWith(":serverInternal");
        }
        // what acme4j says of an answer with no problem document (pebble's 404 for an order it does not know)
        return e.getClass() == AcmeException.class
                && ("HTTP 404".equals(e.getMessage()) || "HTTP 410".equals(e.getMessage()));
    }

    private static String describe(AcmeException e) {
        return e instanceof AcmeServerException server ? describe(server.getProblem()) : e.getMessage();
    }

    /**
     * Brings {@code order} from where it is to its certificate: authorizes it when pending, finalizes it when ready
     * (with {@code key}, or a new key noted with the order before), waits while it is processed, downloads it.
     */
    private Issued complete(Order order, KeyPair key, String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        Status status = order.getStatus();
        if (status == Status.PENDING) {
            finishing = false;
            for (Authorization authorization : order.getAuthorizations()) {
                if (authorization.getStatus() != Status.VALID) {
                    authorize(authorization, domain, challengeType);
                }
            }
            status = order.waitUntilReady(timeout);
            if (status != Status.READY) {
                throw new AcmeException("order for " + domain + " is " + status + " instead of ready"
                        + order.getError().map(p -> ": " + describe(p)).orElse(""));
            }
        }
        finishing = true;
        boolean noted = key != null;
        if (status == Status.READY) {
            if (key == null) {
                key = EcKeys.newKeyPair();
                noted = note(domain, new PendingOrder(order.getLocation(), key));
            }
            order.execute(key);
        }
        if (status != Status.VALID) {
            status = order.waitForCompletion(timeout);
        }
        if (status != Status.VALID) {
            discard(domain);
            throw new AcmeException("order for " + domain + " ended " + status
                    + order.getError().map(p -> ": " + describe(p)).orElse(""));
        }
        Certificate certificate = order.getCertificate();
        List<X509Certificate> chain = certificate.getCertificateChain();
        if (!PemFiles.keyMatches(key.getPrivate(), chain.getFirst())) {
            discard(domain);
            throw new AcmeException("the certificate of the order for " + domain + " at " + order.getLocation()
                    + " is not for the key noted with it in " + files.orderFile(domain)
                    + "; the note is deleted and the next attempt places a new order");
        }
        StringWriter chainPem = new StringWriter();
        certificate.writeCertificate(chainPem);
        return new Issued(CertificateLoader.of(chain, key.getPrivate(), "acme"), key, chainPem.toString(), noted);
    }

    /** Notes the order before it is finalized; when it cannot be, the order goes on (as it did before notes). */
    private boolean note(String domain, PendingOrder order) {
        try {
            files.storeOrder(domain, order);
            return true;
        } catch (IOException e) {
            log.warn("ACME: cannot note the order for {} in {}, so a stop before its certificate is saved places a"
                    + " new order: {}", domain, files.directory(), e.getMessage());
            return false;
        }
    }

    private void discard(String domain) {
        try {
            files.deleteOrder(domain);
        } catch (IOException e) {
            log.warn("ACME: cannot delete {}: {}", files.orderFile(domain), e.getMessage());
        }
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
