package io.picotunnel.server.config;

/** A setting has a value the server cannot use. The message is one sentence meant for the operator. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }
}
