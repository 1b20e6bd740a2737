package io.picotunnel.server.tls;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Queue;

/**
 * TLS passthrough: opens a {@code tcp} stream to the service's target through its tunnel and relays the raw
 * bytes both ways, the ClientHello the front door read first. TLS ends at the target behind the client.
 */
public final class TunnelPassthrough implements PassthroughForwarder {

    private static final Logger log = LoggerFactory.getLogger(TunnelPassthrough.class);

    private final TunnelRegistry tunnels;

    public TunnelPassthrough(TunnelRegistry tunnels) {
        this.tunnels = tunnels;
    }

    @Override
    public void forward(ChannelHandlerContext frontDoor, HttpsRoute.Passthrough route) {
        Channel client = frontDoor.channel();
        client.config().setAutoRead(false);
        Hold hold = new Hold();
        // Replacing the front door hands its buffered ClientHello to the hold, which keeps it for the relay.
        frontDoor.pipeline().replace(frontDoor.name(), "passthrough-hold", hold);
        Future<YamuxStreamChannel> opened = tunnels.openStream(route.tunnelId(), new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel stream) {
                // the relay adds its handler once the stream is open
            }
        });
        opened.addListener(f -> client.eventLoop().execute(() -> {
            if (!opened.isSuccess()) {
                log.info("TLS passthrough for {} from {} failed: {}", route.serverName(), client.remoteAddress(),
                        opened.cause().getMessage());
                hold.discard();
                client.close();
                return;
            }
            YamuxStreamChannel stream = opened.getNow();
            if (!client.isActive()) {
                hold.discard();
                stream.close();
                return;
            }
            stream.writeAndFlush(new StreamHeader(StreamType.TCP, route.targetAddr()).encode(stream.alloc()));
            Relay.start(client, stream);
            client.pipeline().remove(hold);
        }));
    }

    /** Keeps what arrives before the stream is open (the ClientHello) and passes it on when removed. */
    private static final class Hold extends ChannelInboundHandlerAdapter {
        private final Queue<Object> held = new ArrayDeque<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            held.add(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // nothing to pass on yet
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            boolean any = !held.isEmpty();
            Object msg;
            while ((msg = held.poll()) != null) {
                ctx.fireChannelRead(msg);
            }
            if (any) {
                ctx.fireChannelReadComplete();
            }
        }

        void discard() {
            Object msg;
            while ((msg = held.poll()) != null) {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            discard();
            ctx.close();
        }
    }
}
