package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;

import java.net.InetSocketAddress;
import java.util.function.Consumer;

/** Connects straight to the target over TCP, standing in for the tunnel's client where no tunnel is under test. */
final class DirectOpener implements UpstreamOpener {

    private final EventLoopGroup group;
    /** Given each stream's pipeline once the proxy's handlers are in it; null for none. */
    private final Consumer<ChannelPipeline> onStream;

    DirectOpener(EventLoopGroup group) {
        this(group, null);
    }

    DirectOpener(EventLoopGroup group, Consumer<ChannelPipeline> onStream) {
        this.group = group;
        this.onStream = onStream;
    }

    @Override
    public Future<? extends Channel> open(Service service, ChannelHandler handler) {
        String[] hostPort = service.targetAddr().split(":");
        Promise<Channel> promise = ImmediateEventExecutor.INSTANCE.newPromise();
        ChannelFuture connect = new Bootstrap().group(group).channel(Transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .handler(onStream == null ? handler : new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(handler); // the proxy's initializer runs here: its handlers go in
                        onStream.accept(ch.pipeline());
                    }
                })
                .connect(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])));
        connect.addListener(f -> {
            if (f.isSuccess()) {
                promise.trySuccess(connect.channel());
            } else {
                promise.tryFailure(f.cause());
            }
        });
        return promise;
    }
}
