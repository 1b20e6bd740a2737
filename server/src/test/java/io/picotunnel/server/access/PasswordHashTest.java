package io.picotunnel.server.access;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
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

    /**
     * A stored hash at a cost above any this server makes (edited by hand in the database: up to 2^31 rounds, years of
     * a check thread) matches nothing, as a malformed hash, without bcrypt being run on it; one at the highest cost
     * allowed still matches. Before, the check ran for as long as the hash asked, holding one of the gate's 2 check
     * threads, its credentials and its address's slot. Tested one cost over the bound, with a hash bcrypt itself
     * matches: should the bound go, or be checked only after bcrypt ran, the check takes bcrypt's CPU time and the test
     * fails, where a check at cost 31 would leave a thread hashing for the rest of the run (bcrypt does not look at
     * interrupts). CPU time, not the clock's: a loaded machine pauses the thread, it does not make it work more.
     */
    @Test
    void aHashAskingForMoreRoundsThanAllowedMatchesNothingWithoutRunningBcrypt() {
        assertThat(PasswordHash.matches(COMPOSED, hashAt(PasswordHash.MAX_COST))).as("at the highest cost allowed")
                .isTrue();
        String over = hashAt(PasswordHash.MAX_COST + 1);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long start = threads.getCurrentThreadCpuTime();
        boolean bcryptMatched = OpenBSDBCrypt.checkPassword(over, COMPOSED.toCharArray());
        long bcrypt = threads.getCurrentThreadCpuTime() - start;
        start = threads.getCurrentThreadCpuTime();
        boolean matched = PasswordHash.matches(COMPOSED, over);
        long check = threads.getCurrentThreadCpuTime() - start;

        assertThat(bcryptMatched).as("bcrypt's own check of it").isTrue();
        assertThat(matched).as("a hash one cost over the highest allowed").isFalse();
        assertThat(check).as("the CPU time (ns) of its check, where bcrypt's own took %d ns", bcrypt)
                .isLessThan(bcrypt / 10);
    }

    private static String hashAt(int cost) {
        return OpenBSDBCrypt.generate("2y", COMPOSED.toCharArray(),
                "sixteen byte slt".getBytes(StandardCharsets.US_ASCII), cost);
    }
}
