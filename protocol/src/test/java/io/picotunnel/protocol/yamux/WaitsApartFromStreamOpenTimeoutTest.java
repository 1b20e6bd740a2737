package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A session that waits 10 minutes for a new stream's ACK (a server's {@code --stream-open-timeout} lengthened for a
 * slow client) still fails a ping, resets a closed stream that makes no progress and drops the bytes of a stalled
 * reader after its session ended at their own, short, waits: only the ACK waits the 10 minutes. Each wait has a
 * value of its own here, so one taken for another shows.
 */
class WaitsApartFromStreamOpenTimeoutTest {

    private static final Duration OPEN_TIMEOUT = Duration.ofMinutes(10);
    private static final YamuxConfig CONFIG = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO)
            .withStreamOpenTimeout(OPEN_TIMEOUT)
            .withPingTimeout(Duration.ofSeconds(1))
            .withClosedStreamLinger(Duration.ofSeconds(2))
            .withStalledReaderTimeout(Duration.ofSeconds(3));

    private final List<StreamRecorder> inbound = new CopyOnWriteArrayList<>();
    private RawPeer peer;
    private EventLoopGroup group;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPingToAPeerThatNeverAnswersFailsAtThePingTimeoutOverARealConnection() throws Exception {
        group = Transport.newEventLoopGroup(1, "ping-timeout");
        try (SilentPeer silent = SilentPeer.draining()) {
            YamuxSession session = new YamuxSession(YamuxRole.CLIENT, CONFIG, new ChannelInboundHandlerAdapter());
            Channel parent = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(session)
                    .connect(silent.socketAddress()).sync().channel();
            try {
                Future<Duration> ping = session.ping();

                await("the ping failed").atMost(Duration.ofSeconds(5)).until(ping::isDone);
                assertThat(ping.cause()).hasMessage("no answer to ping within 1 s");
                assertThat(silent.endsSeen()).as("connections the session ended").isZero();
            } finally {
                parent.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aClosedStreamThatMakesNoProgressIsResetAtTheLingerNotTheOpenTimeout() {
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.DEBUG)) {
            peer = new RawPeer(YamuxRole.SERVER, CONFIG, StreamRecorder.forEachStream(inbound, ch -> {
            }));
            peer.send(YamuxFrame.windowUpdate(FLAG_SYN, 1, 0));
            peer.written().forEach(YamuxFrame::release);
            inbound.get(0).channel.close();
            YamuxFrame fin = peer.writtenOne();
            assertThat(fin.hasFlag(FLAG_FIN)).isTrue();
            fin.release();

            peer.advance(1999);
            assertThat(peer.written()).isEmpty();
            peer.advance(1);

            YamuxFrame reset = peer.writtenOne();
            assertThat(reset.hasFlag(FLAG_RST)).isTrue();
            reset.release();
            assertThat(peer.session.activeStreams()).isZero();
            assertThat(log.messages(Level.DEBUG)).anySatisfy(m -> assertThat(m)
                    .endsWith(": closed stream 1 did not finish within 2 s, resetting it"));
        }
    }

    @Test
    void aStalledReadersBytesAfterTheSessionEndedAreDroppedAtTheirOwnTimeout() {
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.INFO)) {
            peer = new RawPeer(YamuxRole.SERVER, CONFIG,
                    StreamRecorder.forEachStream(inbound, ch -> ch.config().setAutoRead(false)));
            peer.send(YamuxFrame.data(FLAG_SYN, 1, Unpooled.wrappedBuffer(new byte[5])));
            peer.send(YamuxFrame.data(FLAG_FIN, 1, Unpooled.EMPTY_BUFFER));
            YamuxStreamChannel stream = inbound.get(0).channel;
            stream.shutdownOutput();
            peer.written().forEach(YamuxFrame::release);

            peer.channel.pipeline().fireChannelInactive();
            peer.channel.runPendingTasks();
            peer.advance(2999);
            assertThat(stream.isOpen()).isTrue();
            peer.advance(1);

            assertThat(stream.isReset()).isTrue();
            assertThat(log.messages(Level.WARN)).filteredOn(m -> m.contains("stream 1,")).singleElement()
                    .asString().contains("took none of the 5 bytes the stream still held within 3 s");
        }
    }

    @Test
    void aNewStreamStillWaitsTheWholeOpenTimeoutForItsAck() {
        peer = new RawPeer(YamuxRole.CLIENT, CONFIG, new ChannelInboundHandlerAdapter());
        Future<YamuxStreamChannel> opened = peer.session.openStream(new StreamRecorder());
        peer.channel.runPendingTasks();
        YamuxStreamChannel stream = opened.getNow();
        peer.written().forEach(YamuxFrame::release);

        peer.advance(OPEN_TIMEOUT.toMillis() - 1);
        assertThat(stream.isOpen()).isTrue();
        assertThat(peer.written()).isEmpty();
        peer.advance(1);

        assertThat(stream.isReset()).isTrue();
        assertThat(stream.openTimedOut()).isTrue();
    }
}
