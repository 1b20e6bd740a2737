package io.picotunnel.protocol.config;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A secret in one pair of quotes, read as what is inside: {@code docker run --env-file} keeps the quotes of
 * {@code PICOTUNNEL_TOKEN="..."} (Docker Compose's {@code env_file}, systemd's EnvironmentFile and shells remove them),
 * and a server whose tokens are hex answered 401 with nothing to say why. Only one pair of matching quotes around a
 * value without quotes or spaces of its own; anything else is left as it is.
 */
public final class QuotedSecrets {

    private QuotedSecrets() {
    }

    /** {@code "SECRET"} or {@code 'SECRET'} as {@code SECRET}; anything else as it is. */
    public static String unquoted(String secret) {
        return isQuoted(secret) ? secret.substring(1, secret.length() - 1) : secret;
    }

    /** Whether {@link #unquoted} takes quotes off {@code secret}. */
    public static boolean isQuoted(String secret) {
        if (secret == null || secret.length() < 3) {
            return false;
        }
        char first = secret.charAt(0);
        if ((first != '"' && first != '\'') || secret.charAt(secret.length() - 1) != first) {
            return false;
        }
        return secret.substring(1, secret.length() - 1).chars()
                .allMatch(c -> PrintableToken.isPrintable(c) && c != '"' && c != '\'');
    }

    /**
     * What to log when the value of {@code setting} (its flag's in {@code flags}, else its variable's in {@code env})
     * is in quotes; never any of the value, a secret.
     */
    public static <S extends Enum<S> & DeclaredSetting> Optional<String> warning(S setting, Map<S, String> flags,
                                                                                Map<String, String> env) {
        boolean fromFlag = flags.containsKey(setting);
        String given = fromFlag ? flags.get(setting) : env.get(setting.envVar());
        if (given == null || !isQuoted(given.strip())) {
            return Optional.empty();
        }
        return Optional.of("the " + setting.paramLabel().toLowerCase(Locale.ROOT) + " is in quotes ("
                + (fromFlag ? setting.flag() : setting.envVar()) + "), as docker run --env-file keeps them from "
                + setting.envVar() + "=\"...\" (Compose's env_file and systemd's EnvironmentFile take them off):"
                + " using what is inside; write the line without quotes");
    }
}
