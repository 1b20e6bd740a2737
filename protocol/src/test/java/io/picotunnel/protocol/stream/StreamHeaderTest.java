package io.picotunnel.protocol.stream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.picotunnel.protocol.buffer.Leaks;
import io.picotunnel.protocol.buffer.RecordingAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamHeaderTest {

    private final EmbeddedChannel channel = new EmbeddedChannel(new StreamHeaderDecoder());

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private static ByteBuf wire(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = Unpooled.buffer();
        b.writeShort(bytes.length).writeBytes(bytes).writeByte('\n');
        return b;
    }

    /** The header {@code json} on the wire is refused with a StreamHeaderException that says {@code message}. */
    private void assertRefused(String json, String message) {
        assertThatThrownBy(() -> channel.writeInbound(wire(json)))
                .isInstanceOf(StreamHeaderException.class).hasMessageContaining(message);
    }

    @Test
    void encodingIsLengthJsonNewline() {
        ByteBuf b = new StreamHeader(StreamType.TCP, "127.0.0.1:22").encode(ByteBufAllocator.DEFAULT);
        String json = "{\"type\":\"tcp\",\"target\":\"127.0.0.1:22\"}";
        assertThat(b.readUnsignedShort()).isEqualTo(json.length());
        assertThat(b.readCharSequence(json.length(), StandardCharsets.UTF_8).toString()).isEqualTo(json);
        assertThat(b.readByte()).isEqualTo((byte) '\n');
        assertThat(b.isReadable()).isFalse();
        b.release();
    }

    /** A header too long to encode (the record does not bound its target) fails with its buffer released: it leaked. */
    @Test
    void aHeaderTooLongToEncodeReleasesItsBuffer() {
        StreamHeader header = new StreamHeader(StreamType.TCP,
                "a".repeat(StreamHeader.DEFAULT_MAX_JSON_LENGTH) + ":80");
        UnpooledByteBufAllocator allocator = Leaks.countingAllocator();

        assertThatThrownBy(() -> header.encode(allocator))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("longer than 4096 bytes");

        Leaks.assertAllReleased(allocator, "the header's buffer");
    }

    /**
     * A target longer than any header can hold is refused before a buffer is allocated: the buffer was allocated at
     * the target's length (here 1 MiB) and written before the JSON's length was checked.
     */
    @Test
    void aTargetLongerThanAnyHeaderIsRefusedBeforeABufferIsAllocated() {
        StreamHeader header = new StreamHeader(StreamType.TCP, "a".repeat(1 << 20) + ":80");
        RecordingAllocator allocator = new RecordingAllocator();

        assertThatThrownBy(() -> header.encode(allocator)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("longer than 4096 bytes").hasMessageContaining((1 << 20) + 3 + " characters");

        assertThat(allocator.allocated).as("buffers allocated").isEmpty();
    }

    /** A target of fewer characters whose JSON still passes the limit (two bytes a character) releases its buffer. */
    @Test
    void aTargetWhoseJsonPassesTheLimitReleasesItsBuffer() {
        StreamHeader header = new StreamHeader(StreamType.TCP, "\u00e9".repeat(2100) + ":80");
        UnpooledByteBufAllocator allocator = Leaks.countingAllocator();

        assertThatThrownBy(() -> header.encode(allocator))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("stream header longer than 4096 bytes");

        Leaks.assertAllReleased(allocator, "the header's buffer");
    }

    @Test
    void headerIsDecodedAndLaterBytesPassThroughUnchanged() {
        ByteBuf in = new StreamHeader(StreamType.HTTP, "localhost:8080").encode(ByteBufAllocator.DEFAULT);
        in.writeBytes("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        channel.writeInbound(in);
        channel.writeInbound(Unpooled.copiedBuffer("Host: x\r\n", StandardCharsets.US_ASCII));
        StreamHeader header = channel.readInbound();
        assertThat(header).isEqualTo(new StreamHeader(StreamType.HTTP, "localhost:8080"));
        assertThat(header.host()).isEqualTo("localhost");
        assertThat(header.port()).isEqualTo(8080);
        ByteBuf first = channel.readInbound();
        assertThat(first.toString(StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.1\r\n");
        first.release();
        ByteBuf second = channel.readInbound();
        assertThat(second.toString(StandardCharsets.US_ASCII)).isEqualTo("Host: x\r\n");
        second.release();
        assertThat(channel.pipeline().get(StreamHeaderDecoder.class)).as("removed itself").isNull();
    }

    @Test
    void headerArrivingByteByByteIsDecoded() {
        ByteBuf in = wire("{\"type\":\"tcp\",\"target\":\"[::1]:5432\"}");
        while (in.isReadable()) {
            channel.writeInbound(in.readRetainedSlice(1));
        }
        in.release();
        StreamHeader header = channel.readInbound();
        assertThat(header.host()).isEqualTo("::1");
        assertThat(header.port()).isEqualTo(5432);
    }

    @Test
    void unknownFieldsAreIgnored() {
        channel.writeInbound(wire("{\"type\":\"tcp\",\"target\":\"a:1\",\"future\":true}"));
        StreamHeader header = channel.readInbound();
        assertThat(header).isEqualTo(new StreamHeader(StreamType.TCP, "a:1"));
    }

    @Test
    void malformedJsonIsAClearError() {
        assertRefused("{\"type\":\"tcp\",", "not valid JSON");
    }

    @Test
    void missingTargetIsAClearError() {
        assertRefused("{\"type\":\"tcp\"}", "no \"target\" field");
    }

    @Test
    void missingTypeIsAClearError() {
        assertRefused("{\"target\":\"a:1\"}", "no \"type\" field");
    }

    @Test
    void unknownTypeIsAClearError() {
        assertRefused("{\"type\":\"udp\",\"target\":\"a:1\"}", "unknown type \"udp\"");
    }

    @Test
    void targetWithoutPortIsAClearError() {
        assertRefused("{\"type\":\"tcp\",\"target\":\"example.com\"}", "host:port");
    }

    @Test
    void portOutOfRangeIsAClearError() {
        assertRefused("{\"type\":\"tcp\",\"target\":\"a:70000\"}", "1-65535");
    }

    /** The port is ASCII digits: "host:\u0668\u0660" (Arabic-Indic 80) was a target on port 80. */
    @Test
    void aPortInAnotherScriptsDigitsIsRefused() {
        assertRefused("{\"type\":\"tcp\",\"target\":\"host:\u0668\u0660\"}", "has no valid port (1-65535)");
        assertThatThrownBy(() -> new StreamHeader(StreamType.TCP, "host:\uff18\uff10"))
                .hasMessageStartingWith("stream header target has no valid port (1-65535)");
    }

    @Test
    void aControlCharacterInARefusedTargetIsWrittenOutNotQuotedAsItIs() {
        assertRefused("{\"type\":\"tcp\",\"target\":\"host\\r\\nforged\"}",
                "is not host:port: host\\r\\nforged");
        assertThatThrownBy(() -> new StreamHeader(StreamType.TCP, "host:80\u001b[2J"))
                .hasMessage("stream header target has no valid port (1-65535): host:80\\u001b[2J");
        assertThatThrownBy(() -> new StreamHeader(StreamType.TCP, "a\u2028b"))
                .hasMessage("stream header target is not host:port: a\\u2028b");
    }

    /** 600 control characters in a header under the limit: written out, they were 3,600 characters of the message. */
    @Test
    void aLongRefusedTargetIsCutInTheMessage() {
        assertRefused("{\"type\":\"tcp\",\"target\":\"" + "\\u0001".repeat(600) + "\"}",
                "is not host:port: " + "\\u0001".repeat(200) + "...(600 chars)");
    }

    @Test
    void missingNewlineIsAClearError() {
        ByteBuf b = Unpooled.buffer();
        byte[] json = "{\"type\":\"tcp\",\"target\":\"a:1\"}".getBytes(StandardCharsets.UTF_8);
        b.writeShort(json.length).writeBytes(json).writeByte('X');
        assertThatThrownBy(() -> channel.writeInbound(b))
                .isInstanceOf(StreamHeaderException.class).hasMessageContaining("newline");
    }

    @Test
    void oversizedHeaderIsRefusedBeforeBuffering() {
        ByteBuf b = Unpooled.buffer().writeShort(60000).writeByte('{');
        assertThatThrownBy(() -> channel.writeInbound(b))
                .isInstanceOf(StreamHeaderException.class).hasMessageContaining("exceeds the limit of 4096");
    }

    @Test
    void streamEndingInsideTheHeaderIsAClearError() {
        channel.writeInbound(Unpooled.buffer().writeShort(30).writeBytes("{\"ty".getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(channel::finish)
                .isInstanceOf(DecoderException.class).hasMessageContaining("ended inside the stream header");
    }

    @Test
    void encoderWritesTheSameBytes() {
        EmbeddedChannel out = new EmbeddedChannel(StreamHeaderEncoder.INSTANCE);
        out.writeOutbound(new StreamHeader(StreamType.TCP, "db:5432"));
        ByteBuf encoded = out.readOutbound();
        ByteBuf expected = new StreamHeader(StreamType.TCP, "db:5432").encode(ByteBufAllocator.DEFAULT);
        assertThat(encoded).isEqualTo(expected);
        encoded.release();
        expected.release();
        out.finishAndReleaseAll();
    }
}
