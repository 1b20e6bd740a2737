package io.picotunnel.server.access;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

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
}
