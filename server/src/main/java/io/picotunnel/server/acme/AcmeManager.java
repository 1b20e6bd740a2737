package io.picotunnel.server.acme;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.files.DurableFileWrites;
import io.picotunnel.server.store.FileErrors;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tls.CertificateStore;
import io.picotunnel.server.tls.CertificateStatus;
import io.picotunnel.server.tls.DomainNames;
import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.ServerCertificate;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Obtains and renews certificates by ACME for the server's domain and for every enabled {@code http}
 * service with {@code tls_mode: terminate}, and for nothing else (never for a name a stranger sends).
 * All ACME work runs on one thread of its own, never on an event loop (each order on a thread of its own under a
 * deadline, so that a stalled CA cannot hold the others up): a check runs when a service changes
 * and every {@code checkInterval}, issues what is missing, renews what has passed two thirds of its
 * lifetime, and retries failures after a doubling delay. The delay is kept on disk, so restarting the server does
 * not order again before it is over (a crash loop would use up the CA's limit of failed validations); changing
 * the service through the API ends it at once, as the operator does after mending DNS. A domain covered by an
 * operator's valid certificate file is left alone until two thirds of the file's lifetime have passed.
 */
public final class AcmeManager implements ServiceListener, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AcmeManager.class);
    /** The longest a CA's Retry-After is waited for: Let's Encrypt's longest rate limit window is a week. */
    static final Duration MAX_CA_RETRY_AFTER = Duration.ofDays(7);
    /**
     * How long a stop waits for an order past validation to end and its certificate to be saved (finalization and
     * download take a second or so); after that the order is given up, and taken up again at the next start.
     */
    static final Duration FINISH_GRACE = Duration.ofSeconds(5);

    static {
        // acme4j builds CSRs and challenge certificates with BouncyCastle and asks for its provider by name
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }

    /** What ACME knows of one domain; read by API threads, written by the ACME thread. */
    private static final class DomainState {
        volatile String status = CertificateStatus.PENDING;
        volatile String error;
        volatile int failures;
        volatile Instant retryAt = Instant.MIN;
        volatile boolean loadedFromDisk;
        volatile int attempts;
        /** Counts the service updates that ended the retry delay; guarded by the state's lock. */
        int retryRequests;
        /** A certificate issued and served whose files could not be written yet; ACME thread only. */
        CertificateIssuer.Issued unsaved;
    }

    private final AcmeSettings settings;
    private final CertificateStore store;
    private final String serverDomain;
    private final Clock clock;
    private final ChallengeResponses responses = new ChallengeResponses();
    private final AcmeFiles files;
    private final CertificateIssuer issuer;
    private final Map<String, String> serviceDomains = new ConcurrentHashMap<>();
    private final Map<String, DomainState> states = new ConcurrentHashMap<>();
    /** Held while the wanted domains change and while the check drops the states of those no longer wanted. */
    private final Object wantedLock = new Object();
    private final ScheduledExecutorService executor;
    /** The threads of orders, given up on or not, that have not ended: {@link #close} waits a while for them. */
    private final Set<Thread> orderThreads = ConcurrentHashMap.newKeySet();
    private volatile long checks;
    private volatile CertificateOutcomes outcomes = CertificateOutcomes.NONE;
    /** Made on an order's thread, dropped on the ACME thread after a failure. */
    private volatile Login login;

    /**
     * @param certsDirectory {@code <data>/certs}; ACME keeps its files in its {@code acme} subdirectory
     * @param serverDomain   PICOTUNNEL_DOMAIN, or null
     */
    public AcmeManager(AcmeSettings settings, Path certsDirectory, CertificateStore store, String serverDomain,
                       Clock clock) {
        this.settings = settings;
        this.store = store;
        this.serverDomain = DomainNames.normalize(serverDomain);
        this.clock = clock;
        this.files = new AcmeFiles(certsDirectory.resolve("acme"), settings.directoryUri().toString());
        this.issuer = new CertificateIssuer(responses, settings.timeout(), files);
        this.executor = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("picotunnel-acme").factory());
    }

    /** Tells {@code listener} of every certificate obtained or renewed, and of every failure. */
    public void onOutcome(CertificateOutcomes listener) {
        this.outcomes = listener;
    }

    /** The pending challenge answers, for the HTTP listener (HTTP-01) and the HTTPS listener (TLS-ALPN-01). */
    public ChallengeResponses challenges() {
        return responses;
    }

    /** Starts the periodic check (the first one at once). */
    public void start() {
        if (serverDomain != null) {
            loadStored(serverDomain);
        }
        long interval = settings.checkInterval().toMillis();
        executor.scheduleWithFixedDelay(this::checkSafely, 0, interval, TimeUnit.MILLISECONDS);
        log.info("ACME enabled with directory {}", settings.directoryUri());
    }

    /**
     * Nothing is refused here, so a change waits until it is stored: a delete or disable whose commit fails would
     * otherwise let a check in between stop serving the domain's certificate and drop its retry delay and noted order.
     */
    @Override
    public Staged stage(Service before, Service after) {
        return Staged.onceStored(() -> onServiceChange(before, after));
    }

    @Override
    public void onServiceChange(Service before, Service after) {
        synchronized (wantedLock) {
            if (wantsCertificate(after)) {
                String domain = DomainNames.normalize(after.domain());
                if (before != null) {
                    retryNow(domain);
                }
                // replaced, never removed and put back: a check in between would drop the domain's certificate
                serviceDomains.put(after.id(), domain);
                // here rather than on the ACME thread, which may be busy with another domain's order for minutes
                loadStored(domain);
            } else {
                serviceDomains.remove(after != null ? after.id() : before.id());
            }
        }
        runOnAcmeThread(this::checkSafely);
    }

    /**
     * Called once every stored service has been told of at start-up: deletes the temporary files
     * ({@code .tmp<digits>.tmp}, a key among them) a crash left in ACME's directory during a write, before their
     * renames, and what ACME keeps of domains no longer wanted, whose services were deleted or disabled (maybe while the
     * server was down): their {@code .failure} and {@code .order} files, their certificates once expired (a valid
     * one stays, so that a service that comes back needs no new order), and what a first save cut short left of a
     * certificate with no chain in place ({@link AcmeFiles#certificateStemsWithoutChain}). What cannot be deleted is a
     * WARN, and the rest is deleted still.
     */
    public void servicesLoaded() {
        runOnAcmeThread(this::deleteLeftoversOfUnwantedDomains);
    }

    /**
     * Queues {@code task} for the ACME thread, or drops it once close() has stopped that thread. A check of
     * isShutdown() before execute() left a moment for close() in between, and then the API thread that changed a
     * service got a RejectedExecutionException, which the store takes for a refusal of the change.
     */
    private void runOnAcmeThread(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: the next start checks every service
        }
    }

    /**
     * Each step on its own: a temporary file that cannot be deleted, a listing that fails or a file of one domain
     * that stays is a WARN saying which and why, and the rest is done still.
     */
    private void deleteLeftoversOfUnwantedDomains() {
        synchronized (wantedLock) {
            Set<String> wanted = wanted();
            deleteLeftTemporaryFiles();
            for (String domain : unwanted(files::failureDomains, "retry delays (.failure)", wanted)) {
                log.info("ACME: deleting the retry delay of {}, which no service needs a certificate for", domain);
                deleteFailure(domain);
            }
            for (String domain : unwanted(files::certificateDomains, "certificates (.crt)", wanted)) {
                deleteIfExpired(domain);
            }
            for (String domain : unwanted(files::orderDomains, "order notes (.order)", wanted)) {
                log.info("ACME: deleting the order noted for {}, which no service needs a certificate for", domain);
                deleteOrder(domain);
            }
            // a wanted domain's are its load's to complete or undo
            Set<String> wantedStems = Set.copyOf(wanted.stream().map(AcmeFiles::stem).toList());
            for (String stem : unwanted(files::certificateStemsWithoutChain,
                    "files of saves cut short (.next, .directory)", wantedStems)) {
                deleteCutShortSave(stem);
            }
        }
    }

    private void deleteLeftTemporaryFiles() {
        DurableFileWrites.LeftTemporaryFiles left = files.deleteLeftTemporaryFiles();
        if (left.deleted() > 0) {
            log.info("ACME: deleted {} temporary files left in {} by writes a crash cut short", left.deleted(),
                    files.directory());
        }
        if (left.failed() > 0) {
            log.warn("ACME: cannot delete the temporary files left in {} by writes a crash cut short ({}); a key may"
                    + " be among them: delete them ({}) by hand, the next start tries again", files.directory(),
                    FileErrors.describe(left.firstFailures(), left.failed()),
                    files.directory().resolve(".tmp<digits>.tmp"));
        }
    }

    /** {@link AcmeFiles#failureDomains}' signature, and its kin's. */
    private interface DomainListing {
        List<String> domains() throws IOException;
    }

    /** The domains {@code listing} finds that are not {@code wanted}; none, with a WARN, when it cannot list them. */
    private List<String> unwanted(DomainListing listing, String what, Set<String> wanted) {
        try {
            return listing.domains().stream().filter(domain -> !wanted.contains(domain)).toList();
        } catch (IOException e) {
            log.warn("ACME: cannot list the {} in {}, so those of domains no service needs stay until a start that"
                    + " can: {}", what, files.directory(), FileErrors.describe(e));
            return List.of();
        }
    }

    private void deleteIfExpired(String domain) {
        Instant notAfter;
        try {
            notAfter = files.certificateNotAfter(domain);
        } catch (IOException e) {
            // not ours to judge: an operator's copy, say; it stays, as it would while the domain is wanted
            log.warn("ACME: cannot read the certificate of {}, which no service needs: {}", domain, e.getMessage());
            return;
        }
        if (!notAfter.isBefore(clock.instant())) {
            return;
        }
        log.info("ACME: deleting the certificate of {}, which expired at {} and no service needs", domain, notAfter);
        try {
            files.deleteCertificate(domain);
        } catch (IOException e) {
            log.warn("ACME: cannot delete the certificate of {}, which expired at {} and no service needs ({}); the"
                    + " next start tries again", domain, notAfter, FileErrors.describe(e));
        }
    }

    /**
     * A save cut short before the chain's move, of a certificate that had none in place: no chain lists it as a
     * certificate ({@link #deleteIfExpired}), and the key in place or beside stayed for good.
     */
    private void deleteCutShortSave(String stem) {
        log.info("ACME: deleting the files of a certificate that a save cut short left with no chain ({}), which no"
                + " service needs", files.directory().resolve(stem + ".*"));
        try {
            files.deleteCertificateOfStem(stem);
        } catch (IOException e) {
            log.warn("ACME: cannot delete the files of a certificate that a save cut short left with no chain ({}),"
                    + " which no service needs ({}); the next start tries again", files.directory().resolve(stem
                    + ".*"), FileErrors.describe(e));
        }
    }

    /** The certificate state of one domain that ACME looks after, or empty when it does not. */
    public Optional<CertificateStatus> status(String domain) {
        String name = DomainNames.normalize(domain);
        if (name == null || !wanted().contains(name) || store.selectFromFilesBeforeRenewal(name).isPresent()) {
            return Optional.empty();
        }
        DomainState state = states.get(name);
        if (state == null) {
            return Optional.of(new CertificateStatus(CertificateStatus.PENDING, null, null));
        }
        Instant expires = store.fromAcme(name).map(ServerCertificate::notAfter).orElse(null);
        return Optional.of(new CertificateStatus(state.status, expires, state.error));
    }

    /**
     * Ends the retry delay of {@code domain}: the operator changed its service (PATCH), maybe after mending what made
     * the orders fail, and expects the next check to order.
     */
    private void retryNow(String domain) {
        DomainState state = states.get(domain);
        if (state == null) {
            deleteFailure(domain);
            return;
        }
        synchronized (state) {
            // an order on its way now may fail from what the operator has just mended: its failure sets no delay
            state.retryRequests++;
            if (state.failures > 0) {
                log.info("ACME: the service of {} was updated, so its certificate is ordered at once instead of at {}",
                        domain, state.retryAt);
                state.failures = 0;
                state.retryAt = Instant.MIN;
                state.error = null;
                state.status = store.fromAcme(domain).filter(c -> !c.isExpiredAt(clock.instant())).isPresent()
                        ? CertificateStatus.VALID : CertificateStatus.PENDING;
            }
            deleteFailure(domain);
        }
    }

    /** How many checks have run (for tests that wait for the periodic check). */
    long checks() {
        return checks;
    }

    /** How many orders were attempted for {@code domain} (for tests of the retry delay). */
    int attempts(String domain) {
        DomainState state = states.get(DomainNames.normalize(domain));
        return state == null ? 0 : state.attempts;
    }

    /** Whether an order past validation is under way (for tests of close()). */
    boolean finishingAnOrder() {
        return issuer.finishing();
    }

    @Override
    public void close() {
        // the check under way starts no further order (it stops at the next domain)
        executor.shutdown();
        try {
            if (issuer.finishing()) {
                log.info("ACME: waiting up to {} for the order under way, past validation, to end and its certificate"
                        + " to be saved", Durations.format(FINISH_GRACE));
                executor.awaitTermination(FINISH_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
            executor.shutdownNow();
            executor.awaitTermination(10, TimeUnit.SECONDS);
            // an order's thread, interrupted, still finishes the file it writes (the account key): not after close()
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (Thread thread : orderThreads) {
                long left = end - System.nanoTime();
                if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static boolean wantsCertificate(Service service) {
        return service != null && service.enabled() && service.type() == ServiceType.HTTP
                && service.tlsMode() == TlsMode.TERMINATE && service.domain() != null;
    }

    private Set<String> wanted() {
        Set<String> domains = new TreeSet<>(serviceDomains.values());
        if (serverDomain != null) {
            domains.add(serverDomain);
        }
        return domains;
    }

    private void checkSafely() {
        try {
            check();
        } catch (RuntimeException e) {
            log.error("ACME check failed", e);
        }
    }

    /** One pass over the wanted domains; runs on the ACME thread only. */
    private void check() {
        checks++;
        Set<String> wanted;
        synchronized (wantedLock) {
            wanted = wanted();
            for (String domain : Set.copyOf(states.keySet())) {
                if (!wanted.contains(domain)) {
                    states.remove(domain);
                    store.removeFromAcme(domain);
                    deleteFailure(domain);
                    // as at start: else the certificate key in it stayed on disk until the next start
                    if (deleteOrder(domain)) {
                        log.info("ACME: deleted the order noted for {}, which no service needs a certificate for now",
                                domain);
                    }
                }
            }
        }
        for (String domain : wanted) {
            // shut down too: an outcome listener may have caught close()'s interrupt and not kept it
            if (Thread.currentThread().isInterrupted() || executor.isShutdown()) {
                return;
            }
            checkDomain(domain, states.computeIfAbsent(domain, d -> new DomainState()));
        }
    }

    private void checkDomain(String domain, DomainState state) {
        if (DomainNames.isWildcard(domain)) {
            state.status = CertificateStatus.ERROR;
            state.error = "ACME cannot issue wildcard certificates with HTTP-01 or TLS-ALPN-01; put a certificate"
                    + " file _" + domain.substring(1) + ".crt/.key in the certs directory";
            return;
        }
        if (store.selectFromFilesBeforeRenewal(domain).isPresent()) {
            states.remove(domain);
            // no orders while the operator's file serves: a delay kept would outlive the service if it went first
            deleteFailure(domain);
            return;
        }
        loadStored(domain, state);
        if (state.unsaved != null) {
            save(domain, state);
        }
        Instant now = clock.instant();
        Optional<ServerCertificate> current = store.fromAcme(domain);
        if (current.isPresent() && now.isBefore(current.get().renewalDue())) {
            if (state.failures == 0) {
                state.status = CertificateStatus.VALID;
            }
            return;
        }
        if (now.isBefore(state.retryAt)) {
            return;
        }
        obtain(domain, state, current.isPresent());
    }

    /**
     * Serves the certificate stored for {@code domain} by an earlier run, once per time the domain becomes wanted, as
     * soon as it is: a restart during a CA outage must not leave names unserved behind other domains' orders.
     */
    private void loadStored(String domain) {
        if (!DomainNames.isWildcard(domain) && store.selectFromFilesBeforeRenewal(domain).isEmpty()) {
            loadStored(domain, states.computeIfAbsent(domain, d -> new DomainState()));
        }
    }

    private void loadStored(String domain, DomainState state) {
        synchronized (state) {
            if (state.loadedFromDisk) {
                return;
            }
            state.loadedFromDisk = true;
            loadFailure(domain, state);
            try {
                files.load(domain).ifPresent(certificate -> {
                    store.putFromAcme(domain, certificate);
                    if (state.failures == 0 && !certificate.isExpiredAt(clock.instant())) {
                        state.status = CertificateStatus.VALID;
                    }
                    log.info("ACME certificate for {} loaded from disk (valid until {})", domain, certificate.notAfter());
                });
            } catch (IOException | RuntimeException e) {
                log.warn("cannot load the stored ACME certificate for {}: {}", domain, e.getMessage());
            }
        }
    }

    /**
     * Takes up the retry delay where an earlier run left it, but never beyond the longest delay from now: a file edited
     * by hand, or written before the clock was set back, must not hold orders off for longer than the backoff does.
     */
    private void loadFailure(String domain, DomainState state) {
        try {
            files.loadFailure(domain).ifPresent(failure -> {
                Instant latest = latestAttempt(clock.instant(), failure.caRetryAfter());
                Instant nextAttempt = failure.nextAttempt().isAfter(latest) ? latest : failure.nextAttempt();
                state.failures = failure.failures();
                state.retryAt = nextAttempt;
                state.error = failure.lastError();
                state.status = CertificateStatus.ERROR;
                log.info("ACME orders for {} failed {} time(s) before this start; next attempt at {}{} (update the"
                        + " service to order at once)", domain, failure.failures(), nextAttempt,
                        nextAttempt.equals(failure.nextAttempt()) ? ""
                                : ", not at " + failure.nextAttempt() + " as " + files.failureFile(domain)
                                        + " says, which is later than the longest retry delay of " + Durations.format(settings.maxRetry())
                                        + " and than the CA asked to wait");
                if (!nextAttempt.equals(failure.nextAttempt())) {
                    // else every restart would put it off again by the longest delay
                    storeFailure(domain, new OrderFailure(failure.failures(), nextAttempt, failure.lastError(),
                            failure.caRetryAfter()));
                }
            });
        } catch (IOException | RuntimeException e) {
            log.warn("cannot read the ACME retry delay of {}, so it is ordered at once: {}", domain, e.getMessage());
        }
    }

    /**
     * The latest next attempt that a failure kept on disk may name, seen at {@code now}: the longest retry delay from now,
     * or later up to when the CA said to come back ({@code caRetryAfter}, at most {@link #MAX_CA_RETRY_AFTER} from now).
     */
    private Instant latestAttempt(Instant now, Instant caRetryAfter) {
        Instant latest = now.plus(settings.maxRetry());
        if (caRetryAfter != null && caRetryAfter.isAfter(latest)) {
            Instant longest = now.plus(MAX_CA_RETRY_AFTER);
            latest = caRetryAfter.isAfter(longest) ? longest : caRetryAfter;
        }
        return latest;
    }

    private void storeFailure(String domain, OrderFailure failure) {
        try {
            files.storeFailure(domain, failure);
        } catch (IOException e) {
            log.warn("cannot keep the ACME retry delay of {} on disk, so a restart orders at once: {}", domain,
                    e.getMessage());
        }
    }

    /** Whether there was an order noted for {@code domain}, now deleted. */
    private boolean deleteOrder(String domain) {
        try {
            return files.deleteOrder(domain);
        } catch (IOException e) {
            log.warn("ACME: cannot delete the order noted for {} ({})", domain, FileErrors.describe(e));
            return false;
        }
    }

    private void deleteFailure(String domain) {
        try {
            files.deleteFailure(domain);
        } catch (IOException e) {
            log.warn("ACME: cannot delete the retry delay of {} ({})", domain, FileErrors.describe(e));
        }
    }

    /**
     * Writes the certificate issued for {@code domain} that is not on disk yet. When it cannot be (a full disk, say), it
     * stays served, is written at a later check, and {@code cert_error} says what a restart before then does: download
     * it again from its order noted on disk, or, when that could not be noted either, order again.
     */
    private void save(String domain, DomainState state) {
        CertificateIssuer.Issued issued = state.unsaved;
        try {
            files.store(domain, issued.key(), issued.chainPem());
            state.unsaved = null;
            if (state.error != null) {
                log.info("ACME certificate for {} saved in {}", domain, files.directory());
            }
            state.error = null;
        } catch (IOException e) {
            String error = "the certificate is served but could not be saved in " + files.directory() + " ("
                    + e.getMessage() + "); it is saved once it can be, and a restart before then "
                    + (issued.orderNoted() ? "downloads it again from its order at the CA" : "orders a new one");
            if (!error.equals(state.error)) {
                log.warn("ACME certificate for {}: {}", domain, error);
            }
            state.error = error;
        }
    }

    private void obtain(String domain, DomainState state, boolean renewal) {
        String challengeType = settings.challengeTypes()
                .get(Math.floorMod(state.failures, settings.challengeTypes().size()));
        if (!renewal) {
            state.status = CertificateStatus.PENDING;
        }
        state.attempts++;
        int retryRequests;
        synchronized (state) {
            retryRequests = state.retryRequests;
        }
        try {
            CertificateIssuer.Issued issued = issueWithinDeadline(domain, challengeType);
            ServerCertificate certificate = issued.certificate();
            state.failures = 0;
            state.error = null;
            state.retryAt = Instant.MIN;
            state.unsaved = issued;
            // saved before it is served, so that a restart on seeing it serves it again instead of ordering another
            save(domain, state);
            // served even when its files cannot be written: ordering it again would only use up the CA's limits
            store.putFromAcme(domain, certificate);
            state.status = CertificateStatus.VALID;
            deleteFailure(domain);
            log.info("ACME certificate for {} {} (valid until {}, renewal from {})", domain,
                    renewal ? "renewed" : "obtained", certificate.notAfter(), certificate.renewalDue());
            tell(domain, () -> outcomes.issued(domain, renewal, certificate.notAfter()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (AcmeException | IOException | RuntimeException e) {
            if (executor.isShutdown()) {
                // cut short by close(): not the CA's refusal, so no retry delay for the next start
                log.info("ACME order for {} stopped by the server's shutdown: {}", domain, e.toString());
                return;
            }
            Duration delay;
            synchronized (state) {
                int failures = state.failures + 1;
                String error = failure(e);
                Instant retryAt;
                if (state.retryRequests == retryRequests) {
                    Instant now = clock.instant();
                    delay = settings.retryDelay(failures);
                    // a CA refusing for a rate limit says when to come back: coming back sooner only meets the refusal
                    Instant caRetryAfter = e instanceof AcmeRateLimitedException limited
                            ? limited.getRetryAfter().orElse(null) : null;
                    Instant latest = latestAttempt(now, caRetryAfter);
                    if (caRetryAfter != null && caRetryAfter.isAfter(now.plus(delay))) {
                        delay = Duration.between(now, caRetryAfter.isAfter(latest) ? latest : caRetryAfter);
                    }
                    retryAt = now.plus(delay);
                    // on disk before the status shows it: a restart on seeing "error" must not order at once
                    storeFailure(domain, new OrderFailure(failures, retryAt, error, caRetryAfter));
                } else {
                    delay = Duration.ZERO;
                    retryAt = Instant.MIN;
                }
                state.failures = failures;
                state.retryAt = retryAt;
                state.error = error;
                state.status = CertificateStatus.ERROR;
            }
            log.warn("ACME {} for {} failed (attempt {}, next try in {}): {}", renewal ? "renewal" : "certificate",
                    domain, state.failures, Durations.format(delay), state.error);
            if (e instanceof AcmeException || e instanceof IOException) {
                login = null;
            }
            String error = state.error;
            Duration retryIn = delay;
            tell(domain, () -> outcomes.failed(domain, renewal, error, retryIn));
        }
    }

    /**
     * Tells the outcome listener, whose failure (CertificateEvents' read of the services, say) is logged and changes
     * nothing: in the order's try it turned a certificate issued, saved and served into a failed order with a retry
     * delay.
     */
    private void tell(String domain, Runnable outcome) {
        try {
            outcome.run();
        } catch (RuntimeException e) {
            log.error("ACME: recording the outcome for {} failed; the certificate's state is as logged above", domain,
                    e);
        }
    }

    /**
     * Runs the order on a thread of its own and gives up on it, interrupting it, once {@link AcmeSettings#orderDeadline}
     * has passed: a CA that sent an answer's headers and then stalls its body held the ACME thread for good, and with
     * it every later order and renewal of every domain, until a restart.
     */
    private CertificateIssuer.Issued issueWithinDeadline(String domain, String challengeType)
            throws AcmeException, IOException, InterruptedException {
        FutureTask<CertificateIssuer.Issued> order =
                new FutureTask<>(() -> issuer.issue(login(), domain, challengeType));
        Thread thread = Thread.ofPlatform().daemon().name("picotunnel-acme-order").unstarted(() -> {
            try {
                order.run();
            } finally {
                orderThreads.remove(Thread.currentThread());
            }
        });
        orderThreads.add(thread);
        thread.start();
        Duration deadline = settings.orderDeadline();
        try {
            return order.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            order.cancel(true);
            login = null;
            throw new AcmeException("the ACME server at " + settings.directoryUri() + " did not complete the order within "
                    + Durations.format(deadline) + " (an answer stalled); it was given up");
        } catch (InterruptedException e) {
            order.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case AcmeException acme -> throw acme;
                case IOException io -> throw io;
                case RuntimeException runtime -> throw runtime;
                case Error error -> throw error;
                default -> throw new AcmeException("the order for " + domain + " was stopped: " + e.getCause());
            }
        }
    }

    /**
     * What an order's failure shows (certificate status, log, events). A CA that did not answer in time is named so,
     * with the time it had: acme4j says only "Network error" for it.
     */
    private String failure(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpTimeoutException || t instanceof SocketTimeoutException) {
                return "the ACME server at " + settings.directoryUri() + " did not answer within "
                        + Durations.format(settings.requestTimeout());
            }
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    private Login login() throws AcmeException, IOException {
        if (login == null) {
            URI directory = settings.directoryUri();
            Session session = settings.trustedCa() == null
                    ? new Session(directory)
                    : new Session(directory, new TrustingAcmeProvider(trustingContext(settings.trustedCa())));
            session.networkSettings().setTimeout(settings.requestTimeout());
            AccountBuilder account = new AccountBuilder().agreeToTermsOfService().useKeyPair(files.accountKey());
            if (settings.email() != null && !settings.email().isBlank()) {
                account.addEmail(settings.email());
            }
            Login created = account.createLogin(session);
            updateContact(created.getAccount());
            login = created;
        }
        return login;
    }

    /**
     * A CA answers a new-account request for a known key with the account as it is, its contact unchanged: an email
     * changed in the settings since the account was made is sent to the CA here. (An email removed from the settings
     * stays on the account: acme4j sends no empty contact list.) A CA that refuses the change does not stop the
     * order: the certificate matters more than where the CA writes. An interrupt does: the order was given up.
     */
    private void updateContact(Account account) throws AcmeException {
        String email = settings.email() == null ? "" : settings.email().strip();
        if (email.isEmpty()) {
            return;
        }
        try {
            URI wanted = URI.create("mailto:" + email);
            if (account.getContacts().equals(List.of(wanted))) {
                return;
            }
            Account.EditableAccount edit = account.modify();
            edit.getContacts().clear();
            edit.getContacts().add(wanted);
            edit.commit();
            log.info("ACME account {}: contact set to {}", account.getLocation(), email);
        } catch (AcmeException | RuntimeException e) {
            if (interrupted(e)) {
                // acme4j turns the interrupt of close() or of the order's deadline into an exception and clears it:
                // going on placed an order that nothing waited for, alongside the next attempt for the same domain
                Thread.currentThread().interrupt();
                throw e;
            }
            log.warn("ACME account {}: could not set its contact to {}: {}", account.getLocation(), email,
                    failure(e));
        }
    }

    /** Whether {@code e} comes of an interrupt of this thread, kept or (as acme4j does) cleared. */
    private static boolean interrupted(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InterruptedException) {
                return true;
            }
        }
        return Thread.currentThread().isInterrupted();
    }

    private static SSLContext trustingContext(Path caFile) throws IOException {
        try {
            List<X509Certificate> cas = PemFiles.readChain(caFile);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                trust.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot trust the ACME CA certificates in " + caFile + ": " + e.getMessage(), e);
        }
    }
}
