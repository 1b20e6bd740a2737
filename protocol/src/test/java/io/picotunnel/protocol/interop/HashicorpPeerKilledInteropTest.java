package io.picotunnel.protocol.interop;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.PoolArenaMetric;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.LogWatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The hashicorp/yamux peer dies (SIGKILL: the kernel ends its connection with a FIN, or with an RST when the peer
 * set SO_LINGER 0) while our session, in either role, is at its buffer limit with stalled readers and has writes
 * queued on streams whose send window the peer no longer opens. Every stream ends reset (never a clean EOF for data
 * that did not all arrive), every queued write fails, the session's connection closes, the bytes it counted as held
 * for readers come back to exactly 0 and every buffer taken from the test's pooled allocator (the connection's reads,
 * the frames, our writes) is given back. The copies a stalled reader's stream keeps are unpooled heap buffers, which
 * the count of held bytes covers instead.
 */
class HashicorpPeerKilledInteropTest {

    private static final int WINDOW = YamuxConfig.INITIAL_STREAM_WINDOW;
    private static final int CHUNK = 64 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(30);

    enum Death {
        /** SIGKILL: the kernel closes the socket with a FIN. */
        KILLED,
        /** SIGKILL with SO_LINGER 0 on the peer's socket: the kernel closes it with an RST. */
        KILLED_WITH_RST
    }

    /** A pooled allocator without thread caches, so that its count of active allocations is exact. */
    private final PooledByteBufAllocator allocator = new PooledByteBufAllocator(true, 1, 1, 8192, 9, 0, 0, false);
    private final List<RecordingStream> watched = new CopyOnWriteArrayList<>();
    /** The exceptions our end of the connection saw. */
    private final List<String> connectionErrors = new CopyOnWriteArrayList<>();
    /** Whether the streams the peer opens are read (else auto-read is off and nothing is ever read). */
    private volatile boolean reading;
    private GoPeerConnection connection;
    private Channel channel;
    private GoPeer peer;
    private LogWatch overflows;

    @AfterEach
    void tearDown() {
        if (connection != null) {
            connection.close();
        }
        if (overflows != null) {
            overflows.close();
        }
    }

    static Stream<Arguments> rolesAndDeaths() {
        return Stream.of(YamuxRole.values()).flatMap(ours -> Stream.of(Death.values()).map(d -> Arguments.of(ours, d)));
    }

