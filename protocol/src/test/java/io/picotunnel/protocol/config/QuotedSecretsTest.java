package io.picotunnel.protocol.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A secret in one pair of matching quotes is read without them, with a warning that never holds the secret. */
class QuotedSecretsTest {

    private static final String SECRET = "s3cr3t-0123456789abcdef";

    @Test
    void oneMatchingPairOfDoubleOrSingleQuotesIsTakenOff() {
        assertThat(QuotedSecrets.unquoted("\"" + SECRET + "\"")).isEqualTo(SECRET);
        assertThat(QuotedSecrets.unquoted("'" + SECRET + "'")).isEqualTo(SECRET);
        assertThat(QuotedSecrets.isQuoted("\"" + SECRET + "\"")).isTrue();
        assertThat(QuotedSecrets.isQuoted("'" + SECRET + "'")).isTrue();
        assertThat(QuotedSecrets.unquoted("\"a\"")).isEqualTo("a");
    }

    @Test
    void mismatchedOrUnclosedQuotesAreLeftAsTheyAre() {
        for (String given : new String[] {"\"" + SECRET + "'", "'" + SECRET + "\"", "\"" + SECRET, SECRET + "\"",
                "'" + SECRET, SECRET}) {
            assertThat(QuotedSecrets.isQuoted(given)).as(given).isFalse();
            assertThat(QuotedSecrets.unquoted(given)).as(given).isEqualTo(given);
        }
    }

    @Test
    void emptyQuotesAndLoneQuotesAreLeftAsTheyAre() {
        for (String given : new String[] {"\"\"", "''", "\"", "'", ""}) {
            assertThat(QuotedSecrets.isQuoted(given)).as(given).isFalse();
            assertThat(QuotedSecrets.unquoted(given)).as(given).isEqualTo(given);
        }
        assertThat(QuotedSecrets.isQuoted(null)).isFalse();
        assertThat(QuotedSecrets.unquoted(null)).isNull();
    }

    /** Quotes inside or a space mean the quotes may be part of the secret: it is not ours to cut them. */
    @Test
    void aValueWithQuotesOrSpacesInsideIsLeftAsItIs() {
        for (String given : new String[] {"\"ab\"cd\"", "'ab'cd'", "\"ab'cd\"", "'ab\"cd'", "\"ab cd\"", "\"ab\tcd\""}) {
            assertThat(QuotedSecrets.isQuoted(given)).as(given).isFalse();
            assertThat(QuotedSecrets.unquoted(given)).as(given).isEqualTo(given);
        }
    }

    @Test
    void theWarningNamesTheFlagOrVariableAndNeverTheValue() {
        String quoted = "\"" + SECRET + "\"";
        String fromEnv = QuotedSecrets.warning(TestSetting.TOKEN, Map.of(), Map.of("PICOTUNNEL_TOKEN", quoted))
                .orElseThrow();
        assertThat(fromEnv).contains("the token is in quotes (PICOTUNNEL_TOKEN)").doesNotContain(SECRET);
        String fromFlag = QuotedSecrets.warning(TestSetting.TOKEN, Map.of(TestSetting.TOKEN, "'" + SECRET + "'"),
                Map.of("PICOTUNNEL_TOKEN", quoted)).orElseThrow();
        assertThat(fromFlag).contains("the token is in quotes (--token)").doesNotContain(SECRET);
        assertThat(QuotedSecrets.warning(TestSetting.TOKEN, Map.of(), Map.of("PICOTUNNEL_TOKEN", "  " + quoted + " ")))
                .as("padded with spaces").isPresent();
    }

    @Test
    void noWarningWithoutQuotesOrWithoutAValue() {
        assertThat(QuotedSecrets.warning(TestSetting.TOKEN, Map.of(), Map.of("PICOTUNNEL_TOKEN", SECRET))).isEmpty();
        assertThat(QuotedSecrets.warning(TestSetting.TOKEN, Map.of(), Map.of())).isEmpty();
        assertThat(QuotedSecrets.warning(TestSetting.TOKEN, Map.of(TestSetting.TOKEN, SECRET),
                Map.of("PICOTUNNEL_TOKEN", "\"" + SECRET + "\""))).as("the flag wins").isEmpty();
    }
}
