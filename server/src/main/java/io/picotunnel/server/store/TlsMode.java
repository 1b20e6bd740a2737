package io.picotunnel.server.store;

public enum TlsMode {
    TERMINATE("terminate"),
    PASSTHROUGH("passthrough");

    private final String json;

    TlsMode(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }
}
