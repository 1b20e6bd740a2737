package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Plaintext TLS alert records, sent before any handshake message of ours. */
final class TlsAlerts {

    private static final int CONTENT_TYPE_ALERT = 21;
    private static final int LEVEL_FATAL = 2;
    static final int UNRECOGNIZED_NAME = 112;
    static final int INTERNAL_ERROR = 80;

    private TlsAlerts() {
    }

    static ByteBuf fatal(ByteBufAllocator alloc, int description) {
        ByteBuf record = alloc.buffer(7);
        record.writeByte(CONTENT_TYPE_ALERT);
        record.writeShort(0x0303);
        record.writeShort(2);
        record.writeByte(LEVEL_FATAL);
        record.writeByte(description);
        return record;
    }
}
