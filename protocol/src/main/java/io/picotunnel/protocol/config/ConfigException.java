package io.picotunnel.protocol.config;

/** A setting is missing or has a value the program cannot use. The message is one sentence meant for the operator. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }
}
