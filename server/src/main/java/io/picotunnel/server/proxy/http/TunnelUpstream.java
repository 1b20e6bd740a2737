package io.picotunnel.server.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.net.KeyedRefusalLog;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens each proxied request as a yamux stream {@code {"type":"http","target":...}} to the tunnel's client, at most
 * {@code maxPerTunnel} open at once per tunnel (idle keep-alive streams included): beyond, the open fails with
 * {@link TunnelBusyException} and a WARN says so, once a minute at most; so does one when the client connections are at
 * the server's {@code --max-streams}. Each limit and each tunnel has its own minute: a flood at one limit does not hide
 * the other, nor one busy tunnel another.
 */
public final class TunnelUpstream implements UpstreamOpener {

    /** How often at most each tunnel_busy WARN is logged per tunnel (the docs say "once a minute"). */
    public static final Duration BUSY_LOG_INTERVAL = RefusalLog.DEFAULT_INTERVAL;

    private final TunnelRegistry tunnels;
    private final int maxPerTunnel;
    private final Map<String, AtomicInteger> open = new ConcurrentHashMap<>();
    private final KeyedRefusalLog overTunnelRequests = new KeyedRefusalLog(LoggerFactory.getLogger(TunnelUpstream.class),
            BUSY_LOG_INTERVAL, KeyedRefusalLog.MAX_KEYS);
    private final KeyedRefusalLog atStreamLimit = new KeyedRefusalLog(LoggerFactory.getLogger(TunnelUpstream.class),
            BUSY_LOG_INTERVAL, KeyedRefusalLog.MAX_KEYS);

    public TunnelUpstream(TunnelRegistry tunnels) {
        this(tunnels, Integer.MAX_VALUE);
    }

    public TunnelUpstream(TunnelRegistry tunnels, int maxPerTunnel) {
        this.tunnels = tunnels;
        this.maxPerTunnel = maxPerTunnel;
    }

    @Override
    public Future<? extends Channel> open(Service service, ChannelHandler handler) {
        return open(service, handler, Set.of());
    }

    @Override
    public Future<? extends Channel> open(Service service, ChannelHandler handler, Set<YamuxSession> passOver) {
        String tunnelId = service.tunnelId();
        if (!take(tunnelId)) {
            overTunnelRequests.refused(tunnelId, true, () -> "tunnel " + tunnelId + " reached " + maxPerTunnel + " open requests"
                    + " (--max-tunnel-requests): answering 503 to new ones until some end");
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(new TunnelBusyException(tunnelId, maxPerTunnel));
        }
        Promise<Channel> promise = ImmediateEventExecutor.INSTANCE.newPromise();
        Future<YamuxStreamChannel> opened = tunnels.openStream(tunnelId, handler, null, passOver);
        // A caller whose visitor left takes back an open still waiting for a client under way.
        promise.addListener(p -> {
            if (p.isCancelled()) {
                opened.cancel(false);
            }
        });
        opened.addListener(f -> {
            if (!opened.isSuccess()) {
                give(tunnelId);
                if (opened.cause() instanceof StreamOpenException full && full.atStreamLimit()) {
                    atStreamLimit.refused(tunnelId, true, () -> "tunnel " + tunnelId + ": no stream to its client, " + full.getMessage()
                            + " (--max-streams): answering 503 to new requests until some end");
                }
                promise.tryFailure(opened.cause());
                return;
            }
            YamuxStreamChannel stream = opened.getNow();
            stream.closeFuture().addListener(c -> give(tunnelId));
            if (promise.isCancelled()) {
                stream.close();
                return;
            }
            // From the first handler's context the header goes out below the HTTP codec, before any request.
            ChannelHandlerContext first = stream.pipeline().firstContext();
            if (first != null) {
                first.writeAndFlush(new StreamHeader(StreamType.HTTP, service.targetAddr()).encode(stream.alloc()));
            }
            // Else it ended already (refused at once, read before this): its handler was told, and the caller sees
            // the end, with the reset's reason, as it would after the open.
            if (!promise.trySuccess(stream)) {
                // Cancelled just now, as it opened.
                stream.close();
            }
        });
        return promise;
    }

    /** Requests (streams) open now for {@code tunnelId}. */
    public int openRequests(String tunnelId) {
        AtomicInteger count = open.get(tunnelId);
        return count == null ? 0 : count.get();
    }

    private boolean take(String tunnelId) {
        boolean[] taken = {false};
        open.compute(tunnelId, (id, count) -> {
            AtomicInteger c = count == null ? new AtomicInteger() : count;
            if (c.get() < maxPerTunnel) {
                c.incrementAndGet();
                taken[0] = true;
            }
            return c;
        });
        return taken[0];
    }

    private void give(String tunnelId) {
        open.computeIfPresent(tunnelId, (id, count) -> count.decrementAndGet() <= 0 ? null : count);
    }
}
