package io.picotunnel.protocol.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.picotunnel.protocol.buffer.NewBuffers;
import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The first bytes the server sends on every stream: what to connect to. On the wire: a 2-byte big-endian length
 * N, N bytes of JSON {@code {"type":"tcp"|"http","target":"host:port"}}, then one {@code '\n'}; after it the
 * stream carries raw bytes in both directions (see {@code docs/protocol.md}).
 *
 * @param type   what the stream carries
 * @param target {@code host:port} (IPv6 hosts in brackets) the client dials
 */
public record StreamHeader(StreamType type, String target) {

    /** Longest JSON part we write or accept by default. */
    public static final int DEFAULT_MAX_JSON_LENGTH = 4096;

    private static final JsonFactory JSON = new JsonFactory();

    public StreamHeader {
        if (type == null) {
            throw new IllegalArgumentException("stream header type is missing");
        }
        if (target == null || target.isBlank()) {
            throw new IllegalArgumentException("stream header target is missing");
        }
        int colon = target.lastIndexOf(':');
        if (colon <= 0 || colon == target.length() - 1) {
            throw new IllegalArgumentException("stream header target is not host:port: "
                    + ControlCharacters.bounded(target));
        }
        String port = target.substring(colon + 1);
        if (!AsciiNumbers.isDigits(port) || port.length() > 5 || Integer.parseInt(port) < 1
                || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("stream header target has no valid port (1-65535): "
                    + ControlCharacters.bounded(target));
        }
    }

    /** The host part of {@link #target()}, without IPv6 brackets. */
    public String host() {
        String host = target.substring(0, target.lastIndexOf(':'));
        if (host.startsWith("[") && host.endsWith("]")) {
            return host.substring(1, host.length() - 1);
        }
        return host;
    }

    public int port() {
        return Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    }

    /** The wire encoding: length, JSON, newline; the buffer is released if the encoding fails. */
    public ByteBuf encode(ByteBufAllocator alloc) {
        refuseTargetLongerThanAnyHeader();
        return NewBuffers.filled(alloc.buffer(32 + target.length()), this, (out, header) -> header.encode(out));
    }

    /** Writes the wire encoding to {@code out}. */
    public void encode(ByteBuf out) {
        refuseTargetLongerThanAnyHeader();
        int lengthIndex = out.writerIndex();
        out.writeShort(0);
        int jsonStart = out.writerIndex();
        try (JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(out))) {
            g.writeStartObject();
            g.writeStringField("type", type.wireName());
            g.writeStringField("target", target);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int jsonLength = out.writerIndex() - jsonStart;
        if (jsonLength > DEFAULT_MAX_JSON_LENGTH) {
            throw new IllegalArgumentException("stream header longer than " + DEFAULT_MAX_JSON_LENGTH + " bytes");
        }
        out.setShort(lengthIndex, jsonLength);
        out.writeByte('\n');
    }

    /**
     * Every character of the target takes one byte of JSON or more: a longer target is refused before a buffer of
     * its length is allocated or written. The record does not bound it, as the decoder's limit is the reader's.
     */
    private void refuseTargetLongerThanAnyHeader() {
        if (target.length() > DEFAULT_MAX_JSON_LENGTH) {
            throw new IllegalArgumentException("stream header longer than " + DEFAULT_MAX_JSON_LENGTH
                    + " bytes: its target alone has " + target.length() + " characters");
        }
    }
}
