package io.picotunnel.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** HTTP/2 frames (RFC 9113 section 4.1) and HPACK header blocks built by hand, for tests that play a peer. */
public final class Http2Frames {

    private Http2Frames() {
    }

    public static byte[] frame(int type, int flags, int stream, byte[] payload) {
        ByteBuffer frame = ByteBuffer.allocate(9 + payload.length);
        frame.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
        frame.put((byte) type).put((byte) flags).putInt(stream).put(payload);
        return frame.array();
    }

    /** HPACK literal fields without indexing, new names, no Huffman coding (names and values under 127 bytes). */
    public static byte[] headers(String... namesAndValues) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            block.write(0);
            for (String s : new String[] {namesAndValues[i], namesAndValues[i + 1]}) {
                byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
                if (bytes.length >= 127) {
                    // A length of 127 or more takes HPACK's multi-byte integer, which this one-byte form cannot write.
                    throw new IllegalArgumentException("an HPACK string of " + bytes.length + " bytes: at most 126 here");
                }
                block.write(bytes.length);
                block.writeBytes(bytes);
            }
        }
        return block.toByteArray();
    }
}
