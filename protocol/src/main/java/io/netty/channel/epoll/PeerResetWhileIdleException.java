package io.netty.channel.epoll;

import java.io.IOException;

/**
 * A reset of its peer that a socket watched by {@link QuietWhileIdle} took while no read of Netty would find it: while
 * its reads waited, or after its end of input (there any error the socket holds, a keepalive timeout as well). Fired
 * down its pipeline. Its message says neither "connection reset" nor "broken pipe": Netty's SslHandler swallows an
 * IOException that says so once the peer's close_notify came in, and closes the channel as if it ended cleanly, so the
 * handlers behind it (a relay, which must pass the reset on as a reset) would never learn of it.
 */
public final class PeerResetWhileIdleException extends IOException {

    static final String WHILE_READS_WAITED = "the peer reset the socket while its reads waited";
    static final String AFTER_END_OF_INPUT = "the socket failed after its end of input (SO_ERROR set, e.g. a"
            + " reset by its peer)";

    PeerResetWhileIdleException(String message) {
        super(message);
    }
}
