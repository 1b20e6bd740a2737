package io.picotunnel.server.config;

/** How the management API authenticates requests. */
public enum AuthMode {
    /** Bearer admin token (and, with OIDC configured, a web UI session). */
    TOKEN,
    /** No authentication at all: an explicit opt-out for trusted networks. */
    NONE
}
