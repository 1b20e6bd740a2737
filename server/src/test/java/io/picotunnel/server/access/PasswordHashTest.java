package io.picotunnel.server.access;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class PasswordHashTest {

    private static final String COMPOSED = "caf\u00e9 cr\u00e8me";
    private static final String DECOMPOSED = "cafe\u0301 cre\u0300me";

    @Test
    void aPasswordMatchesInEitherUnicodeForm() {
        String hash = PasswordHash.hash(DECOMPOSED);
        assertThat(PasswordHash.matches(COMPOSED, hash)).isTrue();
        assertThat(PasswordHash.matches(DECOMPOSED, hash)).isTrue();
        assertThat(PasswordHash.matches("cafe creme", hash)).isFalse();
    }

    /** Hashed as sent, before passwords were composed: the visitor who types it as before still gets in. */
    @Test
    void aPasswordHashedUncomposedBeforeStillMatchesAsItWasSent() {
        String older = OpenBSDBCrypt.generate("2y", DECOMPOSED.toCharArray(),
                "sixteen byte slt".getBytes(StandardCharsets.US_ASCII), PasswordHash.COST);
        assertThat(PasswordHash.matches(DECOMPOSED, older)).isTrue();
        assertThat(PasswordHash.matches("cafe cre\u0300me", older)).isFalse();
    }

    @Test
    void aMalformedHashOrNoPasswordMatchesNothing() {
        assertThat(PasswordHash.matches(COMPOSED, "$2y$11$not-a-hash")).isFalse();
        assertThat(PasswordHash.matches(null, PasswordHash.hash(COMPOSED))).isFalse();
    }

    /**
     * A stored hash edited to a cost above any this server makes (here 2^31 rounds, years of a check thread) matches
     * nothing, at once, as a malformed hash; one at the highest cost allowed still matches. Before, the check ran for
     * as long as the hash asked, holding one of the gate's 2 check threads, its credentials and its address's slot.
     */
    @Test
    void aHashAskingForMoreRoundsThanAllowedMatchesNothingAtOnce() {
        byte[] salt = "sixteen byte slt".getBytes(StandardCharsets.US_ASCII);
        String highest = OpenBSDBCrypt.generate("2y", COMPOSED.toCharArray(), salt, PasswordHash.MAX_COST);
        assertThat(PasswordHash.matches(COMPOSED, highest)).as("at the highest cost allowed").isTrue();
        String edited = highest.replace("$" + PasswordHash.MAX_COST + "$", "$31$");
        assertThat(edited).as("the hash edited to cost 31").startsWith("$2y$31$");
        boolean matched = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> PasswordHash.matches(COMPOSED, edited),
                "a check of a hash at cost 31");
        assertThat(matched).as("a hash at cost 31").isFalse();
    }
}
