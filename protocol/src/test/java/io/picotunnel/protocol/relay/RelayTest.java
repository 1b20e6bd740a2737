package io.picotunnel.protocol.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.HalfClosedEpollChannels;
import io.netty.channel.epoll.QuietWhileIdleSeam;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledTasks;
import io.picotunnel.protocol.net.LoopCpu;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.EpollInterest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Relay between an accepted socket and an outbound socket, over real loopback connections. */
class RelayTest {

    private static final int BUFFER = 128 * 1024;
    /** Linux's TCP_CLOSE, the state of a socket whose FIN went out and whose peer's FIN came in. */
    private static final int TCP_CLOSE = 7;
    /** Linux's TCP_CLOSE_WAIT, the state of a socket whose peer's FIN came in and whose own FIN did not go out. */
    private static final int TCP_CLOSE_WAIT = 8;
    /**
     * What must happen at once after a reset, well before the first look at the socket's error, which comes {@link
     * HalfClosedEpollChannels#ERROR_WATCH} (5 s) after the socket turned idle with its output shut, or after its reads
     * again at an EPOLLERR stopped at their bound ({@code QuietWhileIdle}'s), at least 4 s after the reset here.
     */
    private static final Duration AT_ONCE = Duration.ofSeconds(3);

    private EventLoopGroup group;
    private ServerSocket target;
    private Channel relayServer;
    private final List<Channel> relayedChannels = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final PendingBytes pendingTowardsTarget = new PendingBytes();
    private final RefusedWrites refusedTowardsTarget = new RefusedWrites();
    private final CompletableFuture<Integer> targetLingerAtShutdown = new CompletableFuture<>();
    /** The relay starts once this completes, the visitor's socket held until then. */
    private volatile CompletableFuture<Void> relayMayStart = CompletableFuture.completedFuture(null);
    /** How the visitor's socket is set up as it is accepted: as {@code TcpListener} does, unless a test says. */
    private volatile Consumer<Channel> armVisitorSocket = HalfClosedEpollChannels::keepRegisteredReadingOnlyWhenAsked;

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.newEventLoopGroup(2, "relay-test");
        target = new ServerSocket();
        target.setReceiveBufferSize(BUFFER);
        target.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        relayServer = new ServerBootstrap()
                .group(group)
                .channel(Transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                // As our listeners: what epoll reads before the relay runs (bytes, then the end of input) is held.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.SO_RCVBUF, BUFFER)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel inbound) {
                        relayedChannels.add(inbound);
                        armVisitorSocket.accept(inbound);
                        Hold hold = new Hold();
                        inbound.pipeline().addLast(hold);
                        connectTargetAndRelay(inbound, hold);
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    private void connectTargetAndRelay(Channel inbound, Hold hold) {
        new Bootstrap()
                .group(inbound.eventLoop())
                .channel(Transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.SO_SNDBUF, BUFFER)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel outbound) {
                        outbound.pipeline().addLast(pendingTowardsTarget,
                                new LingerAtOutputShutdown(targetLingerAtShutdown), refusedTowardsTarget);
                    }
                })
                .connect(target.getLocalSocketAddress())
                .addListener(connected -> {
                    if (connected.isSuccess()) {
                        Channel outbound = ((ChannelFuture) connected).channel();
                        relayedChannels.add(outbound);
                        Runnable start = () -> {
                            Relay.start(inbound, outbound);
                            hold.release();
                        };
                        CompletableFuture<Void> mayStart = relayMayStart;
                        if (mayStart.isDone()) {
                            start.run();
                        } else {
                            mayStart.thenRun(() -> inbound.eventLoop().execute(start));
                        }
                    } else {
                        inbound.close();
                    }
                });
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Socket socket : sockets) {
            socket.close();
        }
        target.close();
        relayServer.close().sync();
        threads.shutdownNow();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    @Test
    void bytesFlowBothWaysByteExact() throws Exception {
        byte[] up = random(4 * 1024 * 1024, 1);
        byte[] down = random(4 * 1024 * 1024, 2);
        Socket client = connectClient();
        Socket server = accept();

        Future<?> clientWrites = threads.submit(() -> writeAndShutdown(client, up));
        Future<?> serverWrites = threads.submit(() -> writeAndShutdown(server, down));
        Future<byte[]> serverReads = threads.submit(() -> readToEof(server));
        Future<byte[]> clientReads = threads.submit(() -> readToEof(client));

        assertSameBytes(serverReads.get(30, TimeUnit.SECONDS), up);
        assertSameBytes(clientReads.get(30, TimeUnit.SECONDS), down);
        clientWrites.get(5, TimeUnit.SECONDS);
        serverWrites.get(5, TimeUnit.SECONDS);
        awaitRelayClosed();
    }

    @Test
    void halfCloseDeliversRemainingDataThenEof() throws Exception {
        Socket client = connectClient();
        Socket server = accept();

        sendThenHalfClose(client, server, "request");

        // The other direction is still open after the client's EOF went through.
        sendThenHalfClose(server, client, "response");
        awaitRelayClosed();
    }

    @Test
    void targetEofFirstLeavesClientToTargetOpen() throws Exception {
        Socket client = connectClient();
        Socket server = accept();

        sendThenHalfClose(server, client, "banner");

        sendThenHalfClose(client, server, "late upload");
        awaitRelayClosed();
    }

    @Test
    void resetByTargetResetsTheClientConnection() throws Exception {
        Socket client = connectClient();
        Socket server = accept();
        client.getOutputStream().write(1);
        assertThat(server.getInputStream().read()).isEqualTo(1);

        server.setSoLinger(true, 0);
        server.close();

        assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketException.class);
        awaitRelayClosed();
    }

    /**
     * A write to the target that fails while its socket stays open (a handler in its pipeline refusing it, as a TLS
     * handler past its close_notify does) ends the relay with a reset of the visitor's connection: what the visitor
     * sent is lost, so it must not see a clean end, nor wait on a relay that drops its bytes.
     */
    @Test
    void aRefusedWriteToTheTargetResetsTheVisitorsConnection() throws Exception {
        Socket client = connectClient();
        Socket server = accept();
        client.getOutputStream().write(1);
        assertThat(server.getInputStream().read()).isEqualTo(1);

        refusedTowardsTarget.refusing = true;
        client.getOutputStream().write(2);
        client.setSoTimeout(10_000);

        assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketException.class);
        awaitRelayClosed();
        assertThat(refusedTowardsTarget.refused.get()).as("writes refused").isPositive();
    }

    @Test
    void slowReaderStallsTheSenderWithBoundedRelayBuffer() throws Exception {
        // Kept in epoll only: the relay must itself keep epoll from reading the socket to its end.
        armVisitorSocket = HalfClosedEpollChannels::keepRegistered;
        int total = 32 * 1024 * 1024;
        byte[] data = random(total, 3);
        Socket client = connectClient();
        Socket server = accept();
        AtomicLong written = new AtomicLong();
        Future<?> writer = threads.submit(() -> {
            writeInChunks(client, data, written);
            client.shutdownOutput();
            return null;
        });

        // The target reads nothing until the writer has stopped making progress.
        awaitStalled(written);
        assertThat(written.get()).isLessThan(total);
        assertThat(pendingTowardsTarget.max()).isLessThanOrEqualTo(2 * 1024 * 1024);
        // The inbound socket is set up with keepRegistered alone: the relay keeps epoll from reading it to its end at
        // the client's FIN. Checked before that FIN is on its way, as Netty stops asking for the event once it came.
        if (Transport.isEpoll()) {
            assertThat(EpollInterest.asksForThePeersEnd(((InetSocketAddress) relayServer.localAddress()).getPort(),
                    client.getLocalPort()))
                    .as("the relayed socket asks epoll for the client's end (EPOLLRDHUP), at which Netty reads it to"
                            + " its end whatever auto-read says").isFalse();
        }

        assertSameBytes(readToEof(server), data);
        writer.get(30, TimeUnit.SECONDS);
    }

    /**
     * A visitor that resets while its reads wait for a target that reads nothing: its socket (output open, so
     * level-triggered) got the reset's EPOLLERR at every wait, and Netty read it at each, no read asked for, passing
     * a buffer of what the visitor had sent to the relay, which wrote it to the target whatever its writability, until
     * the socket's receive queue was empty. Nothing more may be written to the target once the reset came, which ends
     * its connection with a reset. On NIO the reset raises nothing while the reads wait, until a write fails.
     */
    @Test
    void aSocketResetWhileItsReadsWaitForTheTargetHasNothingMoreWrittenToIt() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        Socket server = accept();
        AtomicLong written = new AtomicLong();
        threads.submit(() -> writeInChunks(client, random(32 * 1024 * 1024, 6), written));
        awaitStalled(written);
        long towardsTheTarget = pendingTowardsTarget.total();

        client.setSoLinger(true, 0);
        client.close();
        awaitRelayClosed();
        assertThat(pendingTowardsTarget.total()).as("bytes written to the target, all before the reset")
                .isEqualTo(towardsTheTarget);
        assertThatThrownBy(() -> readToEof(server)).isInstanceOf(SocketException.class);
    }

    private static Void writeInChunks(Socket socket, byte[] data, AtomicLong written) throws IOException {
        OutputStream out = socket.getOutputStream();
        for (int offset = 0; offset < data.length; offset += 64 * 1024) {
            out.write(data, offset, 64 * 1024);
            written.addAndGet(64 * 1024);
        }
        return null;
    }

    /** Until {@code written} has not grown for half a second: the writer's socket is full. */
    private static void awaitStalled(AtomicLong written) {
        AtomicLong lastSeen = new AtomicLong(-1);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    long now = written.get();
                    return lastSeen.getAndSet(now) == now;
                });
    }

    /**
     * A relayed socket whose output the relay has shut (the target ended first) and whose reads wait for the target
     * to take what was read before: the visitor's FIN then ends its input too, and the kernel reports EPOLLHUP at
     * every epoll_wait for it, an event Netty's epoll has no handler for. Its loop must stay idle until the target
     * reads; then the visitor's bytes arrive whole, followed by the end.
     */
    @Test
    void aSocketEndedBothWaysWhileItsReadsWaitLeavesItsLoopIdle() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        Socket server = accept();
        sendThenHalfClose(server, client, "banner");

        byte[] sent = uploadUntilTheRelayWaits(client);
        endsBothWaysThenLeavesTheLoopIdle(client, server, sent);
    }

    /** As above, with the relay's reads waiting already when the target's end shuts the socket's output. */
    @Test
    void aSocketShutWhileItsReadsWaitAndThenEndedLeavesItsLoopIdle() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        Socket server = accept();

        byte[] sent = uploadUntilTheRelayWaits(client);
        sendThenHalfClose(server, client, "banner");
        endsBothWaysThenLeavesTheLoopIdle(client, server, sent);
    }

    /**
     * A relayed socket whose output is shut and whose reads wait, reset by the visitor instead of ended: edge-triggered
     * the reset is reported once, and the read Netty makes of it takes bytes still waiting, not the error, which then
     * raised no event: the relay noticed it only at the 5 s look at the socket's error. It must do so at once, and
     * reset the target's connection, whose data did not end cleanly.
     */
    @Test
    void aSocketResetWhileItsOutputIsShutAndItsReadsWaitResetsTheTargetsConnection() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        Socket server = accept();
        sendThenHalfClose(server, client, "banner");
        uploadUntilTheRelayWaits(client);
        Channel inbound = relayedChannels.get(0);
        await("the relayed socket reports its events once").atMost(Duration.ofSeconds(10)).until(() -> inbound
                .eventLoop().submit(() -> HalfClosedEpollChannels.reportsEventsOnce(inbound)).get());

        // Bytes the relay does not read before the reset, so the read the reset brings about takes them first.
        client.getOutputStream().write(random(16 * 1024, 5));
        resetThenTheRelayEndsAtOnceWithItsLoopIdle(client);
        assertThatThrownBy(() -> readToEof(server)).isInstanceOf(SocketException.class);
    }

    /**
     * A visitor that ends and then resets while the relay's reads wait for the target, nothing left unread: the read
     * Netty makes at the reset's EPOLLERR, no read asked for, takes the end of input, not the error (Linux reads a FIN
     * that came before a reset as the end), so the reset is pending as the relay gets the end. The relay must end at
     * once and reset the target's connection, not pass the end on as if the visitor had ended cleanly (the relay's own
     * look at the socket's error as it got the end, since dropped, saw to that). The target is slow by a writability
     * the test sets, so that the relay read all the visitor sent before its reads wait.
     */
    @Test
    void aSocketEndedThenResetWhileItsReadsWaitWithNothingUnreadHasTheTargetsConnectionReset() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        Socket server = accept();
        await("the relay started").atMost(Duration.ofSeconds(10)).until(() -> relayedChannels.size() == 2);
        Channel inbound = relayedChannels.get(0);
        Channel outbound = relayedChannels.get(1);
        outbound.eventLoop().submit(() -> outbound.unsafe().outboundBuffer().setUserDefinedWritability(1, false))
                .get(10, TimeUnit.SECONDS);
        client.getOutputStream().write('x');
        await("the byte relayed").atMost(Duration.ofSeconds(10)).until(() -> pendingTowardsTarget.total() == 1);
        client.shutdownOutput();
        await("the visitor's FIN in the relayed socket").atMost(Duration.ofSeconds(10))
                .until(() -> tcpState(inbound) == TCP_CLOSE_WAIT);
        assertThat(inputShutdown(inbound)).as("the end of input read").isFalse();

        resetThenTheRelayEndsAtOnceWithItsLoopIdle(client);
        assertThatThrownBy(() -> readToEof(server)).as("the target's connection reset, not ended")
                .isInstanceOf(SocketException.class);
    }

    /**
     * A visitor that half-closed and then reset while the target is quiet: Netty's epoll reads the relayed socket no
     * more after its end of input, and its loop spun on the reset's EPOLLERR and EPOLLHUP until the relay's look at the
     * socket's error, 5 s after the end. The relay must end at once, its loop idle while the socket is half-closed and
     * after the reset alike. On NIO nothing tells of such a reset until a write to the socket fails.
     */
    @Test
    void aSocketResetAfterItsEndOfInputEndsTheRelayAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        Socket client = connectClient();
        sendThenHalfClose(client, accept(), "request");
        halfClosedThenResetEndsTheRelayAtOnceWithItsLoopIdle(client);
    }

    /**
     * As above, with the end of input read while a hold kept it, before the relay started, by a handler in front that
     * asked for reads (as {@code TunnelPassthrough}'s front door reads a ClientHello).
     */
    @Test
    void aSocketResetAfterAnEndOfInputHeldUntilTheRelayStartedEndsTheRelayAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        resetAfterAnEndOfInputHeldUntilTheRelayStartedEndsTheRelayAtOnce(true);
    }

    /**
     * As above, with the socket only kept in epoll as it is accepted, so that Netty's epoll reads it to its end on its
     * own: the relay sets it up for reading only when asked as it starts, and the handler that has the socket read
     * again at the reset comes after the end of input.
     */
    @Test
    void aSocketResetAfterAnEndOfInputReadBeforeTheRelaySetItUpEndsTheRelayAtOnce() throws Exception {
        assumeTrue(Transport.isEpoll(), "the epoll transport");
        armVisitorSocket = HalfClosedEpollChannels::keepRegistered;
        resetAfterAnEndOfInputHeldUntilTheRelayStartedEndsTheRelayAtOnce(false);
    }

    private void resetAfterAnEndOfInputHeldUntilTheRelayStartedEndsTheRelayAtOnce(boolean askReads) throws Exception {
        relayMayStart = new CompletableFuture<>();
        Socket client = connectClient();
        writeAndShutdown(client, "request".getBytes(StandardCharsets.US_ASCII));
        await("the end of input read into the hold").atMost(Duration.ofSeconds(10)).until(() -> {
            if (relayedChannels.size() < 2) {
                return false;
            }
            Channel inbound = relayedChannels.get(0);
            if (askReads) {
                inbound.eventLoop().execute(inbound::read);
            }
            return inputShutdown(inbound);
        });

        relayMayStart.complete(null);
        Socket server = accept();
        assertThat(new String(readToEof(server), StandardCharsets.US_ASCII)).isEqualTo("request");

        halfClosedThenResetEndsTheRelayAtOnceWithItsLoopIdle(client);
    }

    /**
     * A relayed socket whose end of input was read is watched for a reset by one chain of looks at its error, its
     * {@code QuietWhileIdle}'s: once the reads again at an EPOLLERR stopped at their bound (forced here: their looks
     * find no error after a real reset), a look every 5 s finds the reset, and the relay ends. The relay looked too,
     * from the end of input on, a second chain of tasks on the loop for as long as the other direction went on. The NIO
     * transport cannot look at a socket's error: nothing is scheduled there (the relay's look was, every 5 s, and
     * found nothing, ever).
     */
    @Test
    void anEndedSocketIsWatchedForAResetByOneChainOfLooks() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        armVisitorSocket = channel -> {
            if (Transport.isEpoll()) {
                QuietWhileIdleSeam.addFirst(channel, socket -> looks.incrementAndGet()
                        > QuietWhileIdleSeam.ROUNDS_WITHOUT_ERROR && HalfClosedEpollChannels.hasFailed(socket));
            }
            HalfClosedEpollChannels.keepRegisteredReadingOnlyWhenAsked(channel);
        };
        Socket client = connectClient();
        sendThenHalfClose(client, accept(), "request");
        Channel inbound = relayedChannels.get(0);
        if (!Transport.isEpoll()) {
            assertThat(ScheduledTasks.count(inbound.eventLoop())).as("tasks scheduled on the relay's loop").isZero();
            return;
        }

        client.setSoLinger(true, 0);
        client.close();
        await("the reads again").atMost(AT_ONCE).until(() -> looks.get() >= QuietWhileIdleSeam.ROUNDS_WITHOUT_ERROR);
        assertThat(ScheduledTasks.count(inbound.eventLoop())).as("tasks scheduled on the relay's loop").isEqualTo(1);
        await("the relay closed both sockets").atMost(HalfClosedEpollChannels.ERROR_WATCH.plusSeconds(5))
                .until(() -> relayedChannels.stream().noneMatch(Channel::isOpen));
        assertThat(looks.get()).as("the reads again, then one look")
                .isEqualTo(QuietWhileIdleSeam.ROUNDS_WITHOUT_ERROR + 1);
    }

    private void halfClosedThenResetEndsTheRelayAtOnceWithItsLoopIdle(Socket client) throws Exception {
        Channel inbound = relayedChannels.get(0);
        Duration halfClosed = Duration.ofNanos(LoopCpu.nanosDuring(inbound, Duration.ofSeconds(1)));
        assertThat(halfClosed).as("CPU time of the relay's loop over 1 s, the socket half-closed")
                .isLessThan(Duration.ofMillis(200));
        resetThenTheRelayEndsAtOnceWithItsLoopIdle(client);
    }

    private void resetThenTheRelayEndsAtOnceWithItsLoopIdle(Socket client) throws Exception {
        Channel inbound = relayedChannels.get(0);
        Future<Long> fromTheReset = threads.submit(() -> LoopCpu.nanosDuring(inbound, Duration.ofSeconds(2)));
        client.setSoLinger(true, 0);
        client.close();

        await("the relay closed both sockets").atMost(AT_ONCE)
                .until(() -> relayedChannels.stream().noneMatch(Channel::isOpen));
        assertThat(Duration.ofNanos(fromTheReset.get(10, TimeUnit.SECONDS)))
                .as("CPU time of the relay's loop over 2 s from the reset").isLessThan(Duration.ofMillis(100));
    }

    private static boolean inputShutdown(Channel channel) throws Exception {
        return channel.eventLoop().submit(() -> ((DuplexChannel) channel).isInputShutdown()).get(10, TimeUnit.SECONDS);
    }

    /**
     * The visitor's FIN is passed on to the target once all before it is in the kernel: the target's socket has its
     * default linger back by the time its output is shut, so that a death of the process at any moment from then on
     * ends that connection with the FIN. Zero linger still set at the shutdown (the disarm after it) left a moment in
     * which a death reset the connection and the kernel dropped what it had not sent yet.
     */
    @Test
    void theTargetsOutputIsShutWithZeroLingerAlreadyOff() throws Exception {
        Socket client = connectClient();
        Socket server = accept();
        await("the relay started").atMost(Duration.ofSeconds(10)).until(() -> relayedChannels.size() == 2);
        Channel outbound = relayedChannels.get(1);
        assertThat(outbound.eventLoop().submit(() -> outbound.config().getOption(ChannelOption.SO_LINGER)).get())
                .as("SO_LINGER of the target's socket while relaying").isZero();

        sendThenHalfClose(client, server, "request");

        assertThat(targetLingerAtShutdown.get(10, TimeUnit.SECONDS)).as("SO_LINGER when the output is shut")
                .isEqualTo(-1);
    }

    /** Writes chunk by chunk until the relay stops reading: little is left unread, so a FIN fits in the window. */
    private byte[] uploadUntilTheRelayWaits(Socket client) throws IOException {
        await("the relay started").atMost(Duration.ofSeconds(10)).until(() -> relayedChannels.size() == 2);
        Channel outbound = relayedChannels.get(1);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        byte[] chunk = random(16 * 1024, 4);
        for (int i = 0; i < 4096 && outbound.isWritable(); i++) {
            client.getOutputStream().write(chunk);
            sent.write(chunk);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !outbound.isWritable() || pendingTowardsTarget.total() == sent.size());
        }
        assertThat(outbound.isWritable()).as("the target's socket full, the relay's reads wait").isFalse();
        return sent.toByteArray();
    }

    private void endsBothWaysThenLeavesTheLoopIdle(Socket client, Socket server, byte[] sent) throws Exception {
        Channel inbound = relayedChannels.get(0);
        client.shutdownOutput();
        await("the visitor's FIN in the relayed socket").atMost(Duration.ofSeconds(10))
                .until(() -> tcpState(inbound) == TCP_CLOSE);

        Duration cpu = Duration.ofNanos(LoopCpu.nanosDuring(inbound, Duration.ofSeconds(2)));
        assertThat(cpu).as("CPU time of the relay's loop over 2 s").isLessThan(Duration.ofMillis(200));

        assertSameBytes(readToEof(server), sent);
        awaitRelayClosed();
    }

    private static int tcpState(Channel channel) {
        return ((EpollSocketChannel) channel).tcpInfo().state();
    }

    private Socket connectClient() throws IOException {
        Socket socket = new Socket();
        socket.setSendBufferSize(BUFFER);
        socket.connect(relayServer.localAddress());
        sockets.add(socket);
        return socket;
    }

    private Socket accept() throws IOException {
        target.setSoTimeout(10_000);
        Socket socket = target.accept();
        socket.setSoTimeout(30_000);
        sockets.add(socket);
        return socket;
    }

    private void awaitRelayClosed() {
        await().atMost(Duration.ofSeconds(10)).until(() -> relayedChannels.size() == 2
                && relayedChannels.stream().noneMatch(Channel::isOpen));
    }

    private static Void writeAndShutdown(Socket socket, byte[] data) throws IOException {
        socket.getOutputStream().write(data);
        socket.getOutputStream().flush();
        socket.shutdownOutput();
        return null;
    }

    /** Writes {@code text} on {@code from} and shuts its output: {@code to} reads that text, then EOF. */
    private static void sendThenHalfClose(Socket from, Socket to, String text) throws IOException {
        writeAndShutdown(from, text.getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(readToEof(to), StandardCharsets.US_ASCII)).isEqualTo(text);
    }

    private static byte[] readToEof(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }

    private static void assertSameBytes(byte[] actual, byte[] expected) {
        assertThat(actual.length).as("length").isEqualTo(expected.length);
        assertThat(Arrays.mismatch(actual, expected)).as("first differing byte").isEqualTo(-1);
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Tracks the bytes written to a channel but not yet handed to the socket, and their maximum. */
    @ChannelHandler.Sharable
    private static final class PendingBytes extends ChannelOutboundHandlerAdapter {
        private final AtomicLong pending = new AtomicLong();
        private final AtomicLong max = new AtomicLong();
        private final AtomicLong total = new AtomicLong();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            int size = msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
            max.accumulateAndGet(pending.addAndGet(size), Math::max);
            total.addAndGet(size);
            ctx.write(msg, promise.unvoid().addListener(f -> pending.addAndGet(-size)));
        }

        long max() {
            return max.get();
        }

        long total() {
            return total.get();
        }
    }

    /** Once {@code refusing}, fails every write with an error while the channel stays open. */
    @ChannelHandler.Sharable
    private static final class RefusedWrites extends ChannelOutboundHandlerAdapter {
        private volatile boolean refusing;
        private final AtomicInteger refused = new AtomicInteger();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (!refusing) {
                ctx.write(msg, promise);
                return;
            }
            refused.incrementAndGet();
            ReferenceCountUtil.release(msg);
            promise.setFailure(new IOException("write refused by the test"));
        }
    }

    /**
     * Takes the socket's SO_LINGER when its output has just been shut: Netty tells the pipeline so before it returns
     * from the shutdown, before any listener added to the shutdown's future afterwards runs.
     */
    private static final class LingerAtOutputShutdown extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Integer> linger;

        LingerAtOutputShutdown(CompletableFuture<Integer> linger) {
            this.linger = linger;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelOutputShutdownEvent.INSTANCE) {
                linger.complete(ctx.channel().config().getOption(ChannelOption.SO_LINGER));
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
