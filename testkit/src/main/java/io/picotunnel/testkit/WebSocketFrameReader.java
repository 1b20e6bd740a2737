package io.picotunnel.testkit;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;

/**
 * Reads WebSocket frames (RFC 6455 section 5.2) one at a time from a raw socket, for tests that play a client or a
 * server by hand: a client's masked frames are unmasked, a server's unmasked ones taken as they are. A frame longer
 * than the limit fails the read instead of allocating its length; each read waits at most the socket timeout set
 * here. Control frames and fragments are returned as they come: the caller decides what they mean.
 */
public final class WebSocketFrameReader {

    public static final int CONTINUATION = 0x0;
    public static final int BINARY = 0x2;
    public static final int CLOSE = 0x8;
    public static final int PING = 0x9;
    public static final int PONG = 0xA;

    /** One frame: its FIN bit, opcode, whether it came masked, and its payload (unmasked). */
    public record Frame(boolean fin, int opcode, boolean masked, byte[] payload) {
    }

    private final DataInputStream in;
    private final int maxPayload;
    private long bytesRead;

    /** Sets {@code socket}'s read timeout to {@code readTimeout}; frames longer than {@code maxPayload} fail. */
    public WebSocketFrameReader(Socket socket, int maxPayload, Duration readTimeout) throws IOException {
        socket.setSoTimeout(Math.toIntExact(readTimeout.toMillis()));
        this.in = new DataInputStream(socket.getInputStream());
        this.maxPayload = maxPayload;
    }

    /**
     * The next frame. Throws {@link java.io.EOFException} at the end of the stream,
     * {@link java.net.SocketTimeoutException} when nothing came within the timeout, and an {@link IOException}
     * naming the length for a frame over the limit.
     */
    public Frame next() throws IOException {
        int first = in.readUnsignedByte();
        int second = in.readUnsignedByte();
        long length = second & 0x7F;
        int headerLength = 2;
        if (length == 126) {
            length = in.readUnsignedShort();
            headerLength += 2;
        } else if (length == 127) {
            length = in.readLong();
            headerLength += 8;
        }
        if (length < 0 || length > maxPayload) {
            throw new IOException("WebSocket frame of " + Long.toUnsignedString(length) + " bytes, over the limit of "
                    + maxPayload);
        }
        boolean masked = (second & 0x80) != 0;
        byte[] mask = new byte[4];
        if (masked) {
            in.readFully(mask);
            headerLength += 4;
        }
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        if (masked) {
            for (int i = 0; i < payload.length; i++) {
                payload[i] ^= mask[i & 3];
            }
        }
        bytesRead += headerLength + length;
        return new Frame((first & 0x80) != 0, first & 0x0F, masked, payload);
    }

    /** Bytes of all frames read so far, headers included. */
    public long bytesRead() {
        return bytesRead;
    }
}
