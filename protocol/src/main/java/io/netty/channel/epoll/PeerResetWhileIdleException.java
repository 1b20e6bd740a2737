package io.netty.channel.epoll;

import java.io.IOException;

/**
 * A reset of its peer that a socket quieted by {@link QuietWhileIdle} took while its reads waited, fired down its
 * pipeline. Its message says neither "connection reset" nor "broken pipe": Netty's SslHandler swallows an IOException
 * that says so once the peer's close_notify came in, and closes the channel as if it ended cleanly, so the handlers
 * behind it (a relay, which must pass the reset on as a reset) would never learn of it.
 */
public final class PeerResetWhileIdleException extends IOException {

    PeerResetWhileIdleException() {
        super("the peer reset the socket while its reads waited");
    }
}
