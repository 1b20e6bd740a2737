package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What the HTTPS listener needs from a TLS ClientHello: the server name (SNI, RFC 6066) and the offered
 * ALPN protocols (RFC 7301). {@code serverName} is null when the client sent none.
 */
public record ClientHello(String serverName, List<String> alpnProtocols) {

    private static final int EXTENSION_SERVER_NAME = 0;
    private static final int EXTENSION_ALPN = 16;
    private static final int NAME_TYPE_HOST_NAME = 0;

    /**
     * Parses a ClientHello body as Netty's {@code SslClientHelloHandler} hands it over (from
     * {@code client_version} on, the handshake header stripped). Throws {@link IllegalArgumentException}
     * on a malformed message; never reads outside {@code body}.
     */
    public static ClientHello parse(ByteBuf body) {
        Reader in = new Reader(body);
        in.skip(2 + 32); // client_version, random
        in.skip(in.u8()); // session_id
        in.skip(in.u16()); // cipher_suites
        in.skip(in.u8()); // compression_methods
        if (in.remaining() == 0) {
            return new ClientHello(null, List.of());
        }
        int extensionsLength = in.u16();
        int extensionsEnd = in.position() + extensionsLength;
        in.require(extensionsEnd);
        String serverName = null;
        List<String> alpn = List.of();
        while (in.position() < extensionsEnd) {
            int type = in.u16();
            int length = in.u16();
            int end = in.position() + length;
            in.require(end);
            if (type == EXTENSION_SERVER_NAME) {
                serverName = parseServerName(in, end);
            } else if (type == EXTENSION_ALPN) {
                alpn = parseAlpn(in, end);
            }
            in.seek(end);
        }
        return new ClientHello(serverName, alpn);
    }

    private static String parseServerName(Reader in, int end) {
        int listLength = in.u16();
        int listEnd = in.position() + listLength;
        if (listEnd > end) {
            throw new IllegalArgumentException("server_name list longer than its extension");
        }
        while (in.position() < listEnd) {
            int nameType = in.u8();
            int length = in.u16();
            if (in.position() + length > listEnd) {
                throw new IllegalArgumentException("server name longer than its list");
            }
            if (nameType == NAME_TYPE_HOST_NAME) {
                return in.ascii(length);
            }
            in.skip(length);
        }
        return null;
    }

    private static List<String> parseAlpn(Reader in, int end) {
        int listLength = in.u16();
        int listEnd = in.position() + listLength;
        if (listEnd > end) {
            throw new IllegalArgumentException("ALPN list longer than its extension");
        }
        List<String> protocols = new ArrayList<>();
        while (in.position() < listEnd) {
            int length = in.u8();
            if (length == 0 || in.position() + length > listEnd) {
                throw new IllegalArgumentException("bad ALPN protocol name length");
            }
            protocols.add(in.ascii(length));
        }
        return List.copyOf(protocols);
    }

    /** Bounds-checked reads relative to the buffer's reader index. */
    private static final class Reader {
        private final ByteBuf buf;
        private final int start;
        private final int limit;
        private int pos;

        Reader(ByteBuf buf) {
            this.buf = buf;
            this.start = buf.readerIndex();
            this.limit = buf.writerIndex() - start;
        }

        int position() {
            return pos;
        }

        int remaining() {
            return limit - pos;
        }

        void require(int end) {
            if (end > limit) {
                throw new IllegalArgumentException("truncated ClientHello");
            }
        }

        void seek(int p) {
            require(p);
            pos = p;
        }

        void skip(int n) {
            seek(pos + n);
        }

        int u8() {
            require(pos + 1);
            return buf.getUnsignedByte(start + pos++);
        }

        int u16() {
            require(pos + 2);
            int v = buf.getUnsignedShort(start + pos);
            pos += 2;
            return v;
        }

        String ascii(int length) {
            require(pos + length);
            String s = buf.toString(start + pos, length, StandardCharsets.US_ASCII);
            pos += length;
            return s;
        }
    }
}
