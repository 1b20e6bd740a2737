package io.picotunnel.server.proxy.http;

/** A tunnel carries {@code --max-tunnel-requests} proxied requests already: this one is refused (503). */
final class TunnelBusyException extends Exception {

    TunnelBusyException(String tunnelId, int max) {
        super("tunnel " + tunnelId + " has " + max + " requests open (--max-tunnel-requests)", null, false, false);
    }
}
