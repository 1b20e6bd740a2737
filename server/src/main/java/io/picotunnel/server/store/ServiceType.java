package io.picotunnel.server.store;

public enum ServiceType {
    HTTP("http"),
    TCP("tcp");

    private final String json;

    ServiceType(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }
}
