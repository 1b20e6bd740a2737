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
    /** A cost for the hashes made here whose cost the test does not need: 2^4 rounds, about a millisecond. */
    private static final int LOW_COST = 4;
    /**
     * {@code hashAt(MAX_COST)} and {@code hashAt(MAX_COST + 1)}, made once: bcrypt takes seconds to make them on a
     * loaded machine, where the tests need bcrypt to run at the highest cost allowed once, and above it never.
     */
    private static final String AT_MAX_COST = "$2y$12$a0j2bETjZg/gcVPjGFLqb.4N/JdjfwNA1.ow3e8lnpEsqXgUkHvrW";
    private static final String OVER_MAX_COST = "$2y$13$a0j2bETjZg/gcVPjGFLqb.Nz1JGg4oHo3LRMLtQwh19cCgCZ8O7g.";

    @Test
    void aPasswordMatchesInEitherUnicodeForm() {
        String hash = PasswordHash.hash(DECOMPOSED, LOW_COST);
        assertThat(PasswordHash.matches(COMPOSED, hash)).isTrue();
        assertThat(PasswordHash.matches(DECOMPOSED, hash)).isTrue();
        assertThat(PasswordHash.matches("cafe creme", hash)).isFalse();
    }

    /** Hashed as sent, before passwords were composed: the visitor who types it as before still gets in. */
    @Test
    void aPasswordHashedUncomposedBeforeStillMatchesAsItWasSent() {
        String older = OpenBSDBCrypt.generate("2y", DECOMPOSED.toCharArray(),
                "sixteen byte slt".getBytes(StandardCharsets.US_ASCII), LOW_COST);
        assertThat(PasswordHash.matches(DECOMPOSED, older)).isTrue();
        assertThat(PasswordHash.matches("cafe cre\u0300me", older)).isFalse();
    }

    @Test
    void aMalformedHashOrNoPasswordMatchesNothing() {
        assertThat(PasswordHash.matches(COMPOSED, "$2y$11$not-a-hash")).isFalse();
        assertThat(PasswordHash.matches(null, PasswordHash.hash(COMPOSED, LOW_COST))).isFalse();
    }

    /** The bound is the highest cost allowed, not the one below: the one check here that runs bcrypt at it. */
    @Test
    void aHashAtTheHighestCostAllowedStillMatches() {
        assertThat(AT_MAX_COST).startsWith("$2y$" + PasswordHash.MAX_COST + "$");

        assertThat(PasswordHash.matches(COMPOSED, AT_MAX_COST)).isTrue();
    }

    /**
     * A stored hash at a cost above any this server makes (edited by hand in the database: up to 2^31 rounds, years of
     * a check thread) matches nothing, as a malformed hash, without bcrypt being run on it. Before, the check ran for
     * as long as the hash asked, holding one of the gate's 2 check threads, its credentials and its address's slot.
     * Tested one cost over the bound, with a hash bcrypt itself matches: should the bound go, it matches, and the check
     * takes 16 times the CPU time of bcrypt's own at 4 costs less, where it must take less than that; a check at cost
     * 31 would leave a thread hashing for the rest of the run (bcrypt does not look at interrupts). CPU time, not the
     * clock's: a loaded machine pauses the thread, it does not make it work more.
     */
    @Test
    void aHashAskingForMoreRoundsThanAllowedMatchesNothingWithoutRunningBcrypt() {
        assertThat(OVER_MAX_COST).startsWith("$2y$" + (PasswordHash.MAX_COST + 1) + "$");
        String fourCostsLess = hashAt(PasswordHash.MAX_COST + 1 - 4);
        // the classes a check loads (Unicode normalization, bcrypt's) loaded before one is timed
        assertThat(PasswordHash.matches(COMPOSED, hashAt(LOW_COST))).isTrue();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long start = threads.getCurrentThreadCpuTime();
        boolean bcryptMatched = OpenBSDBCrypt.checkPassword(fourCostsLess, COMPOSED.toCharArray());
        long bcrypt = threads.getCurrentThreadCpuTime() - start;
        start = threads.getCurrentThreadCpuTime();
        boolean matched = PasswordHash.matches(COMPOSED, OVER_MAX_COST);
        long check = threads.getCurrentThreadCpuTime() - start;

        assertThat(bcryptMatched).as("bcrypt's own check four costs less").isTrue();
        assertThat(matched).as("a hash one cost over the highest allowed").isFalse();
        assertThat(check).as("the CPU time (ns) of its check, where bcrypt's own four costs less took %d ns", bcrypt)
                .isLessThan(bcrypt);
    }

    private static String hashAt(int cost) {
        return OpenBSDBCrypt.generate("2y", COMPOSED.toCharArray(),
                "sixteen byte slt".getBytes(StandardCharsets.US_ASCII), cost);
    }
}
