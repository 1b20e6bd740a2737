package io.picotunnel.server.access;

import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.net.ClientBlock;
import io.picotunnel.server.net.ForwardedProto;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.time.Duration;

/**
 * Tells the operator that a proxy ending TLS in front of the plain HTTP listener is missing from
 * {@code PICOTUNNEL_TRUSTED_PROXIES}: its {@code X-Forwarded-Proto: https} is then ignored, so its visitors get the
 * cookies of plain http, {@code https_redirect} loops and a sign-in returns to an {@code http://} address, and
 * nothing else says why. Any visitor may send the header, so the WARN comes at most once per {@link #LOG_INTERVAL}
 * per peer's {@link ClientBlock} (an IPv6 peer's /64, so one host rotating through its addresses gets one line), with
 * the count of those not logged; the others build no message. Per block, as a scanner's claims would otherwise take
 * the line of the proxy left out; at most {@link #MAX_BLOCKS} blocks at once ({@link KeyedRefusalLog}), so many
 * peers claiming https write a few lines a minute, not one each.
 */
public final class UntrustedProxyHint {

    private static final Logger LOG = LoggerFactory.getLogger(UntrustedProxyHint.class);
    /** How often at most the WARN is logged (the docs say "once a minute"). */
    public static final Duration LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;

    /** Blocks with a line of their own per interval; those beyond share one (the docs say so). */
    public static final int MAX_BLOCKS = 16;

    private final TrustedProxies trustedProxies;
    private final KeyedRefusalLog lines = new KeyedRefusalLog(LOG, LOG_INTERVAL, MAX_BLOCKS);

    public UntrustedProxyHint(TrustedProxies trustedProxies) {
        this.trustedProxies = trustedProxies;
    }

    /**
     * A request the visitor made over plain http, from {@code peer} (the TCP peer; null when none) with this
     * {@code X-Forwarded-Proto} (null when none): a WARN when the header claims https and the peer is not trusted.
     */
    public void onPlainHttpRequest(InetAddress peer, String forwardedProto) {
        if (forwardedProto == null || peer == null || !"https".equals(ForwardedProto.scheme(forwardedProto))
                || trustedProxies.trusts(peer)) {
            return;
        }
        lines.refused(ClientBlock.of(peer), true, () -> message(peer.getHostAddress(), forwardedProto));
    }

    private static String message(String address, String forwardedProto) {
        return "A request from " + address + " to the public HTTP listener carries X-Forwarded-Proto: "
                + ControlCharacters.bounded(forwardedProto) + ", which is ignored because " + address
                + " is not in PICOTUNNEL_TRUSTED_PROXIES (--trusted-proxies): the request counts as plain http"
                + " (https_redirect sends it to https again, a sign-in returns to http:// with cookies that are not"
                + " Secure). If a proxy that ends TLS runs there, add its address.";
    }
}