    @ParameterizedTest(name = "ours {0}, peer {1}")
    @MethodSource("rolesAndDeaths")
    void peerKilledWhileOurReadersHoldTheLimitAndOurWritersWaitForWindow(YamuxRole ours, Death death)
            throws Exception {
        // Four streams of two windows each into readers that never read, room for two and a half windows: two
        // are reset, two hold a whole window each and wait for the rest, which the peer cannot send.
        connect(ours, YamuxConfig.defaults().withSessionBufferLimit(5L * WINDOW / 2),
                death == Death.KILLED_WITH_RST ? new String[] {"-linger0"} : new String[0]);
        YamuxSession session = connection.session();
        for (int i = 1; i <= 4; i++) {
            peer.send("OPEN full" + i + " " + (2 * WINDOW) + " - send");
        }
        await().atMost(WAIT).until(() -> onLoop(() -> watched.size() == 4
                && watched.stream().filter(w -> w.stream.isReset()).count() == 2
                && session.inboundHeld() == 2L * WINDOW));
        for (int i = 1; i <= 2; i++) {
            // Only the reset streams' writers end; the others wait for window.
            assertThat(peer.awaitLine("RESULT full")).endsWith(" end=reset");
        }
        List<RecordingStream> stalled = List.copyOf(watched);

        // Two streams to the peer's 'h' service, which never reads: one window goes out, the rest waits.
        List<RecordingStream> writers = new ArrayList<>();
        List<ChannelFuture> queued = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            RecordingStream writer = new RecordingStream(reading, allocator);
            YamuxStreamChannel stream = session.openStream(writer).get(10, TimeUnit.SECONDS);
            writers.add(writer);
            List<ChannelFuture> writes = onLoop(() -> {
                List<ChannelFuture> all = new ArrayList<>();
                all.add(stream.write(allocator.buffer(1).writeByte('h')));
                for (int c = 0; c < 3 * WINDOW / CHUNK; c++) {
                    all.add(stream.write(allocator.buffer(CHUNK).writeZero(CHUNK)));
                }
                stream.flush();
                return all;
            });
            // 'h' and three chunks fill the window but for one byte; the fourth chunk goes out in part.
            await().atMost(WAIT).until(() -> writes.stream().filter(ChannelFuture::isDone).count() == 4);
            assertThat(writes.subList(0, 4)).allMatch(ChannelFuture::isSuccess);
            queued.addAll(writes.subList(4, writes.size()));
        }
        assertThat(onLoop(() -> writers.stream().noneMatch(w -> w.stream.isWritable()))).isTrue();
        assertThat(queued).noneMatch(ChannelFuture::isDone);
        assertThat(onLoop(session::inboundHeld)).isEqualTo(2L * WINDOW);

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        if (death == Death.KILLED_WITH_RST) {
            assertThat(connectionErrors).as("what the connection saw").anyMatch(e -> e.contains("reset"));
        }
        // A plain kill usually ends with FIN, but with our last bytes still unread in the peer's socket the kernel
        // sends RST: either is a connection lost, which is what the checks below are about.
        for (RecordingStream w : concat(stalled, writers)) {
            await().atMost(WAIT).until(() -> w.inactive);
            assertThat(w.eof).as("%s saw EOF", w.stream).isFalse();
            assertThat(w.resetWhenInactive).as("%s reset", w.stream).isTrue();
        }
        for (ChannelFuture write : queued) {
            assertThat(write.await(WAIT.toMillis())).as("a queued write ended").isTrue();
            assertThat(write.isSuccess()).as("a queued write succeeded").isFalse();
        }
        ChannelFuture late = writers.get(0).stream.writeAndFlush(allocator.buffer(1).writeByte('x'));
        assertThat(late.await(WAIT.toMillis()) && !late.isSuccess()).as("a write after the end failed").isTrue();
        assertHeldAndAllocatedComeBackToZero(session);
    }

    /**
     * hashicorp writes 1-byte Data frames on two streams into readers that never read, room for one and a half
     * windows: one is reset, the other holds a window of 1-byte frames when the peer is killed. Nothing overflows
     * the stack, the readers end reset, the counts come back to 0.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void oneByteFramesIntoStalledReadersThenThePeerKilled(YamuxRole ours) throws Exception {
        overflows = LogWatch.forThrowable(StackOverflowError.class);
        connect(ours, YamuxConfig.defaults().withSessionBufferLimit(3L * WINDOW / 2), "-write-chunk", "1");
        YamuxSession session = connection.session();
        for (int i = 1; i <= 2; i++) {
            peer.send("OPEN tiny" + i + " " + (2 * WINDOW) + " - send");
        }
        await().atMost(Duration.ofSeconds(120)).failFast("a StackOverflowError was logged", overflows::sawAny)
                .until(() -> onLoop(() -> watched.size() == 2
                        && watched.stream().filter(w -> w.stream.isReset()).count() == 1
                        && session.inboundHeld() == WINDOW));
        assertThat(peer.awaitLine("RESULT tiny")).endsWith(" end=reset");

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        for (RecordingStream w : watched) {
            await().atMost(WAIT).until(() -> w.inactive);
            assertThat(w.eof).as("%s saw EOF", w.stream).isFalse();
            assertThat(w.resetWhenInactive).as("%s reset", w.stream).isTrue();
        }
        assertHeldAndAllocatedComeBackToZero(session);
        overflows.assertNone();
    }

    /**
     * The peer is killed in the middle of a transfer each way: hashicorp sending into our reader, which reads, and
     * our stream writing to its echo while reading the echo. Neither reader sees a clean EOF for the bytes that
     * never came, our writer stops with its stream reset, and the counts come back to 0.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void peerKilledInTheMiddleOfTransfersBothWays(YamuxRole ours) throws Exception {
        long size = 1024L * 1024 * 1024;
        reading = true;
        connect(ours, YamuxConfig.defaults());
        YamuxSession session = connection.session();
        peer.send("OPEN flow " + size + " - send");
        StreamExchange echoed = new StreamExchange(new byte[] {'e'}, size);
        session.openStream(echoed).get(10, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> watched.size() == 1 && watched.get(0).bytesRead > 1024 * 1024);

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        RecordingStream reader = watched.get(0);
        await().atMost(WAIT).until(() -> reader.inactive);
        assertThat(reader.eof).as("the reader saw EOF after %s bytes", reader.bytesRead).isFalse();
        assertThat(reader.resetWhenInactive).isTrue();
        assertThat(reader.bytesRead).isLessThan(size);
        StreamExchange.Received back = echoed.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(back.reset()).as("our echo stream ended reset after %s bytes", back.bytes()).isTrue();
        assertThat(echoed.sent()).as("our writer sent everything").isNotDone();
        assertHeldAndAllocatedComeBackToZero(session);
    }

    /**
     * The peer hangs (SIGSTOP) and is then killed: our streams write into it until the connection's buffers are full
     * and the streams wait for the connection to turn writable, not for window. Killed with unread bytes in its
     * socket, the peer leaves an RST. Every write not sent fails, every stream ends reset, the counts come back to 0.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void peerHungThenKilledWhileOurWritesWaitForTheConnection(YamuxRole ours) throws Exception {
        connect(ours, YamuxConfig.defaults());
        YamuxSession session = connection.session();
        // A fixed send buffer: the kernel's autotuned one grows up to tcp_wmem's maximum (4 MiB here, 16 MiB or more
        // on hosts tuned for fast links), which the 64 streams below would not fill everywhere.
        assertThat(onLoop(() -> channel.config().setOption(ChannelOption.SO_SNDBUF, 64 * 1024))).isTrue();
        peer.pause();

        List<RecordingStream> writers = new ArrayList<>();
        List<ChannelFuture> writes = new ArrayList<>();
        // Each stream may send one window before the peer's credit: four of them are already far more than the
        // socket buffers take, so several streams wait for the connection.
        for (int i = 0; i < 64 && (i < 4 || onLoop(channel::isWritable)); i++) {
            RecordingStream writer = new RecordingStream(reading, allocator);
            YamuxStreamChannel stream = session.openStream(writer).get(10, TimeUnit.SECONDS);
            writers.add(writer);
            writes.addAll(onLoop(() -> {
                List<ChannelFuture> all = new ArrayList<>();
                all.add(stream.write(allocator.buffer(1).writeByte('d')));
                for (int c = 0; c < WINDOW / CHUNK; c++) {
                    all.add(stream.write(allocator.buffer(CHUNK).writeZero(CHUNK)));
                }
                stream.flush();
                return all;
            }));
        }
        assertThat(onLoop(channel::isWritable)).as("our end of the connection turned unwritable").isFalse();
        List<ChannelFuture> waiting = writes.stream().filter(w -> !w.isDone()).toList();
        assertThat(waiting).isNotEmpty();

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        for (RecordingStream w : writers) {
            await().atMost(WAIT).until(() -> w.inactive);
            assertThat(w.eof).as("%s saw EOF", w.stream).isFalse();
            assertThat(w.resetWhenInactive).as("%s reset", w.stream).isTrue();
        }
        for (ChannelFuture write : waiting) {
            assertThat(write.await(WAIT.toMillis())).as("a waiting write ended").isTrue();
            assertThat(write.isSuccess()).as("a waiting write succeeded").isFalse();
        }
        assertHeldAndAllocatedComeBackToZero(session);
    }

    /**
     * A stream that ended both ways on the wire (hashicorp's data and FIN, our FIN) before the peer was killed lost
     * nothing: its reader, which had read none of it, still gets every byte and then EOF, and only then are the
     * counts back to 0.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aStreamEndedBothWaysBeforeThePeerIsKilledKeepsItsWholeDataForItsReader(YamuxRole ours) throws Exception {
        int size = 100_000;
        connect(ours, YamuxConfig.defaults());
        YamuxSession session = connection.session();
        peer.send("OPEN whole " + size + " - send");
        assertThat(peer.awaitResult("whole").end()).isEqualTo("eof");
        await().atMost(WAIT).until(() -> watched.size() == 1 && onLoop(session::inboundHeld) == size);
        RecordingStream reader = watched.get(0);
        ChannelFuture ended = reader.stream.shutdownOutput();
        assertThat(ended.await(WAIT.toMillis())).as("our FIN written").isTrue();
        assertThat(ended.isSuccess()).isTrue();
        await().atMost(WAIT).until(() -> onLoop(session::activeStreams) == 0);

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        assertThat(onLoop(session::inboundHeld)).isEqualTo(size);
        onLoop(() -> reader.stream.config().setAutoRead(true));
        await().atMost(WAIT).until(() -> reader.eof);
        assertThat(reader.bytesRead).isEqualTo(size);
        assertThat(reader.stream.isReset()).isFalse();
        assertHeldAndAllocatedComeBackToZero(session);
    }

    private void assertHeldAndAllocatedComeBackToZero(YamuxSession session) throws Exception {
        assertThat(onLoop(session::inboundHeld)).as("bytes held for readers").isZero();
        // What closing released may reach the allocator a task later.
        await().atMost(WAIT).untilAsserted(() -> assertThat(activeAllocations()).as("buffers not released").isZero());
    }

    private long activeAllocations() {
        return Stream.concat(allocator.metric().directArenas().stream(), allocator.metric().heapArenas().stream())
                .mapToLong(PoolArenaMetric::numActiveAllocations).sum();
    }

    private void connect(YamuxRole ours, YamuxConfig config, String... peerArgs) {
        connection = GoPeerConnection.open(ours, "killed-peer", config, allocator,
                RecordingStream.eachInto(watched, () -> new RecordingStream(reading, allocator)), peerArgs);
        channel = connection.channel();
        channel.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                connectionErrors.add(cause.toString());
                ctx.fireExceptionCaught(cause);
            }
        });
        peer = connection.peer();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return connection.onLoop(task);
    }

    private static List<RecordingStream> concat(List<RecordingStream> a, List<RecordingStream> b) {
        return Stream.concat(a.stream(), b.stream()).toList();
    }
}
