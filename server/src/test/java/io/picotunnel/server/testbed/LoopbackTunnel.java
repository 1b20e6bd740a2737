package io.picotunnel.server.testbed;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Queue;

/**
 * A yamux session over loopback TCP registered in a {@link TunnelRegistry} as tunnel {@code tunnelId}, whose
 * client side dials each stream's header target and relays it: the client's stream forwarding without the
 * WebSocket, for testing the HTTPS listener's passthrough and the tcp services in isolation.
 */
public final class LoopbackTunnel implements AutoCloseable {

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "loopback-tunnel");
    private final Channel server;
    private final Channel client;

    public LoopbackTunnel(TunnelRegistry registry, String tunnelId) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        YamuxSession session = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public boolean isSharable() {
                                        return true;
                                    }

                                    @Override
                                    public void channelActive(ChannelHandlerContext ctx) {
                                        ctx.close();
                                    }
                                });
                        ch.pipeline().addLast(session);
                        registry.register(tunnelId, null, session, null, null);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        client = new Bootstrap().group(group).channel(Transport.socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new YamuxSession(YamuxRole.CLIENT, YamuxConfig.defaults(),
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel stream) {
                                        stream.pipeline().addLast(new StreamHeaderDecoder(), new DialTarget());
                                    }
                                }));
                    }
                })
                .connect(server.localAddress()).sync().channel();
    }

    /** Dials the header's target, holds what arrives meanwhile, then relays. */
    private static final class DialTarget extends ChannelInboundHandlerAdapter {
        private final Queue<Object> held = new ArrayDeque<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof StreamHeader header)) {
                held.add(msg);
                return;
            }
            Channel stream = ctx.channel();
            stream.config().setAutoRead(false);
            ChannelFuture connect = new Bootstrap().group(stream.eventLoop()).channel(Transport.socketChannel())
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(header.host(), header.port());
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    held.forEach(ReferenceCountUtil::release);
                    stream.close();
                    return;
                }
                Relay.start(stream, connect.channel());
                ctx.pipeline().remove(this);
            });
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
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
    }

    @Override
    public void close() {
        client.close().syncUninterruptibly();
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
