package io.picotunnel.client.config;

/** A setting is missing or invalid; the message says which and what to do. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }
}
