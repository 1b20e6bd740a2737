package io.picotunnel.server.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.ResetOnDeath;
import io.picotunnel.server.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLSocket;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The lingering close after a last answer, over real sockets. */
class LingeringCloseTest {

    /** Far more than the socket buffers on the way hold while the visitor does not read. */
    private static final int ANSWER = 8 * 1024 * 1024;
    private static final LingeringClose.Bounds SHORT = new LingeringClose.Bounds(Duration.ofMillis(200),
            Duration.ofMillis(500), 1024 * 1024);

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "lingering-close-test");

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aLongLastAnswerThatTheVisitorTakesInSlowlyIsNotCutByTheLingerBounds() throws Exception {
        try (LoopbackVisitor visitor = LoopbackVisitor.connect(group, channel ->
                LingeringClose.after(channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER])), SHORT))) {
            Channel answering = visitor.answering();

            // The visitor reads nothing for several times the bounds: the answer is still being written.
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(answering::isActive);

            InputStream in = visitor.in();
            byte[] buffer = new byte[64 * 1024];
            long read = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                read += n;
            }
            assertThat(read).as("bytes of the answer read before its end").isEqualTo(ANSWER);
        }
    }

    /**
     * A death of the process once the output is shut (the FIN queued behind the answer) must end the answer with that
     * FIN: the socket's zero linger is off by the time the output is shut, not just after it, when a death in between
     * (the loop held there by a busy machine) reset the connection and dropped what the kernel still held.
     */
    @Test
    void theOutputOfAnAnswerDelimitedByTheCloseIsShutWithZeroLingerAlreadyOff() throws Exception {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompletableFuture<Integer> lingerAtShutdown = new CompletableFuture<>();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Channel answering = new Bootstrap().group(nio)
                    .channelFactory(() -> new NioSocketChannel() {
                        @Override
                        public ChannelFuture shutdownOutput(ChannelPromise promise) {
                            lingerAtShutdown.complete(config().getSoLinger());
                            return super.shutdownOutput(promise);
                        }
                    })
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()))
                    .sync().channel();
            try (Socket visitor = listener.accept()) {
                answering.eventLoop().submit(() -> {
                    ResetOnDeath.arm(answering); // as the proxy does for an HTTP/1.0 answer without a length
                    LingeringClose.after(answering.writeAndFlush(Unpooled.wrappedBuffer(new byte[64 * 1024])), SHORT);
                }).sync();

                assertThat(lingerAtShutdown.get(10, TimeUnit.SECONDS)).as("SO_LINGER when the output is shut")
                        .isEqualTo(-1);
                visitor.setSoTimeout(10_000);
                assertThat(visitor.getInputStream().readAllBytes()).hasSize(64 * 1024);
            }
        } finally {
            nio.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * Over TLS the answer ends with close_notify, then the FIN, with zero linger off by the time the output is shut;
     * what the visitor still sends after it (TLS 1.3 leaves its side open) is read and dropped until the bounds, not
     * answered with a reset as a close at once would.
     */
    @Test
    void overTlsTheAnswerEndsWithCloseNotifyThenTheFinAndWhatTheVisitorSendsAfterItIsDrained() throws Exception {
        TestCertificates certificates = new TestCertificates();
        TestCertificates.Issued issued = certificates.issue("localhost");
        SslContext ssl = SslContextBuilder.forServer(issued.keyPair().getPrivate(), issued.chain()).build();
        byte[] answer = new byte[64 * 1024];
        Arrays.fill(answer, (byte) 'a');
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompletableFuture<AtShutdown> atShutdown = new CompletableFuture<>();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            new Bootstrap().group(nio)
                    .channelFactory(() -> new NioSocketChannel() {
                        @Override
                        public ChannelFuture shutdownOutput(ChannelPromise promise) {
                            atShutdown.complete(new AtShutdown(config().getSoLinger(),
                                    pipeline().get(SslHandler.class).engine().isOutboundDone()));
                            return super.shutdownOutput(promise);
                        }
                    })
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            channel.pipeline().addLast(ssl.newHandler(channel.alloc()),
                                    new AnswerOnceHandshaken(answer));
                        }
                    })
                    .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()))
                    .sync();
            try (Socket tcp = listener.accept(); SSLSocket visitor = (SSLSocket) certificates.clientContext()
                    .getSocketFactory().createSocket(tcp, "localhost", tcp.getPort(), true)) {
                visitor.setSoTimeout(10_000);
                InputStream in = visitor.getInputStream();

                assertThat(in.readNBytes(answer.length)).isEqualTo(answer);
                assertThat(in.read()).as("what follows the answer: close_notify, the end of the TLS stream")
                        .isEqualTo(-1);
                OutputStream out = visitor.getOutputStream();
                byte[] more = new byte[1024];
                await("the visitor's writes after the answer go on").during(Duration.ofMillis(500))
                        .atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(25)).until(() -> {
                            out.write(more);
                            out.flush();
                            return true;
                        });
                // The JDK's TLS socket takes a FIN without close_notify for the end too: the engine says it was sent.
                assertThat(atShutdown.get(10, TimeUnit.SECONDS)).as("when the output is shut")
                        .isEqualTo(new AtShutdown(-1, true));
            }
        } finally {
            nio.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }

    /** When the output is shut: its SO_LINGER, and whether the TLS engine had written close_notify. */
    private record AtShutdown(int linger, boolean closeNotifySent) {
    }

    /** Once the TLS handshake is done: arms the reset on death, writes the answer and closes after it lingering. */
    private static final class AnswerOnceHandshaken extends ChannelInboundHandlerAdapter {
        private final byte[] answer;

        AnswerOnceHandshaken(byte[] answer) {
            this.answer = answer;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake && handshake.isSuccess()) {
                ResetOnDeath.arm(ctx.channel()); // as the proxy does for an HTTP/1.0 answer without a length
                LingeringClose.after(ctx.channel().writeAndFlush(Unpooled.wrappedBuffer(answer)),
                        LingeringClose.Bounds.DEFAULT);
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
