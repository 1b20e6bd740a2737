package io.picotunnel.server.tunnel;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.store.Tunnel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The handshake timeout on one connection, with the 101 held as a TLS handler holds it (EmbeddedChannel: the time is
 * advanced, not waited for).
 */
class TunnelHandshakeTimeoutTest {

    private static final String TOKEN = "d".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /**
     * The timeout passes while the 101 is being written; the close it asks for writes the 101 first and then waits (as
     * TLS does: the 101 goes out ahead of close_notify, and the close waits for close_notify to be written). The 101
     * written then does not make a client of a connection that is closing: it is not registered, and the close goes on.
     */
    @Test
    void aHundredOneWrittenAfterTheHandshakeTimeoutRegistersNoClient() {
        TunnelRegistry registry = new TunnelRegistry();
        CloseAfterPendingWrites tls = new CloseAfterPendingWrites();
        EmbeddedChannel channel = new EmbeddedChannel(tls, new HttpServerCodec(), new HttpObjectAggregator(0),
                new TunnelHandshakeHandler(TunnelEndpointConfig.defaults().withHandshakeTimeout(TIMEOUT),
                        RawPeerEndpoint.oneToken(TUNNEL), registry, Runnable::run,
                        new FailedLogins("tunnel endpoint", FailedLogins.TUNNEL)));
        try {
            channel.writeInbound(Unpooled.copiedBuffer(RawPeerEndpoint.upgradeRequest("/tunnel?token=" + TOKEN, ""),
                    StandardCharsets.ISO_8859_1));
            channel.runPendingTasks();
            assertThat(tls.held).as("the 101, held").hasSize(1);

            channel.advanceTimeBy(TIMEOUT.toMillis() + 1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            channel.runPendingTasks();

            assertThat(tls.closeAsked).as("the timeout closed the connection").isTrue();
            assertThat(tls.writtenAtClose).as("the 101 went out ahead of the close").isEqualTo(1);
            // Before: the 101's success moved on to the recheck, and the client was registered as connected.
            assertThat(registry.isConnected(TUNNEL.id())).isFalse();
            assertThat(registry.connections(TUNNEL.id())).isEmpty();
        } finally {
            tls.finishClose();
            channel.finishAndReleaseAll();
        }
    }

    /**
     * The timeout passes while the token is looked up, and the close it asks for waits (TLS: for close_notify to be
     * written), so the connection is still open when the look-up answers: the answer is ignored, no 101 is written.
     */
    @Test
    void aTokenLookupAnsweredAfterTheHandshakeTimeoutWritesNoHundredOne() {
        TunnelRegistry registry = new TunnelRegistry();
        CloseAfterPendingWrites tls = new CloseAfterPendingWrites();
        List<Runnable> lookups = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(tls, new HttpServerCodec(), new HttpObjectAggregator(0),
                new TunnelHandshakeHandler(TunnelEndpointConfig.defaults().withHandshakeTimeout(TIMEOUT),
                        RawPeerEndpoint.oneToken(TUNNEL), registry, lookups::add,
                        new FailedLogins("tunnel endpoint", FailedLogins.TUNNEL)));
        try {
            channel.writeInbound(Unpooled.copiedBuffer(RawPeerEndpoint.upgradeRequest("/tunnel?token=" + TOKEN, ""),
                    StandardCharsets.ISO_8859_1));
            channel.runPendingTasks();
            assertThat(lookups).as("the token's look-up, held").hasSize(1);

            channel.advanceTimeBy(TIMEOUT.toMillis() + 1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            assertThat(tls.closeAsked).as("the timeout closed the connection").isTrue();
            assertThat(channel.isActive()).as("the close waits").isTrue();

            lookups.removeFirst().run();
            channel.runPendingTasks();
            lookups.forEach(Runnable::run);
            channel.runPendingTasks();

            // Before: the 101 was written on the closing connection (and the arrival recorded).
            assertThat(tls.held).as("writes after the close").isEmpty();
            assertThat(registry.isConnected(TUNNEL.id())).isFalse();
        } finally {
            tls.finishClose();
            channel.finishAndReleaseAll();
        }
    }

    /** Holds writes as a TLS handler whose peer reads slowly does; a close writes them, then waits for finishClose. */
    private static final class CloseAfterPendingWrites extends ChannelOutboundHandlerAdapter {
        final List<ChannelPromise> held = new ArrayList<>();
        boolean closeAsked;
        int writtenAtClose;
        private ChannelHandlerContext ctx;
        private final List<ChannelPromise> closes = new ArrayList<>();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ReferenceCountUtil.release(msg);
            held.add(promise);
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            if (!closeAsked) {
                closeAsked = true;
                writtenAtClose = held.size();
            }
            closes.add(promise);
            List<ChannelPromise> written = new ArrayList<>(held);
            held.clear();
            written.forEach(ChannelPromise::setSuccess);
        }

        void finishClose() {
            closes.forEach(ctx::close);
        }
    }
}
