package io.picotunnel.protocol.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Runs in the default test execution and again in the NIO one (protocol/pom.xml, {@code -Dpicotunnel.epoll=false}). */
class TransportTest {

    @Test
    void epollOnLinuxUnlessSwitchedOff() {
        boolean switchedOff = "false".equals(System.getProperty("picotunnel.epoll"));
        boolean linuxX64 = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64");
        boolean expectEpoll = linuxX64 && !switchedOff;
        assertThat(Transport.isEpoll()).isEqualTo(expectEpoll);
        assertThat(Transport.socketChannel()).isEqualTo(expectEpoll ? EpollSocketChannel.class : NioSocketChannel.class);
    }

    /**
     * A relay reads one buffer per read request, so the largest buffer is what one pass of the event loop moves.
     * With 1 MiB waiting in the socket, reads grow past Netty's default largest (64 KiB) to {@link Transport#MAX_READ}.
     */
    @Test
    void bulkReadsGrowPast64KiBUpToTheLargestRead() throws Exception {
        List<Integer> reads = readsOf(Transport.bulkReads(), 1024 * 1024);
        assertThat(reads.stream().mapToInt(Integer::intValue).max().orElse(0))
                .as("largest read of %s", reads).isGreaterThan(64 * 1024).isLessThanOrEqualTo(Transport.MAX_READ);
    }

    /** A tunnel connection's reads grow to twice {@link Transport#MAX_READ}, and no further. */
    @Test
    void tunnelReadsGrowPastTheRelaysLargestReadToTwiceIt() throws Exception {
        List<Integer> reads = readsOf(Transport.tunnelReads(), 2 * 1024 * 1024);
        assertThat(reads.stream().mapToInt(Integer::intValue).max().orElse(0))
                .as("largest read of %s", reads).isGreaterThan(Transport.MAX_READ)
                .isLessThanOrEqualTo(2 * Transport.MAX_READ);
    }

    /** The sizes of the reads of {@code total} bytes that wait in a socket before it is read, one read per request. */
    private static List<Integer> readsOf(RecvByteBufAllocator allocator, int total) throws Exception {
        List<Integer> reads = new CopyOnWriteArrayList<>();
        AtomicLong received = new AtomicLong();
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        EventLoopGroup group = Transport.newEventLoopGroup(1, "transport-test");
        try {
            Channel server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.SO_RCVBUF, 2 * total)
                    .childOption(ChannelOption.RECVBUF_ALLOCATOR, allocator)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    int n = ((ByteBuf) msg).readableBytes();
                                    reads.add(n);
                                    received.addAndGet(n);
                                    ReferenceCountUtil.release(msg);
                                }

                                @Override
                                public void channelReadComplete(ChannelHandlerContext ctx) {
                                    ctx.read(); // one buffer per request, as the relay reads
                                }
                            });
                            accepted.complete(ch);
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try (Socket client = new Socket()) {
                client.setSendBufferSize(2 * total);
                client.connect(server.localAddress(), 5_000);
                Channel child = accepted.get(5, TimeUnit.SECONDS);
                try (OutputStream out = client.getOutputStream()) {
                    out.write(new byte[total]); // all of it fits in the receive buffer: nothing is read yet
                    out.flush();
                    child.read();
                    await().atMost(Duration.ofSeconds(10)).until(() -> received.get() == total);
                }
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        return reads;
    }
}
