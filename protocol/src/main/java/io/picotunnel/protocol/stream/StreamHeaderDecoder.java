package io.picotunnel.protocol.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.io.IOException;
import java.util.List;

/**
 * Reads the {@link StreamHeader} at the start of a stream, emits it as one message, then removes itself so
 * every later byte passes through unchanged (including bytes that arrived together with the header). A header
 * longer than the limit, malformed JSON, a missing or unknown field, a missing newline, or a stream that ends
 * inside the header raise a {@link StreamHeaderException} saying which.
 */
public final class StreamHeaderDecoder extends ByteToMessageDecoder {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final int maxJsonLength;
    private boolean failed;

    public StreamHeaderDecoder() {
        this(StreamHeader.DEFAULT_MAX_JSON_LENGTH);
    }

    public StreamHeaderDecoder(int maxJsonLength) {
        if (maxJsonLength < 1 || maxJsonLength > 0xFFFF) {
            throw new IllegalArgumentException("maxJsonLength must be within 1..65535");
        }
        this.maxJsonLength = maxJsonLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            decodeHeader(ctx, in, out);
        } catch (StreamHeaderException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    private void decodeHeader(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 2) {
            return;
        }
        int length = in.getUnsignedShort(in.readerIndex());
        if (length == 0) {
            throw new StreamHeaderException("stream header is empty (length 0)");
        }
        if (length > maxJsonLength) {
            throw new StreamHeaderException("stream header of " + length + " bytes exceeds the limit of "
                    + maxJsonLength);
        }
        if (in.readableBytes() < 2 + length + 1) {
            return;
        }
        int jsonStart = in.readerIndex() + 2;
        if (in.getByte(jsonStart + length) != '\n') {
            throw new StreamHeaderException("stream header is not followed by a newline");
        }
        StreamHeader header = parse(in.slice(jsonStart, length));
        in.skipBytes(2 + length + 1);
        out.add(header);
        ctx.pipeline().remove(this);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.isReadable()) {
            decode(ctx, in, out);
            if (in.isReadable() && !ctx.isRemoved()) {
                int got = in.readableBytes();
                failed = true;
                in.skipBytes(got);
                throw new StreamHeaderException("stream ended inside the stream header after " + got + " bytes");
            }
        }
    }

    private static StreamHeader parse(ByteBuf json) {
        JsonNode node;
        try (ByteBufInputStream stream = new ByteBufInputStream(json)) {
            node = MAPPER.readTree((java.io.InputStream) stream);
        } catch (JsonProcessingException e) {
            throw new StreamHeaderException("stream header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new StreamHeaderException("stream header could not be read", e);
        }
        if (node == null || !node.isObject()) {
            throw new StreamHeaderException("stream header is not a JSON object");
        }
        String type = text(node, "type");
        String target = text(node, "target");
        StreamType streamType;
        try {
            streamType = StreamType.fromWire(type);
        } catch (IllegalArgumentException e) {
            throw new StreamHeaderException("stream header has an unknown type \"" + type + "\" (tcp or http)");
        }
        try {
            return new StreamHeader(streamType, target);
        } catch (IllegalArgumentException e) {
            throw new StreamHeaderException(e.getMessage());
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new StreamHeaderException("stream header has no \"" + field + "\" field");
        }
        if (!value.isTextual()) {
            throw new StreamHeaderException("stream header field \"" + field + "\" is not a string");
        }
        return value.asText();
    }
}
