package io.picotunnel.protocol.config;

import java.util.List;

/**
 * A setting of the server or the client, declared once, as a constant of the program's {@code Setting} enum: its
 * flag, its {@code PICOTUNNEL_*} environment variable (the constant's name), its default and its help text.
 * {@link SettingOptions} makes the command line of them and {@link SettingValues} reads them: a flag wins over the
 * variable, which wins over the default.
 */
public interface DeclaredSetting {

    /** The enum constant's name: the variable is {@code PICOTUNNEL_} and this. */
    String name();

    Declaration declaration();

    /**
     * @param paramLabel   what the value is, in the help; {@code BOOL} makes a flag that may stand alone for true
     * @param defaultValue null when the setting is unset by default (the description then says what happens)
     * @param aliases      further names of the flag
     */
    record Declaration(String flag, String paramLabel, String defaultValue, String description, List<String> aliases) {
        public Declaration(String flag, String paramLabel, String defaultValue, String description, String... aliases) {
            this(flag, paramLabel, defaultValue, description, List.of(aliases));
        }
    }

    default String flag() {
        return declaration().flag();
    }

    /** Further names of the flag. */
    default List<String> aliases() {
        return declaration().aliases();
    }

    default String envVar() {
        return "PICOTUNNEL_" + name();
    }

    default String paramLabel() {
        return declaration().paramLabel();
    }

    /** The default, or null when the setting is unset by default. */
    default String defaultValue() {
        return declaration().defaultValue();
    }

    default String description() {
        return declaration().description();
    }

    /** "--listen-addr (PICOTUNNEL_LISTEN_ADDR)", for messages. */
    default String displayName() {
        return flag() + " (" + envVar() + ")";
    }

    default boolean isBoolean() {
        return "BOOL".equals(paramLabel());
    }
}
