package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.picotunnel.protocol.relay.Hold;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream that ends both ways on the wire while a {@link Hold} in its pipeline (counted with countHeld, as the
 * client's TargetDialer holds what came with the stream header) still keeps the peer's bytes and EOF. The
 * channel closes at once, but its pipeline is torn down only by a later task (channelInactive, then
 * unregistered): a hold released in the same task as the shutdown, as the relay's start and the hold's release
 * are in the real paths, still passes everything on. Only the byte count is given back at the close.
 */
class HeldBytesAtStreamEndTest {

    private final List<Channel> streams = new CopyOnWriteArrayList<>();
    private final List<Hold> holds = new CopyOnWriteArrayList<>();
    private final List<StreamRecorder> after = new CopyOnWriteArrayList<>();
    private RawPeer peer;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
    }

    private RawPeer peerWithHoldingStreams() {
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false)
                .withMaxStreamWindow(YamuxConfig.INITIAL_STREAM_WINDOW).withKeepAliveInterval(Duration.ZERO);
        peer = new RawPeer(YamuxRole.SERVER, config, new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                Hold hold = new Hold(((YamuxStreamChannel) ch)::countHeld);
                StreamRecorder recorder = new StreamRecorder();
                recorder.channel = (YamuxStreamChannel) ch;
                ch.pipeline().addLast(Hold.HANDLER_NAME, hold);
                ch.pipeline().addLast(recorder);
                streams.add(ch);
                holds.add(hold);
                after.add(recorder);
            }
        });
        return peer;
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    /** The peer's bytes and FIN, taken by the hold (the read a header decoder in front of it would ask for). */
    private YamuxStreamChannel streamHoldingHelloAndEof() {
        RawPeer p = peerWithHoldingStreams();
        p.send(YamuxFrame.data(FLAG_SYN, 1, text("hello")));
        YamuxStreamChannel stream = (YamuxStreamChannel) streams.get(0);
        stream.read();
        p.send(YamuxFrame.data(FLAG_FIN, 1, Unpooled.EMPTY_BUFFER));
        p.written().forEach(YamuxFrame::release);
        assertThat(holds.get(0).inputShutdown()).as("the hold took the EOF").isTrue();
        assertThat(after.get(0).text()).as("nothing passed on yet").isEmpty();
        assertThat(p.session.inboundHeld()).as("the hold's bytes count toward the session's limit").isEqualTo(5);
        return stream;
    }

    @Test
    void aHoldReleasedInTheTaskThatEndedTheStreamBothWaysStillPassesItsBytesOn() {
        YamuxStreamChannel stream = streamHoldingHelloAndEof();

        // Worst order: our FIN (the relay passing on the other side's EOF) goes before the hold is released.
        stream.shutdownOutput();
        assertThat(stream.isOpen()).as("FIN both ways: the channel closed").isFalse();
        holds.get(0).release();
        peer.channel.runPendingTasks();

        StreamRecorder recorder = after.get(0);
        assertThat(recorder.text()).isEqualTo("hello");
        assertThat(recorder.events).containsSubsequence("eof", "inactive");
        assertThat(peer.session.inboundHeld()).isZero();
        List<YamuxFrame> frames = peer.written();
        assertThat(frames).anySatisfy(f -> {
            assertThat(f.type()).isEqualTo(TYPE_WINDOW_UPDATE);
            assertThat(f.flags() & FLAG_FIN).isEqualTo(FLAG_FIN);
        });
        frames.forEach(YamuxFrame::release);
    }

    @Test
    void aHoldReleasedBeforeTheStreamEndsBothWaysPassesItsBytesOnAndTheStreamThenCloses() {
        YamuxStreamChannel stream = streamHoldingHelloAndEof();

        // The client's order: the hold is released as the relay starts; the relay's FIN comes after.
        holds.get(0).release();
        stream.shutdownOutput();
        peer.channel.runPendingTasks();

        StreamRecorder recorder = after.get(0);
        assertThat(recorder.text()).isEqualTo("hello");
        assertThat(recorder.events).containsSubsequence("eof", "inactive");
        assertThat(stream.isOpen()).isFalse();
        assertThat(peer.session.inboundHeld()).isZero();
        peer.written().forEach(YamuxFrame::release);
    }
}
