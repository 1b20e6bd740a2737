package io.picotunnel.server.access;

import io.netty.channel.Channel;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.function.LongSupplier;

/**
 * The gate in front of every service, for the HTTP proxy, the tcp listeners and TLS passthrough: the visitor's
 * address against {@code ip_allow}/{@code ip_deny}, then its {@code rate_limit}, then (HTTP only) the service's
 * {@code auth}. Thread-safe; one instance serves every listener.
 */
public final class AccessControl implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccessControl.class);
    /** How often at most a tcp service's refusals are logged per service and cause. */
    public static final Duration REFUSAL_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;

    /**
     * A refused tcp or passthrough connection gets no page its visitor could report: the log says it, at most once a
     * minute per service and cause (a scan would otherwise fill it), with the count of those not logged: a flood over
     * one service's rate_limit does not hide another's, or the same service's ip_allow / ip_deny refusals.
     */
    private final KeyedRefusalLog connectionRefusals = new KeyedRefusalLog(LOG, REFUSAL_LOG_INTERVAL,
            KeyedRefusalLog.MAX_KEYS);

    private record RefusalKey(String serviceId, TrafficCounters.Refusal cause) {
    }

    /** Headers that tell the target who signed in; whatever a visitor sends under these names is dropped. */
    public static final List<String> IDENTITY_HEADERS = List.of("x-picotunnel-user", "x-picotunnel-email");

    private final TrustedProxies trustedProxies;
    private final RateLimiter rateLimiter;
    private final BasicAuthGate basic;
    private final UntrustedProxyHint untrustedProxyHint;
    private volatile ServiceSignIn signIn;

    public AccessControl(TrustedProxies trustedProxies) {
        this(trustedProxies, new RateLimiter(), new BasicAuthGate(System::nanoTime));
    }

    /**
     * As above, with {@code rateLimiter} and {@code nanoClock} (the password checks' clock), the password checks of
     * {@code auth: basic} services running on {@code passwordChecks} (a full one refuses them), which {@link #close}
     * shuts down: a test holds them there while a request waits for its check.
     * Tests of other packages reach it through their {@code PasswordChecksOn}.
     */
    AccessControl(TrustedProxies trustedProxies, RateLimiter rateLimiter, LongSupplier nanoClock,
            ExecutorService passwordChecks) {
        this(trustedProxies, rateLimiter, new BasicAuthGate(nanoClock, passwordChecks));
    }

    private AccessControl(TrustedProxies trustedProxies, RateLimiter rateLimiter, BasicAuthGate basic) {
        this.trustedProxies = trustedProxies;
        this.rateLimiter = rateLimiter;
        this.basic = basic;
        this.untrustedProxyHint = new UntrustedProxyHint(trustedProxies);
    }

    /** No lists, no limits, no trusted proxies: what a proxy built without access control uses. */
    public static AccessControl open() {
        return new AccessControl(TrustedProxies.NONE);
    }

    /** Single sign-on for {@code auth: oidc} services, once the management server is up (none without OIDC). */
    public void signIn(ServiceSignIn serviceSignIn) {
        this.signIn = serviceSignIn;
    }

    public TrustedProxies trustedProxies() {
        return trustedProxies;
    }

    /**
     * In a listener's {@code initChannel}: counts a new public connection in {@code limits}, or refuses it, as
     * {@link ConnectionLimits#admit(Channel, boolean)} does. When the PROXY protocol is read, the address counted is
     * the visitor's its header names, once read ({@link ConnectionLimits#admitVisitorWhenActive}): call this before
     * {@link #readProxyProtocol}.
     */
    public boolean admit(ConnectionLimits limits, Channel channel, boolean httpAnswer) {
        return trustedProxies.proxyProtocol()
                ? limits.admitVisitorWhenActive(channel, httpAnswer, VisitorAddress::of)
                : limits.admit(channel, httpAnswer);
    }

    /**
     * Puts the PROXY protocol reader first in a public connection's pipeline, when it is turned on;
     * {@code holdRest} for tcp services (see {@link ProxyProtocolHandler}).
     */
    public void readProxyProtocol(io.netty.channel.ChannelPipeline pipeline, boolean holdRest) {
        if (trustedProxies.proxyProtocol()) {
            pipeline.addFirst(ProxyProtocolHandler.NAME, new ProxyProtocolHandler(trustedProxies, holdRest));
        }
    }

    /** Says so when a peer that is not a trusted proxy claims https over plain http, as a misconfigured one would. */
    public UntrustedProxyHint untrustedProxyHint() {
        return untrustedProxyHint;
    }

    public RateLimiter rateLimiter() {
        return rateLimiter;
    }

    /**
     * A new connection of a tcp or passthrough service from {@code visitor}: whether it may go on to the tunnel; a
     * refusal is logged (at most once a minute per service and cause) and counted in {@code counters}.
     */
    public boolean admitsConnection(String serviceId, AccessPolicy policy, InetAddress visitor, TrafficCounters counters) {
        if (!policy.ipRules().admits(visitor)) {
            counters.refused(TrafficCounters.Refusal.IP_RULES);
            connectionRefusals.refused(new RefusalKey(serviceId, TrafficCounters.Refusal.IP_RULES), false, () -> "service " + ControlCharacters.bounded(serviceId) + ": refused a connection from "
                    + visitor.getHostAddress() + ": its ip_allow / ip_deny rules do not admit that address");
            return false;
        }
        RateLimiter.Verdict rate = rateLimiter.acquire(serviceId, visitor, policy.rateLimit());
        if (!rate.allowed()) {
            counters.refused(TrafficCounters.Refusal.RATE_LIMIT);
            connectionRefusals.refused(new RefusalKey(serviceId, TrafficCounters.Refusal.RATE_LIMIT), false, () -> "service " + ControlCharacters.bounded(serviceId) + ": refused a connection from "
                    + visitor.getHostAddress() + ": over its rate_limit");
            return false;
        }
        return true;
    }

    /** The user name of {@code Basic} credentials in an {@code Authorization} header, or null when it holds none. */
    public static String basicUserName(String authorization) {
        String[] credentials = BasicAuthGate.credentials(authorization);
        return credentials == null ? null : credentials[0];
    }

    /** An HTTP request routed to a service. */
    public HttpVerdict check(HttpAccessRequest request) {
        AccessPolicy policy = request.policy();
        if (!policy.ipRules().admits(request.visitor())) {
            return HttpVerdict.Answer.of(403, "forbidden", "Your address (" + request.visitor().getHostAddress()
                    + ") may not use " + request.host() + ". Ask the owner of this service to allow it.");
        }
        RateLimiter.Verdict rate = rateLimiter.acquire(request.serviceId(), request.visitor(), policy.rateLimit());
        if (!rate.allowed()) {
            long seconds = rate.retryAfterSeconds();
            return new HttpVerdict.Answer(429, "rate_limited", "Too many requests from your address to "
                    + request.host() + ". Try again in " + seconds + " s.",
                    Map.of("Retry-After", Long.toString(seconds)), List.of());
        }
        ServiceSignIn sso = signIn;
        HttpVerdict own = sso == null ? null : sso.ownPath(request);
        if (own != null) {
            return own;
        }
        return switch (policy.auth()) {
            case ServiceAuth.None none -> HttpVerdict.Pass.ANONYMOUS;
            case ServiceAuth.Basic b -> basic.check(b, request.host(), request.visitor(), request.authorization());
            case ServiceAuth.Oidc o -> {
                yield sso == null
                        ? HttpVerdict.Answer.of(503, "sign_in_unavailable", request.host() + " signs in through the"
                                + " server's OIDC provider, which is not configured (PICOTUNNEL_OIDC_ISSUER).")
                        : sso.check(request, o);
            }
        };
    }

    @Override
    public void close() {
        basic.close();
    }
}
