package io.picotunnel.protocol.config;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The command-line flags of a program's settings, made from their {@link DeclaredSetting declarations}. */
public final class SettingOptions {

    private static final Set<String> BOOLEAN_WORDS = Set.of("true", "false", "yes", "no", "1", "0", "on", "off");

    private SettingOptions() {
    }

    /** Adds a flag for each setting of {@code type}, its help naming its variable and its default. */
    public static <S extends Enum<S> & DeclaredSetting> void addTo(CommandSpec spec, Class<S> type) {
        for (S setting : type.getEnumConstants()) {
            String[] names = new String[1 + setting.aliases().size()];
            names[0] = setting.flag();
            for (int i = 0; i < setting.aliases().size(); i++) {
                names[i + 1] = setting.aliases().get(i);
            }
            OptionSpec.Builder option = OptionSpec.builder(names)
                    .paramLabel(setting.paramLabel())
                    .type(String.class)
                    .description(setting.description() + " Env: " + setting.envVar()
                            + (setting.defaultValue() == null ? "." : ". Default: " + setting.defaultValue() + "."));
            if (setting.isBoolean()) {
                option.arity("0..1").fallbackValue("true").preprocessor((args, command, argSpec, info) -> {
                    // Alone, the flag is true: the next argument is its value only if a boolean word, else it stays an
                    // argument of its own, which may be a secret that an error about a wrong boolean would repeat.
                    boolean attached = !" ".equals(info.get("separator"));
                    if (!attached && (args.isEmpty() || !BOOLEAN_WORDS.contains(args.peek().toLowerCase(Locale.ROOT)))) {
                        args.push("true");
                    }
                    return false;
                });
            }
            spec.addOption(option.build());
        }
    }

    /** The values of the settings of {@code type} given on the command line. */
    public static <S extends Enum<S> & DeclaredSetting> Map<S, String> given(ParseResult parsed, Class<S> type) {
        Map<S, String> flags = new EnumMap<>(type);
        for (S setting : type.getEnumConstants()) {
            String value = parsed.matchedOptionValue(setting.flag(), null);
            if (value != null) {
                flags.put(setting, value);
            }
        }
        return flags;
    }
}
