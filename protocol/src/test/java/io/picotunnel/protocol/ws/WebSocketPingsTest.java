package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class WebSocketPingsTest {

    private final EmbeddedChannel channel = new EmbeddedChannel(new WebSocketPings());

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private static PingWebSocketFrame ping(String payload) {
        return new PingWebSocketFrame(Unpooled.copiedBuffer(payload, StandardCharsets.US_ASCII));
    }

    /** Makes the channel unwritable: a write past the high mark, not flushed yet. */
    private void fillOutbound() {
        channel.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8, 16));
        channel.write(Unpooled.wrappedBuffer(new byte[64]));
        assertThat(channel.isWritable()).isFalse();
    }

    @Test
    void aPingIsAnsweredAtOnceWithItsPayloadAndOtherFramesPassOn() {
        channel.writeInbound(ping("one"));
        PongWebSocketFrame pong = channel.readOutbound();
        assertThat(pong.content().toString(StandardCharsets.US_ASCII)).isEqualTo("one");
        pong.release();
        channel.writeInbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1})));
        BinaryWebSocketFrame data = channel.readInbound();
        assertThat(data).isNotNull();
        data.release();
    }

    @Test
    void pingsWhileTheConnectionIsUnwritableGetOnePongForTheLatestOnceItDrains() {
        fillOutbound();
        for (int i = 0; i < 10_000; i++) {
            channel.writeInbound(ping("ping " + i));
        }
        // Before: ten thousand pongs written (and the data flushed with them) for a peer that does not read.
        assertThat(channel.outboundMessages()).isEmpty();
        assertThat(channel.unsafe().outboundBuffer().totalPendingWriteBytes()).as("the data alone").isLessThan(1000);
        channel.flush();
        ByteBuf data = channel.readOutbound();
        data.release();
        PongWebSocketFrame pong = channel.readOutbound();
        assertThat(pong.content().toString(StandardCharsets.US_ASCII)).isEqualTo("ping 9999");
        pong.release();
        assertThat(channel.outboundMessages()).isEmpty();
    }

    @Test
    void noPongFollowsACloseFrame() {
        fillOutbound();
        channel.writeInbound(ping("late"));
        channel.writeAndFlush(new CloseWebSocketFrame());
        channel.writeInbound(ping("later"));
        ByteBuf data = channel.readOutbound();
        data.release();
        CloseWebSocketFrame close = channel.readOutbound();
        close.release();
        assertThat(channel.outboundMessages()).isEmpty();
    }
}
