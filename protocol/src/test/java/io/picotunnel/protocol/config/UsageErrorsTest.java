package io.picotunnel.protocol.config;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class UsageErrorsTest {

    /** A command with --data DIR and one FILE, as picotunnel-server backup. */
    private static String describe(int before, String... args) {
        CommandSpec spec = CommandSpec.create()
                .addOption(OptionSpec.builder("--data").paramLabel("DIR").type(String.class).build())
                .addPositional(PositionalParamSpec.builder().paramLabel("FILE").type(String.class).build());
        CommandLine.ParameterException e = catchThrowableOfType(CommandLine.ParameterException.class,
                () -> new CommandLine(spec).parseArgs(args));
        return UsageErrors.describe(e, before, "--data DIR");
    }

    @Test
    void anArgumentLeftOverIsToldByItsPositionNotShown() {
        assertThat(describe(0, "copy.db", "s3cret")).isEqualTo("1 argument not understood: argument 2 belongs to no"
                + " flag (not shown: it may be a secret; a value goes right after its flag, as in --data DIR)");
        assertThat(describe(1, "copy.db", "s3cret")).startsWith("1 argument not understood: argument 3 belongs");
    }

    @Test
    void anArgumentEqualToOneThatWasTakenIsToldAtItsOwnPosition() {
        assertThat(describe(0, "--data", "s3cret", "s3cret", "s3cret"))
                .startsWith("1 argument not understood: argument 4 belongs to no flag");
    }

    @Test
    void anUnknownFlagIsNamedUpToItsEqualsSignAndAnythingElseIsNot() {
        assertThat(describe(0, "--tokn=s3cret", "copy.db")).isEqualTo("1 argument not understood: unknown flag --tokn"
                + " (argument 1)");
        // s3cret is taken as the FILE; -s3cret, which looks like a flag, is not shown either.
        assertThat(describe(0, "--tokn", "s3cret", "-s3cret")).doesNotContain("s3cret")
                .startsWith("2 arguments not understood: unknown flag --tokn (argument 1); argument 3 belongs to no"
                        + " flag");
    }

    @Test
    void anUnknownFlagTwoEditsFromAFlagSaysWhichItMeant() {
        assertThat(describe(0, "--dtaa=/srv", "copy.db")).isEqualTo("1 argument not understood: unknown flag --dtaa"
                + " (argument 1; did you mean --data?)");
        assertThat(describe(0, "--dat", "/srv")).isEqualTo("1 argument not understood: unknown flag --dat (argument 1;"
                + " did you mean --data?)");
        assertThat(describe(0, "--daily", "copy.db")).isEqualTo("1 argument not understood: unknown flag --daily"
                + " (argument 1)");
    }

    /** A command with the server's address flags and --data (alias --data-dir), as picotunnel-server. */
    private static String describeServer(String... args) {
        CommandSpec spec = CommandSpec.create();
        for (String flag : new String[] {"--listen-addr", "--tunnel-addr", "--http-addr", "--https-addr"}) {
            spec.addOption(OptionSpec.builder(flag).paramLabel("ADDR").type(String.class).build());
        }
        spec.addOption(OptionSpec.builder("--data", "--data-dir").paramLabel("DIR").type(String.class).build());
        CommandLine.ParameterException e = catchThrowableOfType(CommandLine.ParameterException.class,
                () -> new CommandLine(spec).parseArgs(args));
        return UsageErrors.describe(e, 0, "--data DIR");
    }

    @Test
    void anUnknownFlagThatShortensOrLengthensOneFlagByWordsSaysWhichItMeant() {
        assertThat(describeServer("--listen=127.0.0.1:8080")).isEqualTo("1 argument not understood: unknown flag"
                + " --listen (argument 1; did you mean --listen-addr?)");
        assertThat(describeServer("--tunnel=:8443")).endsWith("(argument 1; did you mean --tunnel-addr?)");
        assertThat(describeServer("--http=:8000")).endsWith("(argument 1; did you mean --http-addr?)");
        assertThat(describeServer("--listen-address=:8080")).endsWith("(argument 1; did you mean --listen-addr?)");
        assertThat(describeServer("--data-directory=/srv")).endsWith("(argument 1; did you mean --data-dir?)");
    }

    @Test
    void anUnknownFlagThatShortensSeveralFlagsOrAddsAWordSuggestsNone() {
        assertThat(describeServer("--addr=:8080")).isEqualTo("1 argument not understood: unknown flag --addr"
                + " (argument 1)");
        assertThat(describeServer("--listen-addr-v6=:8080")).endsWith("unknown flag --listen-addr-v6 (argument 1)");
    }

    @Test
    void otherProblemsArePicocliMessagesAsTheyAre() {
        assertThat(describe(0, "--data")).contains("--data").doesNotContain("not understood");
    }
}
