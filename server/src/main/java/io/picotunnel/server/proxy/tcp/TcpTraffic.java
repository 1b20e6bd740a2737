package io.picotunnel.server.proxy.tcp;

import java.util.concurrent.atomic.LongAdder;

/** Bytes moved by the connections of one tcp service: read from the public side and written back to it. */
public final class TcpTraffic {

    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();

    void received(long bytes) {
        received.add(bytes);
    }

    void sent(long bytes) {
        sent.add(bytes);
    }

    /** Bytes read from public connections (and handed to the tunnel). */
    public long receivedBytes() {
        return received.sum();
    }

    /** Bytes written to public connections (from the tunnel). */
    public long sentBytes() {
        return sent.sum();
    }
}
