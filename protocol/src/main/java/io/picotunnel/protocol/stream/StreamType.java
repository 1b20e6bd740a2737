package io.picotunnel.protocol.stream;

/** What a stream carries: the {@code type} field of the stream header. */
public enum StreamType {
    TCP("tcp"),
    HTTP("http");

    private final String wireName;

    StreamType(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static StreamType fromWire(String name) {
        for (StreamType t : values()) {
            if (t.wireName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown stream type: " + name);
    }
}
