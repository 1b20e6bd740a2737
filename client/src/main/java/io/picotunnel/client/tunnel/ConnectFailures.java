package io.picotunnel.client.tunnel;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.proxy.HttpProxyHandler;
import io.netty.handler.proxy.ProxyConnectException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.NetUtil;
import io.picotunnel.client.config.HostPort;
import io.picotunnel.client.config.ProxyUrl;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.ws.TunnelErrorCodes;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Why a connection to the server failed, as one sentence that says what to do: the wrong scheme (wss to a plain
 * endpoint, ws to a TLS one), a port that is not a tunnel endpoint, a certificate the client does not trust, a name
 * that does not resolve. Never a stack trace or a hex dump.
 */
final class ConnectFailures {

    private static final int HTTPS_PORT = 443;

    private ConnectFailures() {
    }

    /**
     * How long the server, or the proxy in front of the client, asked to wait before the next attempt
     * ({@code Retry-After} on a refusal); null when neither said.
     */
    static Duration retryAfter(Throwable failure) {
        if (failure instanceof UpgradeRefusedException refused) {
            return refused.retryAfter();
        }
        if (failure instanceof ProxyFailedException refused) {
            return refused.retryAfter();
        }
        return null;
    }

    /**
     * Whether the upgrade was answered 429: the server's (too many connections, or too many wrong tokens, from this
     * address) or a proxy's in front of it (a rate limit).
     */
    static boolean answeredTooManyRequests(Throwable failure) {
        return failure instanceof UpgradeRefusedException refused && refused.status() == 429;
    }

    /**
     * Whether the server answered the upgrade 429 too_many_attempts: it checks the address's wrong tokens only after
     * it checked that it does not drain, so it is back from any stop. Its too_many_connections, answered as a
     * connection is accepted, draining or not, and a proxy's 429, say no such thing.
     */
    static boolean answeredTooManyAttempts(Throwable failure) {
        return failure instanceof UpgradeRefusedException refused && refused.tooManyAttempts();
    }

