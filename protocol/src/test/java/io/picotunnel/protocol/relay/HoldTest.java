package io.picotunnel.protocol.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpContent;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class HoldTest {

    /** Records what reaches it, as the relay would take it. */
    private static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<String> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            events.add("read:" + buf.toString(StandardCharsets.US_ASCII));
            buf.release();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            events.add("complete");
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt == ChannelInputShutdownEvent.INSTANCE ? "eof" : "event");
        }
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    @Test
    void holdsMessagesAndEndOfInputUntilReleasedThenPassesThemOnInOrderAndStepsOut() {
        Hold hold = new Hold();
        EmbeddedChannel channel = new EmbeddedChannel(hold);
        assertThat(channel.config().isAutoRead()).isFalse();
        channel.pipeline().fireChannelRead(bytes("a"));
        channel.pipeline().fireChannelRead(new DefaultHttpContent(bytes("b")));
        channel.pipeline().fireChannelReadComplete();
        channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        Recorder relay = new Recorder();
        channel.pipeline().addLast(relay);
        assertThat(relay.events).isEmpty();
        assertThat(hold.inputShutdown()).isTrue();

        hold.release();

        assertThat(relay.events).containsExactly("read:a", "read:b", "complete", "eof");
        assertThat(channel.pipeline().get(Hold.class)).isNull();
        channel.pipeline().fireChannelRead(bytes("c"));
        assertThat(relay.events).endsWith("read:c");
        channel.finishAndReleaseAll();
    }

    @Test
    void discardOrRemovalFreesWhatWasHeld() {
        Hold hold = new Hold();
        EmbeddedChannel channel = new EmbeddedChannel(hold);
        ByteBuf first = bytes("a");
        channel.pipeline().fireChannelRead(first);
        hold.discard();
        assertThat(first.refCnt()).isZero();

        Hold other = new Hold();
        EmbeddedChannel closing = new EmbeddedChannel(other);
        ByteBuf second = bytes("b");
        closing.pipeline().fireChannelRead(second);
        closing.pipeline().remove(other);
        assertThat(second.refCnt()).isZero();
        other.release(); // after removal: nothing to pass on, no failure
        channel.finishAndReleaseAll();
        closing.finishAndReleaseAll();
    }
}
