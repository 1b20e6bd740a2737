package io.picotunnel.client;

import io.picotunnel.client.config.ClientConfig;

import java.util.List;

/** What the client logs at start for {@code --insecure}, which matters only where it speaks TLS. */
final class InsecureWarning {

    private InsecureWarning() {
    }

    /** The lines to log at WARN: none without --insecure, one when no TLS is spoken at all. */
    static List<String> lines(ClientConfig config) {
        if (!config.insecure()) {
            return List.of();
        }
        boolean proxyTls = config.proxy() != null && config.proxy().scheme().tls();
        if (!config.server().tls() && !proxyTls) {
            // The banner would say certificates are not verified where no certificate is ever sent.
            return List.of("--insecure has no effect on a ws:// (plain) server address");
        }
        return List.of(
                "**********************************************************************",
                "--insecure: TLS certificates are NOT verified. Anyone on the path can",
                "impersonate the server and read the tunnel. Use only for development.",
                "**********************************************************************");
    }
}
