package io.picotunnel.server.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.picotunnel.protocol.relay.Relay;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** A visitor's socket before its stream's ACK: what it sends goes on at once, kept within bounds for another client. */
class UnacknowledgedTest {

    private static final int CHUNK = 40 * 1024;

    private final AtomicInteger reads = new AtomicInteger();
    private final List<String> socketEvents = new ArrayList<>();
    private final EmbeddedChannel socket = new EmbeddedChannel();
    private final Unacknowledged unacknowledged = new Unacknowledged();
    private final List<ByteBuf> sent = new ArrayList<>();
    private final List<FakeStream> streams = new ArrayList<>();

    UnacknowledgedTest() {
        socket.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void read(ChannelHandlerContext ctx) {
                reads.incrementAndGet();
                ctx.read();
            }
        });
        socket.pipeline().addLast(Unacknowledged.NAME, unacknowledged);
        socket.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                socketEvents.add("read " + ((ByteBuf) msg).readableBytes());
                ((ByteBuf) msg).release();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                socketEvents.add(String.valueOf(evt));
            }
        });
    }

    @AfterEach
    void close() {
        socket.finishAndReleaseAll();
        streams.forEach(EmbeddedChannel::finishAndReleaseAll);
        assertThat(sent).as("every buffer the visitor sent is let go").allMatch(b -> b.refCnt() == 0);
    }

    @Test
    void stopsReadingTheVisitorOnce64KiBAreKeptAndReadsOnAtTheAck() {
        FakeStream first = stream();
        unacknowledged.sendTo(first, header("first"));
        assertThat(reads).as("reads on at once").hasValue(1);

        visitorSends(CHUNK, (byte) 1);
        assertThat(reads).as("40 KiB kept: reads on").hasValue(2);
        visitorSends(CHUNK, (byte) 2);
        assertThat(reads).as("80 KiB kept: no more reads until the ACK").hasValue(2);
        assertThat(first.received()).hasSize("first\n".length() + 2 * CHUNK);

        unacknowledged.acknowledged();
        assertThat(reads).as("the ACK: reading goes on, for the relay").hasValue(3);
    }

    @Test
    void atTheAckAStreamThatCannotTakeMoreIsNotReadForTheRelayReadsOnceItCan() {
        FakeStream first = stream();
        unacknowledged.sendTo(first, header("first"));
        visitorSends(CHUNK, (byte) 1);
        visitorSends(CHUNK, (byte) 2);
        assertThat(reads).as("80 KiB kept: no more reads until the ACK").hasValue(2);
        first.writable = false;
        Relay.start(socket, first);

        unacknowledged.acknowledged();

        assertThat(reads).as("no read while the stream's window or queue is full").hasValue(2);
        assertThat(socket.pipeline().get(Unacknowledged.NAME)).as("out of the relay's way").isNull();
        first.writable = true;
        first.pipeline().fireChannelWritabilityChanged();
        assertThat(reads).as("the relay reads once the stream can take more").hasValue(3);
    }

    @Test
    void aStreamOpenedAfterARefusalGetsItsHeaderThenEverythingKeptInOrderAndTheEofWaitsForTheAck() {
        FakeStream refused = stream();
        unacknowledged.sendTo(refused, header("first"));
        visitorSends(100, (byte) 1);
        visitorSends(200, (byte) 2);
        socket.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(socketEvents).as("the EOF waits for the ACK").isEmpty();

        FakeStream next = stream();
        unacknowledged.sendTo(next, header("second"));
        byte[] received = next.received();
        assertThat(new String(received, 0, 7, StandardCharsets.US_ASCII)).isEqualTo("second\n");
        assertThat(received).hasSize(7 + 300);
        assertThat(received[7]).isEqualTo((byte) 1);
        assertThat(received[7 + 99]).isEqualTo((byte) 1);
        assertThat(received[7 + 100]).isEqualTo((byte) 2);
        assertThat(received[7 + 299]).isEqualTo((byte) 2);

        unacknowledged.acknowledged();
        assertThat(socketEvents).containsExactly(ChannelInputShutdownEvent.INSTANCE.toString());
        assertThat(socket.pipeline().get(Unacknowledged.NAME)).as("out of the relay's way").isNull();
        visitorSends(10, (byte) 3);
        assertThat(socketEvents).as("after the ACK reads go on to the relay").last().isEqualTo("read 10");
    }

    private void visitorSends(int length, byte value) {
        ByteBuf data = Unpooled.buffer(length);
        for (int i = 0; i < length; i++) {
            data.writeByte(value);
        }
        sent.add(data);
        socket.writeInbound(data);
    }

    private static ByteBuf header(String name) {
        return Unpooled.copiedBuffer(name + "\n", StandardCharsets.US_ASCII);
    }

    private FakeStream stream() {
        FakeStream stream = new FakeStream();
        streams.add(stream);
        return stream;
    }

    /** Takes what is written to it as a stream would, and nothing else. */
    private static final class FakeStream extends EmbeddedChannel implements YamuxStreamChannel {

        boolean writable = true;

        @Override
        public boolean isWritable() {
            return writable && super.isWritable();
        }

        byte[] received() {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteBuf data;
            while ((data = readOutbound()) != null) {
                byte[] bytes = new byte[data.readableBytes()];
                data.readBytes(bytes);
                all.writeBytes(bytes);
                data.release();
            }
            return all.toByteArray();
        }

        @Override
        public int streamId() {
            return 2;
        }

        @Override
        public YamuxSession session() {
            return null;
        }

        @Override
        public ChannelFuture shutdownOutput() {
            return newSucceededFuture();
        }

        @Override
        public boolean isOutputShutdown() {
            return false;
        }

        @Override
        public boolean isInputShutdown() {
            return false;
        }

        @Override
        public ChannelFuture reset(ResetReason reason) {
            return close();
        }

        @Override
        public ResetReason peerResetReason() {
            return ResetReason.NONE;
        }

        @Override
        public boolean isReset() {
            return false;
        }

        @Override
        public Duration openTimeout() {
            return YamuxConfig.DEFAULT_TIMEOUT;
        }

        @Override
        public boolean synNeverSent() {
            return false;
        }

        @Override
        public boolean sessionLost() {
            return false;
        }

        @Override
        public void countHeld(long delta) {
        }
    }
}
