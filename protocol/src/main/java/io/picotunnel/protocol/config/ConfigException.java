package io.picotunnel.protocol.config;

/** A setting is missing or has a value the program cannot use. The message is one sentence meant for the operator. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }

    /** "Invalid --x (PICOTUNNEL_X): {@code problem}.": the flag and the variable, as either may hold the value. */
    public static ConfigException invalid(DeclaredSetting setting, String problem) {
        return new ConfigException("Invalid " + setting.displayName() + ": " + problem + ".");
    }
}
