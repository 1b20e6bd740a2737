package io.netty.channel.epoll;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.picotunnel.protocol.net.LoopCpu;
import io.picotunnel.protocol.net.ReaderWhenAsked;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link QuietWhileIdle}, through {@link HalfClosedEpollChannels#keepRegisteredReadingOnlyWhenAsked} alone, no relay:
 * a socket whose output is shut and whose reads wait, once its peer's FIN comes in, gets EPOLLHUP at every epoll_wait,
 * an event Netty's epoll has no handler for. Its loop must stay idle, and what the peer sent be read whole once asked.
 */
class QuietWhileIdleTest {

    private static final int TCP_CLOSE = 7;
    private static final byte[] UNREAD = "sent while the reads waited".getBytes();

    private EventLoopGroup group;
    private Channel listener;
    private final CompletableFuture<Channel> accepted = new CompletableFuture<>();
    private final ReaderWhenAsked reader = new ReaderWhenAsked();
    private Socket peer;
    /** The look at the socket's error that the QuietWhileIdle of the accepted socket makes. */
    private volatile Predicate<Channel> errorLook = HalfClosedEpollChannels::hasFailed;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        group = Transport.newEventLoopGroup(1, "quiet-while-idle-test");
        listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addFirst(QuietWhileIdle.NAME,
                                new QuietWhileIdle(socket -> errorLook.test(socket)));
                        HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(channel);
                        channel.pipeline().addLast(reader);
                        accepted.complete(channel);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        peer = new Socket(InetAddress.getLoopbackAddress(), ((InetSocketAddress) listener.localAddress()).getPort());
        peer.setSoTimeout(10_000);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (peer != null) {
            peer.close();
        }
        if (listener != null) {
            listener.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /** A read completes and none follows; then the output is shut: the socket is quieted by the shutdown. */
    @Test
    void aSocketShutAfterItsReadsStoppedThenEndedLeavesItsLoopIdle() throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        peer.getOutputStream().write("first".getBytes());
        channel.read();
        await().atMost(Duration.ofSeconds(10)).until(() -> reader.received().equals("first"));

        ((DuplexChannel) channel).shutdownOutput().sync();
        assertThat(peer.getInputStream().read()).as("the socket's FIN").isEqualTo(-1);

        peerSendsThenEndsThenTheLoopStaysIdle(channel);
        readsTheRestWhenAsked(channel, "first");
    }

    /** The output is shut while a read is pending; that read then completes and none follows: quieted by the read. */
    @Test
    void aSocketWhoseReadsStopAfterItsOutputIsShutThenEndedLeavesItsLoopIdle() throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        channel.read();
        ((DuplexChannel) channel).shutdownOutput().sync();
        assertThat(peer.getInputStream().read()).as("the socket's FIN").isEqualTo(-1);
        peer.getOutputStream().write("first".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> reader.received().equals("first"));

        peerSendsThenEndsThenTheLoopStaysIdle(channel);
        readsTheRestWhenAsked(channel, "first");
    }

    /**
     * Quieted, a reset of the peer is reported once and the read Netty makes of it takes bytes still waiting, not the
     * error, which then raised no event (it was found at the look every 5 s): the error is fired down the pipeline at
     * once, in words Netty's SslHandler does not take for the harmless end of a TLS session whose close_notify came in
     * (it would swallow it and close the socket as if it ended cleanly, and a relay behind it would pass a FIN on
     * instead of a reset).
     */
    @Test
    void aResetWhileTheSocketIsQuietReachesThePipeline() throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        // Only looks before the first look every ERROR_WATCH, which comes that long after the socket is quieted, may
        // find the reset: the wait need not tell the reset's own event from that look by its bound (3 s, which a
        // loaded machine's loop overran once), and a reset found by that look never comes.
        long firstLookWhileQuiet = System.nanoTime() + HalfClosedEpollChannels.ERROR_WATCH.toNanos();
        errorLook = socket -> System.nanoTime() - firstLookWhileQuiet < 0 && HalfClosedEpollChannels.hasFailed(socket);
        quietThenReset(channel);

        await("the reset fired down the pipeline").atMost(Duration.ofSeconds(20)).until(() -> reader.failed.isDone());
        assertThat(reader.failed.get().getMessage()).as("a message SslHandler ignores after close_notify")
                .doesNotMatch(sslHandlerIgnorableMessages());
        assertThat(reader.failed.get()).isInstanceOf(PeerResetWhileIdleException.class);
    }

    /**
     * The look at the socket's error clears it: a reset it found and fired that no handler acted on would be told by
     * nothing else (the socket, edge-triggered, reports no more events, and a read would find a clean end), so the
     * socket is closed, as after a read again that finds one.
     */
    @Test
    void aResetFoundAtAReadNoHandlerAskedForClosesTheSocketThoughNoHandlerDoes() throws Exception {
        Channel channel = quietThenResetWithAHandlerThatSwallowsErrors();

        await("the socket closed").atMost(Duration.ofSeconds(3)).until(() -> !channel.isOpen());
    }

    /** So does a reset found by the look every {@link HalfClosedEpollChannels#ERROR_WATCH} (forced: the first misses). */
    @Test
    void aResetFoundByTheLookWhileQuietClosesTheSocketThoughNoHandlerDoes() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        errorLook = socket -> looks.incrementAndGet() > 1 && HalfClosedEpollChannels.hasFailed(socket);
        Channel channel = quietThenResetWithAHandlerThatSwallowsErrors();

        await("the socket closed").atMost(HalfClosedEpollChannels.ERROR_WATCH.plusSeconds(5))
                .until(() -> !channel.isOpen());
        assertThat(looks.get()).as("the look at the read no handler asked for, then one look").isEqualTo(2);
    }

    private Channel quietThenResetWithAHandlerThatSwallowsErrors() throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        CompletableFuture<Throwable> swallowed = new CompletableFuture<>();
        channel.pipeline().addAfter(QuietWhileIdle.NAME, "swallows-errors", new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                swallowed.complete(cause);
            }
        });
        quietThenReset(channel);
        assertThat(swallowed.get(HalfClosedEpollChannels.ERROR_WATCH.plusSeconds(5).toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(PeerResetWhileIdleException.class);
        return channel;
    }

    /** The socket's output is shut, its reads wait and it is quieted; the peer then sends bytes and resets. */
    private void quietThenReset(Channel channel) throws Exception {
        ((DuplexChannel) channel).shutdownOutput().sync();
        await("the socket reports its events once").atMost(Duration.ofSeconds(10))
                .until(() -> channel.eventLoop().submit(() -> HalfClosedEpollChannels.reportsEventsOnce(channel)).get());

        peer.getOutputStream().write(UNREAD);
        peer.setSoLinger(true, 0);
        peer.close();
    }

    /**
     * A reset of the peer after the socket's end of input was read: Netty's epoll reads the socket no more, and its loop
     * spun on the reset's EPOLLERR and EPOLLHUP, with no event for the pipeline. The reset reaches the pipeline at once,
     * the loop idle while the socket is half-closed, its reader asking to read on after the end.
     */
    @Test
    void aResetAfterTheEndOfInputReachesThePipelineAtOnce() throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        peer.getOutputStream().write("first".getBytes());
        peer.shutdownOutput();
        reader.draining.set(true);
        channel.read();
        await("the peer's end").atMost(Duration.ofSeconds(10)).until(reader.ended::isDone);
        Duration cpu = Duration.ofNanos(LoopCpu.nanosDuring(channel, Duration.ofSeconds(1)));
        assertThat(cpu).as("CPU time of the socket's loop over 1 s, half-closed").isLessThan(Duration.ofMillis(200));

        peer.setSoLinger(true, 0);
        peer.close();

        await("the reset fired down the pipeline").atMost(Duration.ofSeconds(3)).until(() -> reader.failed.isDone());
        assertThat(reader.failed.get()).isInstanceOf(PeerResetWhileIdleException.class);
        assertThat(reader.failed.get().getMessage()).as("a message SslHandler ignores after close_notify")
                .doesNotMatch(sslHandlerIgnorableMessages());
        assertThat(reader.received()).isEqualTo("first");
    }

    /**
     * Should an EPOLLERR ever come with no error in SO_ERROR (forced here: the look finds none, and the reset's error
     * stays, raising EPOLLERR at every wait), the socket is read again {@value QuietWhileIdle#ROUNDS_WITHOUT_ERROR}
     * times, not at every wait for ever.
     */
    @Test
    void anErrorEventWithNoErrorFoundHasTheSocketReadAgainABoundedNumberOfTimes() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        errorLook = socket -> {
            looks.incrementAndGet();
            return false;
        };
        endThenResetThenTheReadsAgain(looks);

        await("no more").during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> looks.get() == QuietWhileIdle.ROUNDS_WITHOUT_ERROR);
    }

    /**
     * Once the reads again stopped at their bound (forced here: the looks of the reads again find no error), a reset is
     * still found, by a look at the socket's error every {@link HalfClosedEpollChannels#ERROR_WATCH}: an HTTP/1.1
     * visitor's connection has no such look of its own, nor has a relay, and its loop spun on the reset's EPOLLERR and
     * EPOLLHUP until the answer's first write or --proxy-timeout closed the socket.
     */
    @Test
    void aResetTheReadsAgainMissedIsFoundByALookAtTheSocketsError() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        errorLook = socket -> looks.incrementAndGet() > QuietWhileIdle.ROUNDS_WITHOUT_ERROR
                && HalfClosedEpollChannels.hasFailed(socket);
        Channel channel = endThenResetThenTheReadsAgain(looks);

        await("the reset fired down the pipeline").atMost(HalfClosedEpollChannels.ERROR_WATCH.plusSeconds(5))
                .until(() -> reader.failed.isDone());
        assertThat(reader.failed.get()).isInstanceOf(PeerResetWhileIdleException.class);
        assertThat(looks.get()).as("the reads again, then one look").isEqualTo(QuietWhileIdle.ROUNDS_WITHOUT_ERROR + 1);
        await("the socket closed").atMost(Duration.ofSeconds(3)).until(() -> !channel.isOpen());
    }

    /**
     * The peer ends its output, which the socket reads, then resets: the socket is read again at the reset's EPOLLERR,
     * each read again counted in {@code looks} by {@link #errorLook}, {@value QuietWhileIdle#ROUNDS_WITHOUT_ERROR} of
     * them when it finds no error.
     */
    private Channel endThenResetThenTheReadsAgain(AtomicInteger looks) throws Exception {
        Channel channel = accepted.get(10, TimeUnit.SECONDS);
        peer.shutdownOutput();
        channel.read();
        await("the peer's end").atMost(Duration.ofSeconds(10)).until(reader.ended::isDone);

        peer.setSoLinger(true, 0);
        peer.close();
        await("the reads again").atMost(Duration.ofSeconds(3))
                .until(() -> looks.get() >= QuietWhileIdle.ROUNDS_WITHOUT_ERROR);
        return channel;
    }

    private static Pattern sslHandlerIgnorableMessages() throws ReflectiveOperationException {
        Field pattern = SslHandler.class.getDeclaredField("IGNORABLE_ERROR_MESSAGE");
        pattern.setAccessible(true);
        return (Pattern) pattern.get(null);
    }

    private void peerSendsThenEndsThenTheLoopStaysIdle(Channel channel) throws Exception {
        peer.getOutputStream().write(UNREAD);
        peer.shutdownOutput();
        await("the peer's FIN in the socket").atMost(Duration.ofSeconds(10))
                .until(() -> ((EpollSocketChannel) channel).tcpInfo().state() == TCP_CLOSE);

        Duration cpu = Duration.ofNanos(LoopCpu.nanosDuring(channel, Duration.ofSeconds(2)));
        assertThat(cpu).as("CPU time of the socket's loop over 2 s").isLessThan(Duration.ofMillis(200));
    }

    private void readsTheRestWhenAsked(Channel channel, String before) {
        reader.draining.set(true);
        channel.read();
        await("the peer's bytes and end").atMost(Duration.ofSeconds(10)).until(reader.ended::isDone);
        assertThat(reader.received()).isEqualTo(before + new String(UNREAD));
    }
}
