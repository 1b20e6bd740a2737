package io.picotunnel.server.proxy.tcp;

import io.netty.channel.Channel;
import io.picotunnel.server.net.BindFailures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * How the tcp listeners of one server let their ports go, and wait for them. Closing a listener waits (a moment at
 * most) until its port is free again: with NIO the socket is released only on the event loop's next select, and until
 * then it would still accept connections. {@link TcpServices} closes and binds under one lock, so a bind after a close
 * finds the port free, but when the close gave up waiting: then the port is still being let go, and a bind there is
 * tried again for a moment. Any other port in use is another program's, refused at once: waiting for it would hold up
 * the store's write transaction, and every other API write, for nothing.
 */
class PortReleases {

    private static final Logger LOG = LoggerFactory.getLogger(PortReleases.class);
    /** How long a close waits for its port to be free, and a bind for a port still being let go (but in tests). */
    static final Duration RELEASE_WAIT = Duration.ofSeconds(1);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration POLL = Duration.ofMillis(20);

    /** One attempt at binding a listener. */
    @FunctionalInterface
    interface Bind {
        Channel bind(InetSocketAddress address) throws IOException;
    }

    private final Duration wait;
    /** Ports of listeners closed that were not yet seen free. */
    private final Set<Integer> lettingGo = ConcurrentHashMap.newKeySet();

    PortReleases(Duration wait) {
        this.wait = wait;
    }

    /** Closes a listening channel (none: nothing) and waits, {@link #RELEASE_WAIT} at most, until its port is free. */
    void close(Channel listening) {
        if (listening == null) {
            return;
        }
        InetSocketAddress bound = (InetSocketAddress) listening.localAddress();
        listening.close().awaitUninterruptibly(CLOSE_TIMEOUT.toMillis());
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() - deadline < 0) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.setReuseAddress(true);
                probe.bind(bound);
                return;
            } catch (IOException stillBound) {
                LockSupport.parkNanos(POLL.toNanos());
            }
        }
        LOG.debug("{} still seems bound after closing it", bound);
        stillLettingGo(bound);
    }

    /** Counts the port of {@code address} as still being let go by a listener of ours: a bind there waits for it. */
    void stillLettingGo(InetSocketAddress address) {
        lettingGo.add(address.getPort());
    }

    /**
     * Binds {@code address}. In use on a port a listener of ours is still letting go, it is tried again for a moment
     * ({@link #RELEASE_WAIT}), once: after that the port is someone else's. In use on any other port, refused at once.
     */
    Channel bind(InetSocketAddress address, Bind bind) throws IOException {
        int port = address.getPort();
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            try {
                Channel bound = bind.bind(address);
                lettingGo.remove(port);
                return bound;
            } catch (IOException e) {
                if (!BindFailures.inUse(e) || !lettingGo.contains(port)) {
                    throw e;
                }
                if (System.nanoTime() - deadline >= 0) {
                    lettingGo.remove(port);
                    throw e;
                }
            }
            LockSupport.parkNanos(POLL.toNanos());
        }
    }
}
