package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An out-of-memory error in a session ends it with GoAway(INTERNAL_ERROR), and its log says what the streams held and
 * where the JVM's direct memory stood (a rare failure under load is otherwise not explainable afterwards).
 */
class YamuxSessionOutOfMemoryTest {

    @Test
    void theLogSaysWhatTheStreamsHeldWhenMemoryRanOut() {
        Logger logger = (Logger) LoggerFactory.getLogger(YamuxSession.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        ChannelInitializer<Channel> slowReader = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.config().setAutoRead(false); // nothing is read: what arrives stays queued in the stream
            }
        };
        try (RawPeer peer = new RawPeer(YamuxRole.SERVER, YamuxConfig.defaults(), slowReader)) {
            peer.send(YamuxFrame.data(YamuxSpec.FLAG_SYN, 1, Unpooled.wrappedBuffer(new byte[1000])));
            peer.send(YamuxFrame.windowUpdate(YamuxSpec.FLAG_SYN, 3, 0));
            peer.written().forEach(YamuxFrame::release);

            peer.channel.pipeline().fireExceptionCaught(
                    new OutOfMemoryError("Cannot reserve 65536 bytes of direct buffer memory"));

            List<YamuxFrame> written = peer.written();
            assertThat(written).anySatisfy(frame -> {
                assertThat(frame.type()).isEqualTo(YamuxSpec.TYPE_GO_AWAY);
                assertThat(frame.length()).isEqualTo(GoAwayCode.INTERNAL_ERROR.code());
            });
            written.forEach(YamuxFrame::release);
        } finally {
            logger.detachAppender(appender);
        }
        assertThat(appender.list).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("out of memory: 2 streams hold 1000 bytes (stream 1: 1000)")
                        .contains("JVM direct buffers: ").contains("the channel's allocator: "));
    }
}
