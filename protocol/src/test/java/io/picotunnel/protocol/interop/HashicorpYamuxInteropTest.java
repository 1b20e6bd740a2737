package io.picotunnel.protocol.interop;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Our yamux session in both roles against hashicorp/yamux (Debian's golang-github-hashicorp-yamux-dev) over a
 * plain TCP connection, driven through the Go peer in {@code interop/go/peer}.
 */
class HashicorpYamuxInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private Channel channel;
    private GoPeer peer;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void ourStreamsAreEchoedByteExactInParallel(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        List<StreamExchange> exchanges = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 2 * 1024 * 1024);
            exchanges.add(exchange);
            session.openStream(exchange).get(10, TimeUnit.SECONDS);
        }

        for (StreamExchange exchange : exchanges) {
            StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(received.reset()).isFalse();
            assertThat(received.bytes()).isEqualTo(2 * 1024 * 1024);
            assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void largeTransferArrivesByteExactAndThePeerAnswersAfterOurFin(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        long size = 24L * 1024 * 1024;
        StreamExchange exchange = new StreamExchange(new byte[] {'d'}, size);

        session.openStream(exchange).get(10, TimeUnit.SECONDS);

        StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.text()).isEqualTo(size + " " + exchange.sent().getNow(null) + "\n");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsOpenedByHashicorpAreServedByteExact(YamuxRole role) {
        connect(role);

        for (int i = 1; i <= 5; i++) {
            peer.send("OPEN s" + i + " " + (1024 * 1024) + " - echo");
        }

        for (int i = 1; i <= 5; i++) {
            GoPeer.StreamResult result = peer.awaitResult("s" + i);
            assertThat(result.echoedExactly()).as(result.toString()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void pingsAreAnsweredBothWays(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);

        Duration rtt = session.ping().get(10, TimeUnit.SECONDS);
        peer.send("PING");

        assertThat(rtt.isNegative()).isFalse();
        assertThat(peer.awaitLine("PONG")).matches("PONG \\d+");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void ourGoAwayRefusesNewStreamsButOpenOnesFinish(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        long size = 8L * 1024 * 1024;
        StreamExchange open = new StreamExchange(new byte[] {'d'}, size);
        session.openStream(open).get(10, TimeUnit.SECONDS);

        channel.eventLoop().submit(() -> session.goAway(GoAwayCode.NORMAL)).sync();
        peer.send("OPEN late 10 - echo");

        // Refused either by hashicorp itself (it saw our GoAway) or by our RST to a SYN that crossed it.
        assertThat(peer.awaitResult("late").end()).matches("reset|error:.*");
        assertThat(session.isGoingAway()).isTrue();
        assertThat(open.received().get(WAIT.toSeconds(), TimeUnit.SECONDS).text())
                .isEqualTo(size + " " + open.sent().getNow(null) + "\n");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpGoAwayMakesOurOpenStreamFail(YamuxRole role) {
        YamuxSession session = connect(role);

        peer.send("GOAWAY");
        peer.awaitLine("GOAWAY_SENT");

        await().atMost(WAIT).until(session::isGoingAway);
        Future<YamuxStreamChannel> opened = session.openStream(new StreamExchange(new byte[] {'e'}, 1))
                .awaitUninterruptibly();
        assertThat(opened.isSuccess()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpAcceptsOurResetWithAReasonInItsLength(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        for (ResetReason reason : ResetReason.values()) {
            YamuxStreamChannel stream = session.openStream(new ChannelInboundHandlerAdapter())
                    .get(10, TimeUnit.SECONDS);
            stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'e', 'x'})).sync();
            stream.reset(reason).sync();
        }

        // The session lives on: a new stream is echoed byte-exact and pings are answered.
        StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 64 * 1024);
        session.openStream(exchange).get(10, TimeUnit.SECONDS);
        StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.reset()).isFalse();
        assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        assertTheSessionLives(session);
    }

    /**
     * hashicorp opens four streams and writes a whole window into each toward our readers, which do not read, past
     * our session buffer limit of two and a half windows: we reset two of them, with reason 5 in the
     * RST's length as the peer receives it, and the session goes on: a new stream is echoed byte-exact in the room
     * left under the limit, pings are answered.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpFillingStreamsPastOurBufferLimitHasTwoResetWithTheReasonAndTheSessionLives(YamuxRole role)
            throws Exception {
        int window = YamuxConfig.INITIAL_STREAM_WINDOW;
        StallThenEcho streams = new StallThenEcho();
        List<YamuxStreamChannel> stalled = streams.stalled;
        YamuxSession session = connectReportingResets(role, 5L * window / 2, streams);

        // Four windows, room for two and a half: every stream not reset holds its whole window, so exactly two
        // were reset (and no more: each reset brings the total under the limit).
        fillFourWindowsUntilTwoAreReset(window, stalled);
        List<Long> resetIds = onLoop(() -> stalled.stream().filter(YamuxStreamChannel::isReset)
                .map(s -> Integer.toUnsignedLong(s.streamId())).sorted().toList());
        List<Long> reportedIds = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String[] reset = peer.awaitLine("RESET ").split(" ");
            assertThat(Long.parseLong(reset[2])).as("the reason in the RST's length")
                    .isEqualTo(ResetReason.BUFFER_LIMIT.code());
            reportedIds.add(Long.parseLong(reset[1]));
        }
        assertThat(reportedIds).containsExactlyInAnyOrderElementsOf(resetIds);

        streams.stalling.set(false);
        // Less than the half window left: whatever our echo holds at a time, the limit is not reached again.
        peer.send("OPEN after " + (64 * 1024) + " - echo");
        GoPeer.StreamResult after = peer.awaitResult("after");
        assertThat(after.echoedExactly()).as(after.toString()).isTrue();
        // The echo's bytes came after any RST on the connection: no other stream was reset.
        assertThatThrownBy(() -> peer.awaitLine("RESET ", Duration.ZERO)).isInstanceOf(AssertionError.class);
        assertTheSessionLives(session);
        assertThat(onLoop(() -> stalled.stream().filter(s -> !s.isReset() && s.isOpen()).count()))
                .as("the two streams not reset still hold their windows").isEqualTo(2);
    }

    /**
     * As above with room for two windows: once two streams are reset the stalled ones hold exactly the limit, and a
     * new stream echoing 1 MiB holds, for moments, what it has not echoed yet. The stalled streams are the ones to
     * go, never the stream whose reader reads: the echo comes back byte-exact and every RST names a stalled stream.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aStreamThatIsReadGoesOnAtTheLimitWhileTheStalledOnesAreReset(YamuxRole role) throws Exception {
        int window = YamuxConfig.INITIAL_STREAM_WINDOW;
        StallThenEcho streams = new StallThenEcho();
        List<YamuxStreamChannel> stalled = streams.stalled;
        List<YamuxStreamChannel> echoed = streams.echoed;
        YamuxSession session = connectReportingResets(role, 2L * window, streams);
        fillFourWindowsUntilTwoAreReset(window, stalled);

        streams.stalling.set(false);
        peer.send("OPEN after " + (1024 * 1024) + " - echo");
        GoPeer.StreamResult after = peer.awaitResult("after");
        assertThat(after.echoedExactly()).as(after.toString()).isTrue();
        assertThat(echoed).hasSize(1);
        assertThat(onLoop(() -> echoed.get(0).isReset())).isFalse();

        List<Long> stalledIds = onLoop(() -> stalled.stream().map(s -> Integer.toUnsignedLong(s.streamId()))
                .toList());
        List<Long> reportedIds = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            try {
                reportedIds.add(Long.parseLong(peer.awaitLine("RESET ", Duration.ZERO).split(" ")[1]));
            } catch (AssertionError noMore) {
                break;
            }
        }
        assertThat(reportedIds).as("every RST the peer received").hasSizeGreaterThanOrEqualTo(2)
                .isSubsetOf(stalledIds);
        assertTheSessionLives(session);
    }

    /** The peer's ping is answered, and our session is neither going away nor closed. */
    private void assertTheSessionLives(YamuxSession session) {
        peer.send("PING");
        assertThat(peer.awaitLine("PONG")).matches("PONG \\d+");
        assertThat(session.isGoingAway()).isFalse();
        assertThat(channel.isActive()).isTrue();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return channel.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
    }

    /**
     * hashicorp/yamux now and then sends a Data frame after its FIN when a stream is closed while another goroutine
     * writes to it (its Write checks the state before queueing the frame). Our streams here keep their output open
     * a moment after the peer's FIN, as a relay does while its target still answers: the late data must reset that
     * stream alone, never end the session (and every other stream on it) with a protocol error.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void dataHashicorpSendsAfterItsFinResetsOnlyThatStream(YamuxRole role) {
        use(connections.open(role, "interop", new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new DropThenCloseLater());
            }
        }));

        peer.send("CLOSERACE 3000");

        assertThat(peer.awaitLine("CLOSERACE", WAIT)).isEqualTo("CLOSERACE_DONE 3000");
        assertThat(channel.isActive()).isTrue();
    }

    /** Drops what it reads; half-closes 20 ms after the peer's FIN. */
    private static final class DropThenCloseLater extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                ctx.executor().schedule(() -> ctx.close(), 20, TimeUnit.MILLISECONDS);
            }
            ctx.fireUserEventTriggered(evt);
        }
    }

    /** Connects our session in {@code role} to a Go peer in the other role. */
    private YamuxSession connect(YamuxRole role) {
        return use(connections.open(role, "interop", new EchoStreamHandler()));
    }

    /** As {@link #connect}, our session with that buffer limit and those streams, the peer reporting RSTs it gets. */
    private YamuxSession connectReportingResets(YamuxRole role, long sessionBufferLimit, StallThenEcho streams) {
        return use(connections.open(role, "interop",
                YamuxConfig.defaults().withSessionBufferLimit(sessionBufferLimit), streams, "-report-resets"));
    }

    /** Makes the channel and peer of {@code opened} the test's; its session. */
    private YamuxSession use(GoPeerConnection opened) {
        channel = opened.channel();
        peer = opened.peer();
        return opened.session();
    }

    /**
     * hashicorp opens four streams and sends a whole window on each toward our stalled readers; waits until all four
     * are open on our side and two of them reset.
     */
    private void fillFourWindowsUntilTwoAreReset(int window, List<YamuxStreamChannel> stalled) throws Exception {
        for (int i = 1; i <= 4; i++) {
            peer.send("OPEN full" + i + " " + window + " - send");
        }
        for (int i = 1; i <= 4; i++) {
            // hashicorp wrote its window and sent FIN (eof), or got our RST first (reset).
            assertThat(peer.awaitResult("full" + i).end()).matches("eof|reset");
        }
        await().atMost(WAIT).until(() -> onLoop(() -> stalled.size() == 4
                && stalled.stream().filter(YamuxStreamChannel::isReset).count() == 2));
    }

    /** Streams opened while {@link #stalling} are never read; those opened after are echoed. */
    private static final class StallThenEcho extends ChannelInitializer<Channel> {
        final AtomicBoolean stalling = new AtomicBoolean(true);
        final List<YamuxStreamChannel> stalled = new CopyOnWriteArrayList<>();
        final List<YamuxStreamChannel> echoed = new CopyOnWriteArrayList<>();
        private final EchoStreamHandler echo = new EchoStreamHandler();

        @Override
        protected void initChannel(Channel ch) {
            if (stalling.get()) {
                ch.config().setAutoRead(false);
                stalled.add((YamuxStreamChannel) ch);
            } else {
                echoed.add((YamuxStreamChannel) ch);
                ch.pipeline().addLast(echo);
            }
        }
    }
}
