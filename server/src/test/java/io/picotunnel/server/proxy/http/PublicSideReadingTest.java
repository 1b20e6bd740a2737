package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How the proxy reads a public HTTP/1.1 connection: on between keep-alive requests (no change of the socket's read
 * interest per request), off once what the visitor sent cannot go on, so a visitor pipelining requests behind one
 * that waits for a slow target is read only a few socket reads ahead.
 */
class PublicSideReadingTest {

    private static final int PIPELINED_BYTES = 16 * 1024 * 1024;

    private EventLoopGroup group;
    private TargetServer target;
    private Channel listener;
    private HttpProxy proxy;
    private final AtomicReference<Channel> visitorChannel = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(2, "reading-test");
        target = new TargetServer("reading");
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "reading.test", "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        proxy = HttpProxy.builder().routes(routes).opener(new DirectOpener(group)).build();
        listen(64 * 1024);
    }

    /** The proxy's listener; a fixed receive buffer keeps what the kernel holds for it known. */
    private void listen(int receiveBuffer) throws InterruptedException {
        if (listener != null) {
            listener.close().sync();
        }
        listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.SO_RCVBUF, receiveBuffer)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        visitorChannel.set(ch);
                        proxy.initHttp1(ch.pipeline(), false);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    @AfterEach
    void stop() {
        listener.close().syncUninterruptibly();
        target.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    private boolean reading() throws Exception {
        Channel channel = visitorChannel.get();
        return channel.eventLoop().submit(() -> channel.config().isAutoRead()).get(10, TimeUnit.SECONDS);
    }

    @Test
    void keepAliveRequestsLeaveThePublicSideReadingBetweenRequests() throws Exception {
        try (RawHttp http = new RawHttp(port())) {
            for (int i = 0; i < 3; i++) {
                assertThat(http.get("reading.test", "/r" + i).text()).contains("uri=/r" + i + "\n");
                assertThat(reading()).as("reading after request %d", i).isTrue();
            }
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAndTheReadingGoesOn() throws Exception {
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            requests.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: reading.test\r\n\r\n");
        }
        try (RawHttp http = new RawHttp(port())) {
            http.send(requests.toString());
            for (int i = 0; i < 50; i++) {
                assertThat(http.read().text()).contains("uri=/p" + i + "\n");
            }
            await().atMost(Duration.ofSeconds(10)).until(this::reading);
            assertThat(http.get("reading.test", "/after").text()).contains("uri=/after\n");
        }
    }

    @Test
    void aLongPipelinedBurstStopsAndResumesTheReadingUntilEveryRequestIsAnswered() throws Exception {
        listen(4 * 1024 * 1024);
        // 90 requests of 2 KB: the reading stops (at 8 waiting messages) and resumes some 20 times. (Past 100
        // pipelined requests the connection is reset, with the proxy of before this change too: see the issue note.)
        int count = 90;
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < count; i++) {
            requests.append("GET /b").append(i).append(" HTTP/1.1\r\nHost: reading.test\r\nX-Pad: ")
                    .append("y".repeat(2000)).append("\r\n\r\n");
        }
        try (RawHttp http = new RawHttp(port())) {
            Thread writer = Thread.ofVirtual().name("burst").start(() -> {
                try {
                    http.send(requests.toString());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            for (int i = 0; i < count; i++) {
                assertThat(http.read().text()).as("answer %d", i).contains("uri=/b" + i + "\n");
            }
            writer.join(10_000);
            assertThat(http.get("reading.test", "/after").text()).contains("uri=/after\n");
        }
    }

    @Test
    void requestsPipelinedBehindOneThatWaitsAreReadOnlyAFewReadsAheadEvenWithAReadBatchOfManyReads()
            throws Exception {
        listen(8 * 1024 * 1024); // room for many socket reads in one epoll read batch
        byte[] request = ("GET /p HTTP/1.1\r\nHost: reading.test\r\nX-Pad: " + "x".repeat(1000) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] burst = new byte[request.length * 4000];
        for (int i = 0; i < 4000; i++) {
            System.arraycopy(request, 0, burst, i * request.length, request.length);
        }
        try (SocketChannel visitor = SocketChannel.open(new InetSocketAddress("127.0.0.1", port()))) {
            visitor.write(ByteBuffer.wrap("GET /hang HTTP/1.1\r\nHost: reading.test\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer all = ByteBuffer.wrap(burst);
            while (all.hasRemaining()) {
                visitor.write(all); // 4 MB: the kernel's buffers take it all
            }
            await("the proxy stops reading").atMost(Duration.ofSeconds(20)).until(() -> !reading());
            ProxyHandler handler = visitorChannel.get().pipeline().get(ProxyHandler.class);
            int waiting = visitorChannel.get().eventLoop().submit(handler::pendingMessages).get(10, TimeUnit.SECONDS);
            // a 64 KiB socket read holds about 60 of these requests, two messages each
            assertThat(waiting).as("messages decoded and waiting").isLessThanOrEqualTo(200);
        }
    }

    @Test
    void requestsPipelinedBehindOneThatWaitsAreReadOnlyAFewReadsAhead() throws Exception {
        byte[] request = ("GET /p HTTP/1.1\r\nHost: reading.test\r\nX-Pad: " + "x".repeat(4000) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        AtomicLong written = new AtomicLong();
        SocketChannel visitor = SocketChannel.open();
        try {
            visitor.setOption(StandardSocketOptions.SO_SNDBUF, 64 * 1024);
            visitor.connect(new InetSocketAddress("127.0.0.1", port()));
            visitor.write(ByteBuffer.wrap("GET /hang HTTP/1.1\r\nHost: reading.test\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII)));
            Thread writer = Thread.ofVirtual().name("pipelining-visitor").start(() -> {
                try {
                    while (written.get() + request.length <= PIPELINED_BYTES) {
                        ByteBuffer buffer = ByteBuffer.wrap(request);
                        while (buffer.hasRemaining()) {
                            written.addAndGet(visitor.write(buffer));
                        }
                    }
                } catch (IOException e) {
                    // closed by the test once it has seen the writes stall
                }
            });
            await("the proxy stops reading").atMost(Duration.ofSeconds(20)).until(() -> !reading());
            await("the visitor's writes stall well below what it would send")
                    .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> written.get() < PIPELINED_BYTES / 8 && writer.isAlive());
            visitor.close(); // ends the blocked writer
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        } finally {
            visitor.close();
        }
    }
}
