package io.picotunnel.protocol.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.SocketEnding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.testkit.SocketEnding.readToEndOrReset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A relay between a socket and a yamux stream, the socket on another event loop than the session, as in the
 * server and the client: a stream reset, its session lost included, reaches the socket as a TCP reset in every
 * order of events, and only a stream whose whole data went through ends the socket with a clean EOF.
 */
class RelayStreamResetTest {

    private EventLoopGroup sessionLoop;
    private EventLoopGroup socketLoop;
    private Channel yamuxListener;
    private Channel socketListener;
    private Channel opener;
    private YamuxSession openingSession;
    private final CompletableFuture<Channel> acceptedSocket = new CompletableFuture<>();
    private final LinkedBlockingQueue<YamuxStreamChannel> far = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp() throws Exception {
        sessionLoop = Transport.newEventLoopGroup(1, "relay-reset-session");
        socketLoop = Transport.newEventLoopGroup(1, "relay-reset-socket");
        // The far session (the "client"): every stream it accepts goes to the test, which writes on it.
        yamuxListener = new ServerBootstrap().group(sessionLoop).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new YamuxSession(YamuxRole.CLIENT, YamuxConfig.defaults(),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelActive(ChannelHandlerContext ctx) {
                                        far.add((YamuxStreamChannel) ctx.channel());
                                        ctx.fireChannelActive();
                                    }
                                }));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        openingSession = new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(), new ChannelInboundHandlerAdapter());
        opener = new Bootstrap().group(sessionLoop).channel(Transport.socketChannel()).handler(openingSession)
                .connect(yamuxListener.localAddress()).sync().channel();
        // The public side: sockets on their own event loop, read only by the relay.
        socketListener = new ServerBootstrap().group(socketLoop).channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.SO_SNDBUF, 2 * 1024 * 1024)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        acceptedSocket.complete(ch);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    @AfterEach
    void tearDown() {
        for (Channel channel : new Channel[] {opener, yamuxListener, socketListener}) {
            if (channel != null) {
                channel.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        }
        socketLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        sessionLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void sessionLostMidTransferResetsTheSocket() throws Exception {
        try (Socket visitor = connectVisitor()) {
            YamuxStreamChannel stream = openStream();
            Relay.start(acceptedSocket.get(10, TimeUnit.SECONDS), stream);
            YamuxStreamChannel farStream = far.poll(10, TimeUnit.SECONDS);
            farStream.writeAndFlush(Unpooled.wrappedBuffer(new byte[100_000])).sync();
            InputStream in = visitor.getInputStream();
            assertThat(in.readNBytes(50_000)).hasSize(50_000);

            loseSession();

            assertThat(readToEndOrReset(in).how()).isEqualTo("reset: Connection reset");
        }
    }

    @Test
    void streamResetBeforeTheRelayStartsResetsTheSocket() throws Exception {
        try (Socket visitor = connectVisitor()) {
            YamuxStreamChannel stream = openStream();
            Channel socket = acceptedSocket.get(10, TimeUnit.SECONDS);
            loseSession();
            await().atMost(Duration.ofSeconds(10)).until(() -> stream.isReset() && !stream.isActive());

            Relay.start(socket, stream);

            assertThat(readToEndOrReset(visitor.getInputStream()).how()).isEqualTo("reset: Connection reset");
        }
    }

    /**
     * The socket is reset after the relay started and before the hold in front of it was released (as the
     * client's target socket, whose hold is released by a task that comes after the relay's start): the hold
     * took the failure and closed the socket, and the relay passed that close on as a clean end of the stream.
     */
    @Test
    void socketResetWhileItsHoldIsStillInPlaceResetsTheStream() throws Exception {
        Socket visitor = connectVisitor();
        try {
            YamuxStreamChannel stream = openStream();
            Channel socket = acceptedSocket.get(10, TimeUnit.SECONDS);
            Hold hold = new Hold();
            socket.eventLoop().submit(() -> socket.pipeline().addLast(hold)).sync();
            Relay.start(stream, socket);
            // The relay's handler is in place and has asked the socket for a read.
            socket.eventLoop().submit(() -> { }).sync();
            YamuxStreamChannel farStream = far.poll(10, TimeUnit.SECONDS);

            visitor.setSoLinger(true, 0);
            visitor.close();

            await().atMost(Duration.ofSeconds(10)).until(() -> !socket.isOpen());
            await("the far end of the stream sees a reset, not an EOF").atMost(Duration.ofSeconds(10))
                    .until(farStream::isReset);
            socket.eventLoop().submit(hold::release).sync();
        } finally {
            visitor.close();
        }
    }

    @Test
    void sessionLostAfterTheStreamsEofWentThroughEndsTheSocketCleanly() throws Exception {
        try (Socket visitor = connectVisitor()) {
            YamuxStreamChannel stream = openStream();
            Channel socket = acceptedSocket.get(10, TimeUnit.SECONDS);
            Relay.start(socket, stream);
            YamuxStreamChannel farStream = far.poll(10, TimeUnit.SECONDS);
            farStream.write(Unpooled.wrappedBuffer(new byte[600_000]));
            farStream.shutdownOutput();
            // Everything, then the EOF, was handed to the socket, whose kernel still holds most of it: the
            // visitor reads nothing yet and its receive buffer is small. A reset now would throw that away.
            await().atMost(Duration.ofSeconds(10)).until(() -> ((DuplexChannel) socket).isOutputShutdown());

            loseSession();
            await().atMost(Duration.ofSeconds(10)).until(() -> !socket.isOpen());

            assertThat(readToEndOrReset(visitor.getInputStream())).isEqualTo(new SocketEnding(600_000, "eof"));
        }
    }

    private Socket connectVisitor() throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(32 * 1024);
        socket.connect(socketListener.localAddress());
        socket.setSoTimeout(20_000);
        return socket;
    }

    private YamuxStreamChannel openStream() throws Exception {
        return openingSession.openStream(new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                ctx.channel().config().setAutoRead(false);
            }
        }).get(10, TimeUnit.SECONDS);
    }

    /** The session's connection ends without a word, as when the peer process dies. */
    private void loseSession() {
        opener.config().setOption(ChannelOption.SO_LINGER, 0);
        opener.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
