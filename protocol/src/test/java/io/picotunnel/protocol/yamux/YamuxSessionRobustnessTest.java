package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Whatever a peer sends, the session answers with frames or GoAway: nothing escapes the pipeline. */
class YamuxSessionRobustnessTest {

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomFramesNeverEscapeAsExceptions(long seed) {
        Random random = new Random(seed);
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false)
                .withMaxStreamWindow(YamuxConfig.INITIAL_STREAM_WINDOW).withKeepAliveInterval(Duration.ZERO).withMaxStreams(8);
        ChannelInitializer<Channel> streams = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.config().setAutoRead(random.nextBoolean());
                ch.pipeline().addLast(new StreamRecorder(false));
            }
        };
        YamuxRole role = random.nextBoolean() ? YamuxRole.SERVER : YamuxRole.CLIENT;
        int peerParity = role == YamuxRole.SERVER ? 1 : 0;
        try (RawPeer peer = new RawPeer(role, config, streams)) {
            for (int i = 0; i < 2000 && peer.channel.isOpen(); i++) {
                if (random.nextInt(50) == 0) {
                    peer.session.openStream(new StreamRecorder(false));
                }
                peer.send(randomFrame(random, peerParity));
                peer.written().forEach(YamuxFrame::release);
                if (random.nextInt(10) == 0) {
                    peer.advance(random.nextInt(40_000));
                }
                peer.channel.checkException();
            }
            peer.channel.close();
            peer.channel.runPendingTasks();
            assertThat(peer.session.activeStreams()).isZero();
        }
    }

    /** Mostly plausible frames from the peer (its own stream ids, few flags), some nonsense. */
    private static YamuxFrame randomFrame(Random random, int peerParity) {
        int type = random.nextInt(10) < 7 ? random.nextInt(2) : 2 + random.nextInt(2);
        int flags = 0;
        flags |= random.nextInt(5) == 0 ? YamuxSpec.FLAG_SYN : 0;
        flags |= random.nextInt(8) == 0 ? YamuxSpec.FLAG_ACK : 0;
        flags |= random.nextInt(10) == 0 ? YamuxSpec.FLAG_FIN : 0;
        flags |= random.nextInt(30) == 0 ? YamuxSpec.FLAG_RST : 0;
        if (random.nextInt(200) == 0) {
            flags |= random.nextInt(0x10000);
        }
        int streamId = 2 * random.nextInt(6) + (random.nextInt(100) == 0 ? 1 - peerParity : peerParity);
        if (type == YamuxSpec.TYPE_DATA) {
            ByteBuf payload = Unpooled.wrappedBuffer(new byte[random.nextInt(40_000)]);
            return new YamuxFrame(type, flags, streamId, payload.readableBytes(), payload);
        }
        if (type == YamuxSpec.TYPE_GO_AWAY) {
            return new YamuxFrame(type, flags, 0, random.nextInt(50) == 0 ? 1 + random.nextInt(3) : 0, null);
        }
        long length = random.nextInt(50) == 0 ? random.nextLong(0, YamuxSpec.MAX_LENGTH_FIELD + 1)
                : random.nextInt(300_000);
        return new YamuxFrame(type, flags, type == YamuxSpec.TYPE_PING ? 0 : streamId, length, null);
    }
}
