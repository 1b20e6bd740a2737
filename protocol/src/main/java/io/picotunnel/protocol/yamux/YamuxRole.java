package io.picotunnel.protocol.yamux;

/** The side of a session: the client opens odd stream ids, the server even ones (spec.md, "Stream Identifiers"). */
public enum YamuxRole {
    CLIENT(1),
    SERVER(2);

    private final int firstStreamId;

    YamuxRole(int firstStreamId) {
        this.firstStreamId = firstStreamId;
    }

    public int firstStreamId() {
        return firstStreamId;
    }
}