    /**
     * Whether the server's own host refused the TCP connection (nothing listens on its port): not a proxy's failure,
     * not a timeout.
     */
    static boolean connectionRefused(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof ProxyFailedException || cause instanceof ProxyConnectException
                    || cause instanceof ConnectTimeoutException) {
                return false;
            }
            if (cause instanceof ConnectException) {
                return "connection refused".equals(SocketErrors.reason(cause.getMessage()));
            }
        }
        return false;
    }

    /** {@code connectTimeout}: how long the attempt had for the TCP connection ({@link TunnelConnector#connectTimeout}). */
    static String explain(ServerAddress server, Throwable failure, Duration connectTimeout) {
        String where = server.hostPort().toString();
        String plain = "ws://" + where;
        String tls = "wss://" + where;
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof ProxyFailedException) {
                return cause.getMessage();
            }
            if (cause instanceof TlsAnswerToPlainException) {
                return where + " speaks TLS (wss://), not plain ws://: use --server " + where + " or " + tls + ".";
            }
            if (cause instanceof ClosedDuringUpgradeException) {
                return server.tls()
                        ? where + " closed the connection during the WebSocket upgrade: check that --server names a"
                        + " PicoTunnel tunnel endpoint."
                        : where + " closed the connection without answering the WebSocket upgrade, as a TLS (wss://)"
                        + " endpoint does with plain ws://: use --server " + where + " or " + tls + ".";
            }
            if (cause instanceof NotSslRecordException) {
                // The server's HTTP proxy and management ports answer plain HTTP too: which one this is, the answer
                // to a TLS hello does not say.
                return where + " answers without TLS: if it is the server's tunnel port (its --tunnel-addr),"
                        + " use --server " + plain + "; if it is its HTTP proxy or management port, use the tunnel"
                        + " port instead (8443 by default).";
            }
            if (cause instanceof UnknownHostException) {
                return "The server name " + server.host() + " does not resolve (DNS): check the name in --server.";
            }
            if (cause instanceof LookupTimeoutException) {
                return "The lookup of the server name " + server.host() + " did not end within "
                        + Durations.format(connectTimeout) + " (--connect-timeout): the system's DNS servers did not"
                        + " answer in time; check them (/etc/resolv.conf), or give --server an IP address.";
            }
            if (cause instanceof TlsTimeoutException handshake) {
                return where + " took the connection but did not complete the TLS handshake within "
                        + Durations.format(handshake.timeout()) + ": check that --server names the server's tunnel port (its"
                        + " --tunnel-addr, 8443 by default) and that the server is not overloaded.";
            }
            if (cause instanceof UpgradeTimeoutException upgrade) {
                return where + " took the connection but did not answer the tunnel's WebSocket upgrade within "
                        + Durations.format(upgrade.timeout()) + ": check that --server names the server's"
                        + " tunnel port (its --tunnel-addr, 8443 by default) and that the server is not overloaded.";
            }
            if (cause instanceof ConnectTimeoutException) {
                return "No answer from " + where + " within " + Durations.format(connectTimeout)
                        + ": check the address in --server and that a firewall lets the port through.";
            }
            if (cause instanceof ConnectException || cause instanceof NoRouteToHostException) {
                String reason = SocketErrors.reason(cause.getMessage());
                return "Nothing accepts connections on " + where + " (" + (reason == null ? shortMessage(cause) : reason)
                        + "): check that the server runs and the port in --server (its --tunnel-addr, 8443 by default).";
            }
            if (cause instanceof UpgradeRefusedException refused && refused.status() == 429) {
                return where + " answered " + refused.answer() + " to the tunnel's WebSocket upgrade: "
                        + tooManyRequestsCause(refused);
            }
            if (cause instanceof UpgradeRefusedException refused
                    && (refused.status() < 100 || refused.status() > 599)) {
                // Netty's decoder reports an answer that is not HTTP at all (an SSH banner, say) as status 999.
                return where + " did not answer the tunnel's WebSocket upgrade with HTTP: it is not a PicoTunnel"
                        + " tunnel endpoint; check the address and the port in --server (the server's --tunnel-addr,"
                        + " 8443 by default).";
            }
            if (cause instanceof UpgradeRefusedException refused && refused.serverStopping()) {
                return where + " answered " + refused.answer() + " to the tunnel's WebSocket upgrade: the server is"
                        + " shutting down.";
            }
            if (cause instanceof UpgradeRefusedException refused && refused.status() >= 500) {
                // PicoTunnel itself answers 503 while it shuts down, is overloaded or cannot read its database; a
                // proxy in front of it answers 502 to 504 while it is down or restarting.
                return where + " answered " + refused.answer() + " to the tunnel's"
                        + " WebSocket upgrade: the server (or a proxy in front of it) is unavailable for now, shutting"
                        + " down, restarting or overloaded.";
            }
            if (cause instanceof UpgradeRefusedException refused && refused.location() != null
                    && refused.status() >= 300 && refused.status() < 400) {
                // Most often a front proxy sending plain HTTP to HTTPS, or to a sign-in page the client cannot use.
                String to = refused.location();
                int tlsPort = server.tls() ? -1 : tlsPortOnTheSameHost(to, server);
                return where + " answered " + refused.answer() + " to the tunnel's WebSocket upgrade, redirecting to "
                        + to + ", and the client follows no redirect: "
                        + (tlsPort > 0
                        ? "the server (or a proxy in front of it) wants TLS, use --server wss://"
                        + new HostPort(server.host(), tlsPort) + "."
                        : "give --server the address of the server's tunnel endpoint itself (its --tunnel-addr).");
            }
            if (cause instanceof UpgradeRefusedException refused && refused.status() == 401) {
                // The server's own 401 (its JSON error "unauthorized") stops the client as a rejected token.
                return where + " answered " + refused.answer() + " to the tunnel's WebSocket upgrade without the"
                        + " PicoTunnel server's refusal of the token (its JSON error): a proxy or access gateway in"
                        + " front of the server asks for credentials of its own, which the client does not send; let"
                        + " the path " + ServerAddress.TUNNEL_PATH + " through it without them. If it is the server's"
                        + " HTTP proxy port and a service there asks for a password, use the port of the server's"
                        + " --tunnel-addr instead.";
            }
            if (cause instanceof UpgradeRefusedException refused && refused.status() == 403
                    && !refused.hasErrorCode()) {
                // The tunnel endpoint never answers 403, and the server's other ports answer theirs with a JSON error.
                return where + " answered " + refused.answer() + " to the tunnel's WebSocket upgrade, which the"
                        + " PicoTunnel server never answers it with: a proxy, firewall or access gateway in front of"
                        + " the server refuses it; check its rules for the client's address and the path "
                        + ServerAddress.TUNNEL_PATH + ".";
            }
            if (cause instanceof FlawedUpgradeAnswerException flawed) {
                return where + " answered the tunnel's WebSocket upgrade with HTTP 101 Switching Protocols, "
                        + flawed.flawText() + ".";
            }
            if (cause instanceof UpgradeRefusedException refused) {
                return where + " answered " + refused.answer() + " to the tunnel's"
                        + " WebSocket upgrade at " + ServerAddress.TUNNEL_PATH + ": it is not a PicoTunnel tunnel endpoint;"
                        + " use the port of the server's --tunnel-addr (8443 by default), not the management or proxy port.";
            }
            if (isUntrustedCertificate(cause)) {
                return "The certificate of " + where + " is not trusted (" + certificateProblem(failure)
                        + "): give the server a certificate from a trusted CA for " + server.host()
                        + ", or, for testing only, pass --insecure.";
            }
        }
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof SSLException) {
            return "The TLS handshake with " + where + " failed (" + shortMessage(root)
                    + "): if the server speaks plain WebSocket, use --server " + plain + ".";
        }
        if (failure instanceof DecoderException) {
            return where + " did not answer like a PicoTunnel server (" + shortMessage(root)
                    + "): check the address and the scheme in --server.";
        }
        return shortMessage(failure) + ".";
    }

    /**
     * The port of {@code location} when it is an https or wss address on the server's host: the one it names, else
     * 443, the scheme's (TLS on the port that answered plain HTTP would be told to use ws:// again); -1 otherwise.
     */
    private static int tlsPortOnTheSameHost(String location, ServerAddress server) {
        String host = server.host().indexOf(':') >= 0 ? "[" + server.host() + "]" : server.host();
        for (String scheme : new String[] {"https://", "wss://"}) {
            String prefix = scheme + host;
            if (!location.regionMatches(true, 0, prefix, 0, prefix.length())) {
                continue;
            }
            int end = prefix.length();
            while (end < location.length() && "/?#".indexOf(location.charAt(end)) < 0) {
                end++;
            }
            String rest = location.substring(prefix.length(), end);
            if (rest.isEmpty() || rest.equals(":")) {
                return HTTPS_PORT;
            }
            String digits = rest.substring(1);
            int port = rest.charAt(0) == ':' && digits.length() <= 5 && AsciiNumbers.isDigits(digits)
                    ? Integer.parseInt(digits) : -1;
            return port >= HostPort.MIN_PORT && port <= HostPort.MAX_PORT ? port : -1;
        }
        return -1;
    }

    /**
     * Why a 429 was answered, told by its JSON {@code error}: a PicoTunnel server says which of its limits this
     * address is over; an answer without one is a rate limit, most often a reverse proxy's in front of the server.
     */
    private static String tooManyRequestsCause(UpgradeRefusedException refused) {
        if (refused.tooManyAttempts()) {
            return "the server takes no more connections from this address for now, as too many wrong tokens were sent"
                    + " from it.";
        }
        if (refused.tooManyConnections()) {
            return "the server takes no more connections from this address for now, as too many are open from it.";
        }
        return "a proxy in front of the server (or the server) limits the rate of connections for now.";
    }

    private static boolean isUntrustedCertificate(Throwable cause) {
        return cause instanceof CertPathBuilderException || cause instanceof CertPathValidatorException
                || (cause instanceof CertificateException && !(cause.getCause() instanceof SSLException))
                || (cause instanceof SSLHandshakeException && cause.getMessage() != null
                && cause.getMessage().toLowerCase(Locale.ROOT).contains("certificat"));
    }

    private static String certificateProblem(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            String message = cause.getMessage() == null ? "" : cause.getMessage();
            if (message.contains("No subject alternative") || message.contains("No name matching")) {
                return "it is not issued for this name";
            }
            if (message.contains("validity check failed") || cause instanceof java.security.cert.CertificateExpiredException) {
                return "it has expired";
            }
            if (cause instanceof CertPathBuilderException || message.contains("unable to find valid certification path")) {
                return "no trusted CA signed it; it may be self-signed";
            }
        }
        return "it failed verification";
    }

    /**
     * The first line of a message, without Netty's hex dumps of the bytes received, {@link ControlCharacters#bounded
     * written out and cut}: it can carry what the network sent, as a reason phrase.
     */
    private static String shortMessage(Throwable cause) {
        String message = cause.getMessage();
        if (message == null || message.isBlank()) {
            return cause.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
        }
        message = message.lines().findFirst().orElse("").strip();
        int colon = message.indexOf(": ");
        if (message.startsWith(cause.getClass().getName()) && colon > 0) {
            message = message.substring(colon + 2);
        }
        return ControlCharacters.bounded(message.replaceAll("[0-9a-f]{32,}", "…"));
    }

    /**
     * The server answered the WebSocket upgrade with 101, but the answer does not complete the tunnel's upgrade:
     * {@code flaw} says how; {@code subprotocol} is the answer's Sec-WebSocket-Protocol, null without.
     */
    static final class FlawedUpgradeAnswerException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        enum Flaw { NOT_A_WEBSOCKET_UPGRADE, WRONG_ACCEPT_KEY, NOT_THE_TUNNEL_SUBPROTOCOL }

        private final Flaw flaw;
        private final String subprotocol;

        FlawedUpgradeAnswerException(Flaw flaw, String subprotocol) {
            super("the server answered the WebSocket upgrade with HTTP 101 but " + flaw.name().toLowerCase(Locale.ROOT)
                    .replace('_', ' '));
            this.flaw = flaw;
            this.subprotocol = subprotocol;
        }

        /**
         * What is wrong with a 101 that the handshaker refused (it checks Upgrade, Connection and the accept key, then
         * the subprotocol): the accept key when the headers are those of a WebSocket upgrade for {@code subprotocol}.
         */
        static Flaw flawOf(HttpHeaders headers, String subprotocol) {
            if (!headers.contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                    || !headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
                return Flaw.NOT_A_WEBSOCKET_UPGRADE;
            }
            return subprotocol.equals(headers.get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL))
                    ? Flaw.WRONG_ACCEPT_KEY : Flaw.NOT_THE_TUNNEL_SUBPROTOCOL;
        }

        String flawText() {
            return switch (flaw) {
                case NOT_A_WEBSOCKET_UPGRADE -> "but not to WebSocket (no Upgrade: websocket and Connection: upgrade):"
                        + " it switched to another protocol; check the address and the port in --server (the server's"
                        + " --tunnel-addr, 8443 by default)";
                case WRONG_ACCEPT_KEY -> "but with a Sec-WebSocket-Accept that does not match the key the client sent:"
                        + " something between the client and the server (a proxy or a filtering firewall) altered the"
                        + " handshake, or the server is not a conforming WebSocket server; wss:// keeps the handshake"
                        + " from being altered on the way";
                case NOT_THE_TUNNEL_SUBPROTOCOL -> "but " + (subprotocol == null || subprotocol.isBlank()
                        ? "without a subprotocol"
                        : "with the subprotocol " + ControlCharacters.bounded(subprotocol.strip()))
                        + " where a PicoTunnel server answers with \"" + TunnelConnector.SUBPROTOCOL + "\": it is a"
                        + " WebSocket endpoint other than PicoTunnel's tunnel endpoint, or a proxy in front of it"
                        + " dropped the header; check the address and the port in --server (the server's"
                        + " --tunnel-addr)";
            };
        }
    }

    /**
     * The server answered the WebSocket upgrade with an HTTP status other than 101 and its own 401, perhaps with a
     * {@code Retry-After} ({@code retryAfter}, null without).
     */
    static final class UpgradeRefusedException extends java.io.IOException {
        private static final long serialVersionUID = 1L;
        private final int status;
        private final String reason;
        private final transient Duration retryAfter;
        private final String error;
        private final String location;

        UpgradeRefusedException(int status, String reason) {
            this(status, reason, null);
        }

        UpgradeRefusedException(int status, String reason, Duration retryAfter) {
            this(status, reason, retryAfter, null);
        }

        /** {@code error}: the {@code error} of the answer's JSON body (a PicoTunnel server's); null when it has none. */
        UpgradeRefusedException(int status, String reason, Duration retryAfter, String error) {
            this(status, reason, retryAfter, error, null);
        }

        /** {@code location}: the answer's {@code Location} header (a redirect's); null when it has none. */
        UpgradeRefusedException(int status, String reason, Duration retryAfter, String error, String location) {
            super("the server answered the WebSocket upgrade with HTTP " + status + " " + ControlCharacters.bounded(reason));
            this.status = status;
            this.reason = reason;
            this.retryAfter = retryAfter;
            this.error = error;
            this.location = location;
        }

        /** Where the answer redirects to, {@link ControlCharacters#bounded written out and cut}; null for nowhere. */
        String location() {
            return location == null || location.isBlank() ? null : ControlCharacters.bounded(location.strip());
        }

        /** Whether the body is a JSON object with an {@code error}, as every refusal of a PicoTunnel server's is. */
        boolean hasErrorCode() {
            return error != null;
        }

        /** Whether the server said it refused the upgrade because it is shutting down. */
        boolean serverStopping() {
            return status == 503 && TunnelErrorCodes.SERVER_STOPPING.equals(error);
        }

        /** Whether the server refused this address for its wrong tokens, which it checks only once it no longer drains. */
        boolean tooManyAttempts() {
            return status == 429 && TunnelErrorCodes.TOO_MANY_ATTEMPTS.equals(error);
        }

        /** Whether the server refused this address for the connections it has open already. */
        boolean tooManyConnections() {
            return status == 429 && TunnelErrorCodes.TOO_MANY_CONNECTIONS.equals(error);
        }

        /** How long the server asked the client to wait before it tries again; null when it did not say. */
        Duration retryAfter() {
            return retryAfter;
        }

        int status() {
            return status;
        }

        /**
         * "HTTP 503 Service Unavailable": the reason phrase, which the server or a proxy in front of it chose, {@link
         * ControlCharacters#bounded written out and cut}.
         */
        String answer() {
            return "HTTP " + status + " " + ControlCharacters.bounded(reason);
        }
    }

    /**
     * The proxy the client connects through failed it: its name does not resolve, nothing listens there, or it refused
     * the {@code CONNECT} (407 wrong or no credentials, 403 a destination its rules forbid, 502 to 504 the server out
     * of its reach) or the SOCKS5 connect (its reply code, or its refusal of the user and password), or did not answer,
     * or closed the connection before it answered.
     * The message is the sentence to log.
     */
    static final class ProxyFailedException extends java.io.IOException {
        private static final long serialVersionUID = 1L;
        /** DOTALL: the reason phrase may hold a NEL (byte 0x85), which "." and "$" take for a line's end. */
        private static final java.util.regex.Pattern STATUS = java.util.regex.Pattern.compile("status: (\\d{3})\\s*(.*)$",
                java.util.regex.Pattern.DOTALL);
        /** Netty's Socks5ProxyHandler: "status: FORBIDDEN(2)" for a reply other than success. */
        private static final java.util.regex.Pattern SOCKS_REPLY =
                java.util.regex.Pattern.compile(", status: ([A-Z_]+)\\((\\d+)\\)$");
        private final transient Duration retryAfter;

        private ProxyFailedException(String message, Throwable cause, Duration retryAfter) {
            super(message, cause);
            this.retryAfter = retryAfter;
        }

        /**
         * How long the proxy asked the client to wait ({@code Retry-After} on its refusal of {@code CONNECT}, as a
         * proxy says while the server behind it restarts); null when it did not say.
         */
        Duration retryAfter() {
            return retryAfter;
        }

        /** {@code timeout}: how long the connection to the proxy and its answer to CONNECT could take. */
        static ProxyFailedException of(ProxyUrl proxy, ServerAddress server, Throwable cause, Duration timeout) {
            String at = "the proxy " + proxy.address() + " (" + proxy.source() + ")";
            String where = server.hostPort().toString();
            String text = cause.getMessage() == null ? "" : cause.getMessage();
            String message;
            java.util.regex.Matcher status = STATUS.matcher(text);
            java.util.regex.Matcher socksReply = SOCKS_REPLY.matcher(text);
            String request = proxy.scheme().socks() ? "the SOCKS5 connect to " : "CONNECT ";
            // Netty's ProxyConnectException is a java.net.ConnectException: the proxy's answers come first.
            if (cause instanceof UnknownHostException) {
                message = "The name of " + at + " does not resolve (DNS): check the proxy's address.";
            } else if (cause instanceof LookupTimeoutException) {
                message = "The lookup of the name of " + at + " did not end within " + Durations.format(timeout)
                        + " (--connect-timeout): the system's DNS servers did not answer in time; check them, or give"
                        + " the proxy's IP address.";
            } else if (cause instanceof ProxyConnectException && causedBy(cause, SslHandshakeTimeoutException.class)) {
                message = capitalized(at) + " did not complete the TLS handshake within " + Durations.format(timeout)
                        + ": it may be overloaded, or not take TLS on that port; check the proxy's address, port and"
                        + " scheme, or pass --proxy none if the server can be reached directly.";
            } else if (cause instanceof ProxyConnectException && causedBy(cause, SSLException.class)) {
                message = tlsFailure(proxy, at, cause);
            } else if (status.find()) {
                int code = Integer.parseInt(status.group(1));
                String answered = at + " answered HTTP " + code + " " + ControlCharacters.bounded(status.group(2).strip())
                        + " to CONNECT " + where;
                message = switch (code) {
                    case 407 -> "Proxy authentication failed: " + answered + ". "
                            + (proxy.user() == null ? "It wants a user and password: give them in the proxy URL,"
                            + " http://user:password@host:port." : "Check the user and password in the proxy URL.");
                    case 403 -> "The proxy refused the connection: " + answered + ". Its rules do not let this"
                            + " client reach the server's host or port: ask the proxy's administrators to allow "
                            + where + ".";
                    case 502, 503, 504 -> "The proxy could not reach the server: " + answered + ". Check the address"
                            + " in --server; the proxy may be unable to resolve or reach it, or the server is down.";
                    default -> "The proxy refused the connection: " + answered + ".";
                };
            } else if (proxy.scheme().socks() && cause instanceof ProxyConnectException
                    && (socksReply.find() || text.contains("authStatus: ") || text.contains("authMethod: "))) {
                message = socksRefusal(proxy, server, at, text, socksReply);
            } else if (cause instanceof ProxyConnectException
                    && (text.endsWith(", disconnected") || (cause.getCause() instanceof java.io.IOException
                    && !(cause.getCause() instanceof SSLException)))) {
                // Netty's ProxyConnectException is a ConnectException, but the TCP connection was made: the proxy
                // closed it, or reset it (the IOException the read got).
                message = capitalized(at) + (text.endsWith(", disconnected") ? " closed" : " reset")
                        + " the connection during "
                        + (proxy.scheme().socks() ? "the SOCKS5 handshake for " : "CONNECT ") + where + ", before it"
                        + " answered: it may be restarting, drop requests it does not allow, or not speak "
                        + (proxy.scheme().socks() ? "SOCKS5" : "HTTP") + " on that port; check the proxy's address,"
                        + " port and scheme, or pass --proxy none if the server can be reached directly.";
            } else if (cause.getMessage() != null && cause.getMessage().endsWith("timeout")) {
                message = capitalized(at) + " did not answer " + request
                        + where + " within " + Durations.format(timeout) + ": it may be overloaded or hold requests it"
                        + " does not allow; check the proxy's address and port, or pass --proxy none if the server"
                        + " can be reached directly.";
            } else if (cause instanceof ConnectTimeoutException) {
                message = "No answer from " + at + " within " + Durations.format(timeout)
                        + ": check the proxy's address, or pass --proxy none if the server can be reached directly.";
            } else if (cause instanceof ConnectException || cause instanceof NoRouteToHostException) {
                message = "Nothing accepts connections on " + at + " (" + shortMessage(cause) + "): check the proxy's"
                        + " address, or pass --proxy none if the server can be reached directly.";
            } else {
                message = "Connecting through " + at + " to " + where + " failed (" + shortMessage(cause) + ").";
            }
            Duration retryAfter = cause instanceof HttpProxyHandler.HttpProxyConnectException refused
                    && refused.headers() != null
                    ? RetryAfter.parse(refused.headers().get(HttpHeaderNames.RETRY_AFTER), Instant.now()) : null;
            return new ProxyFailedException(message, cause, retryAfter);
        }

        /** The TLS handshake with an https:// proxy failed: its certificate, checked as the server's is, or else. */
        private static String tlsFailure(ProxyUrl proxy, String at, Throwable cause) {
            Throwable root = cause;
            for (Throwable c = cause; c != null; c = c.getCause()) {
                if (isUntrustedCertificate(c)) {
                    return "The certificate of " + at + " is not trusted (" + certificateProblem(cause) + "): give the"
                            + " proxy a certificate from a trusted CA for " + proxy.hostPort().host() + ", or, for"
                            + " testing only, pass --insecure (which skips the check of the server's certificate too).";
                }
                root = c;
            }
            return "The TLS handshake with " + at + " failed (" + shortMessage(root) + "): if the proxy takes plain"
                    + " HTTP, give it as http://" + proxy.hostPort() + ".";
        }

        private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
            for (Throwable c = failure; c != null; c = c.getCause()) {
                if (type.isInstance(c)) {
                    return true;
                }
            }
            return false;
        }

        private static String capitalized(String text) {
            return text.substring(0, 1).toUpperCase(Locale.ROOT) + text.substring(1);
        }

        /**
         * The SOCKS5 proxy's refusal (RFC 1928 reply codes; RFC 1929 for the user and password) as a sentence: a
         * reply is a code, and Netty's message only names it.
         */
        private static String socksRefusal(ProxyUrl proxy, ServerAddress server, String at, String text,
                                           java.util.regex.Matcher reply) {
            String where = server.hostPort().toString();
            boolean named = NetUtil.createByteArrayFromIpAddressString(server.host()) == null;
            if (text.contains("authStatus: ")) {
                return "Proxy authentication failed: " + at + " refused the user and password (RFC 1929). Check the"
                        + " user and password in the proxy URL.";
            }
            if (text.contains("authMethod: ")) {
                return "Proxy authentication failed: " + at + " accepts none of the ways the client offered to log"
                        + " in (" + (proxy.user() == null ? "none: it wants a user and password; give them in the proxy"
                        + " URL, " + proxy.scheme() + "://user:password@host:port" : "none, or a user and password")
                        + ").";
            }
            int code = Integer.parseInt(reply.group(2));
            String answered = at + " answered the SOCKS5 connect to " + where + " with reply " + code;
            return switch (code) {
                case 2 -> "The proxy refused the connection: " + answered + " (not allowed by ruleset). Its rules do"
                        + " not let this client reach the server's host or port: ask the proxy's administrators to"
                        + " allow " + where + ".";
                case 3, 4 -> "The proxy could not reach the server: " + answered + " ("
                        + (code == 3 ? "network" : "host") + " unreachable). Check the address in --server"
                        + (named ? "; the proxy may be unable to resolve it" : "") + ".";
                case 5 -> "The proxy could not reach the server: " + answered + " (connection refused): nothing"
                        + " accepts connections there; check that the server runs and the port in --server.";
                case 8 -> "The proxy refused the connection: " + answered + " (address type not supported)"
                        + (named ? ": it takes no server names; give --server the server's IP address." : ".");
                default -> "The proxy refused the connection: " + answered + " ("
                        + reply.group(1).toLowerCase(Locale.ROOT).replace('_', ' ') + ").";
            };
        }
    }

    /**
     * The name of the server (or of its proxy) was still being looked up when the connect timeout, which counts from
     * before the lookup, was up.
     */
    static final class LookupTimeoutException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        LookupTimeoutException(String host, Duration timeout) {
            super("the lookup of " + host + " did not end within " + Durations.format(timeout));
        }
    }

    /** The server took the connection and sent no answer to the WebSocket upgrade in time. */
    static final class UpgradeTimeoutException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        private final transient Duration timeout;

        UpgradeTimeoutException(Duration timeout) {
            super("no answer to the WebSocket upgrade within " + Durations.format(timeout));
            this.timeout = timeout;
        }

        Duration timeout() {
            return timeout;
        }
    }

    /** The server took the connection and did not complete the TLS handshake in time. */
    static final class TlsTimeoutException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        private final transient Duration timeout;

        TlsTimeoutException(Duration timeout, Throwable cause) {
            super("no end of the TLS handshake within " + Durations.format(timeout), cause);
            this.timeout = timeout;
        }

        Duration timeout() {
            return timeout;
        }
    }

    /** The server closed the connection before it answered the WebSocket upgrade. */
    static final class ClosedDuringUpgradeException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        ClosedDuringUpgradeException() {
            super("the server closed the connection during the WebSocket upgrade");
        }
    }

    /** The first bytes the server sent to a plain ws:// connection are a TLS record. */
    static final class TlsAnswerToPlainException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        TlsAnswerToPlainException() {
            super("the server answered with TLS");
        }
    }
}
