package io.picotunnel.protocol.yamux;

/** The three GoAway codes of spec.md. */
public enum GoAwayCode {
    NORMAL(0),
    PROTOCOL_ERROR(1),
    INTERNAL_ERROR(2);

    private final int code;

    GoAwayCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static GoAwayCode of(int code) {
        for (GoAwayCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return INTERNAL_ERROR;
    }
}
