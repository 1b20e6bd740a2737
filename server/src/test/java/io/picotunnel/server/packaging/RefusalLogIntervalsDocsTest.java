package io.picotunnel.server.packaging;

import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.UntrustedProxyHint;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.proxy.http.HttpProxy;
import io.picotunnel.server.proxy.http.TunnelUpstream;
import io.picotunnel.server.tls.HttpsListener;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;

import static io.picotunnel.testkit.ProseDurations.words;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README, the server's --help and docs/http-proxy.md, monitoring.md, protocol.md, access-control.md and tls.md say how often at most a flood of refusals is
 * logged (tunnel_busy, the stream limit, a listener's and a tcp service's refusals, the session buffer limit, an
 * untrusted peer's X-Forwarded-Proto: https, the tunnel endpoint's own TLS failures, the password checks backed up or
 * failing) as the
 * constant that sets it, so a new interval cannot leave them saying "once a minute".
 */
class RefusalLogIntervalsDocsTest {

    /** "a minute", as the docs write one of a unit. */
    private static String once(Duration interval) {
        return "at most once " + words(interval).replaceFirst("^1 ", "a ");
    }

    private static String read(String file) throws IOException {
        return Files.readString(DeploymentFilesTest.ROOT.resolve(file)).replaceAll("\\s+", " ");
    }

    @Test
    void theReadmeGivesTheTunnelBusyAndStreamLimitIntervals() throws IOException {
        String readme = read("README.md");

        assertThat(readme).contains("get 503 `tunnel_busy` with `Retry-After: 5` (and a WARN, "
                        + once(TunnelUpstream.BUSY_LOG_INTERVAL) + " per tunnel) and its tcp and passthrough connections"
                        + " are reset (and a WARN of their own, " + once(TunnelRegistry.STREAM_LIMIT_LOG_INTERVAL)
                        + " per tunnel)")
                .contains("503 `tunnel_busy` with `Retry-After: 5`, and a WARN " + once(TunnelUpstream.BUSY_LOG_INTERVAL)
                        + " per tunnel (apart from the one for `PICOTUNNEL_MAX_STREAMS`");
    }

    @Test
    void theHelpGivesTheTunnelBusyAndStreamLimitIntervals() {
        assertThat(Setting.MAX_STREAMS.description()).contains("and a WARN (once "
                + words(TunnelUpstream.BUSY_LOG_INTERVAL).replaceFirst("^1 ", "a ") + " per tunnel at most), a tcp or"
                + " passthrough connection is reset (and a WARN of its own, once "
                + words(TunnelRegistry.STREAM_LIMIT_LOG_INTERVAL).replaceFirst("^1 ", "a ") + " per tunnel at most).");
        assertThat(Setting.MAX_TUNNEL_REQUESTS.description()).contains(" and a WARN (once "
                + words(TunnelUpstream.BUSY_LOG_INTERVAL).replaceFirst("^1 ", "a ") + " per tunnel at most).");
    }

    @Test
    void theHttpProxyDocGivesTheTunnelBusyAndListenerIntervals() throws IOException {
        assertThat(read("docs/http-proxy.md"))
                .contains("A WARN says so " + once(TunnelUpstream.BUSY_LOG_INTERVAL) + " per tunnel; the WARN for a")
                .contains("has its own " + words(TunnelUpstream.BUSY_LOG_INTERVAL).replaceFirst("^1 ", "") + ", so")
                .contains("Refusals are logged " + once(ConnectionLimits.REFUSAL_LOG_INTERVAL) + " per listener");
        assertThat(HttpsListener.REFUSAL_LOG_INTERVAL).as("so are TLS handshakes refused for an unknown server name")
                .isEqualTo(ConnectionLimits.REFUSAL_LOG_INTERVAL);
    }

    @Test
    void theTlsDocGivesTheTunnelEndpointsOwnFailureInterval() throws IOException {
        assertThat(read("docs/tls.md")).contains("each kind " + once(RefusalLog.DEFAULT_INTERVAL)
                + " for the endpoint, in " + words(RefusalLog.DEFAULT_INTERVAL).replaceFirst("^1 ", "a ")
                + " of its own");
    }

    @Test
    void theMonitoringDocGivesTheTcpRefusalsInterval() throws IOException {
        assertThat(read("docs/monitoring.md")).contains("(the log says so " + once(AccessControl.REFUSAL_LOG_INTERVAL)
                + " per service and reason)");
    }

    @Test
    void theProtocolDocGivesTheEndpointRefusalAndBufferLimitIntervals() throws IOException {
        assertThat(read("docs/protocol.md"))
                .contains("(see Backoff below). Refusals are logged " + once(ConnectionLimits.REFUSAL_LOG_INTERVAL) + ".")
                .contains("with a WARN " + once(YamuxSession.BUFFER_LIMIT_LOG_INTERVAL) + " for all connections"
                        + " together, with the number of streams reset since the last. Not the stream holding")
                .containsPattern("is logged " + once(YamuxSession.BUFFER_LIMIT_LOG_INTERVAL)
                        + " for the\\s+whole process");
    }

    @Test
    void theReadmeAndTheAccessControlDocGiveTheUntrustedProxyHintInterval() throws IOException {
        assertThat(read("README.md")).contains("gets a WARN naming its address ("
                + once(UntrustedProxyHint.LOG_INTERVAL) + " per address, per /64 for IPv6): the hint for a TLS-ending"
                + " proxy");
        assertThat(read("docs/access-control.md")).contains("naming the peer's address and"
                        + " `PICOTUNNEL_TRUSTED_PROXIES`, " + once(UntrustedProxyHint.LOG_INTERVAL) + " per peer address")
                .containsPattern("at most " + UntrustedProxyHint.MAX_BLOCKS
                        + " such addresses or /64s have a line of their own at once, those beyond share one, so the"
                        + "\\s+log gets\\s+at most " + (UntrustedProxyHint.MAX_BLOCKS + 1) + " of these lines");
    }

    /**
     * BasicAuthGate's lines for password checks backed up and for checks that failed (a bug); the proxy's for checks that
     * did not end within its bound, and the bound.
     */
    @Test
    void theAccessControlDocGivesThePasswordChecksIntervals() throws IOException {
        assertThat(read("docs/access-control.md"))
                .contains("as many passwords as it can at once (`Retry-After: 1`; a WARN says so, "
                        + once(RefusalLog.DEFAULT_INTERVAL) + ")")
                .contains("(a WARN in the server log with the stack trace, " + once(RefusalLog.DEFAULT_INTERVAL) + ",")
                .contains("did not end within " + words(HttpProxy.ACCESS_CHECK_TIMEOUT) + ",")
                .contains("a bug (a WARN in the server log, " + once(RefusalLog.DEFAULT_INTERVAL) + ",");
    }
}
