package io.picotunnel.server.access;

import org.bouncycastle.crypto.DataLengthException;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * bcrypt ({@code $2y$}, Bouncy Castle's OpenBSD implementation) for the passwords of basic-auth services: the
 * password itself is never stored, logged or returned.
 */
public final class PasswordHash {

    /** 2^11 rounds: about 0.1 to 0.15 s per check, which is why checks run off the event loops and are cached. */
    static final int COST = 11;
    /**
     * The most rounds a stored hash may ask for, 2^12: a hash above it is not one {@link #hash} made (edited by hand in
     * the database) and matches nothing, as a malformed one, rather than holding one of the gate's 2 check threads for
     * as long as it asks (bcrypt does not look at interrupts; 2^31 rounds are about a million times ours, for ever).
     */
    static final int MAX_COST = COST + 1;
    /** bcrypt reads at most 72 bytes of a password. */
    public static final int MAX_PASSWORD_BYTES = 72;

    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordHash() {
    }

    /** The hash of {@code password} in its composed form ({@link UnicodeNames}). */
    public static String hash(String password) {
        return hash(password, COST);
    }

    /** {@link #hash(String)} at {@code cost}: {@link #COST} but in tests, which need not wait for bcrypt's rounds. */
    static String hash(String password, int cost) {
        password = UnicodeNames.composed(password);
        if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            throw new IllegalArgumentException("is longer than " + MAX_PASSWORD_BYTES + " bytes, the most bcrypt can use");
        }
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return OpenBSDBCrypt.generate("2y", password.toCharArray(), salt, cost);
    }

    /**
     * Whether {@code password} matches {@code hash}, in either Unicode form: composed, as {@link #hash} hashes it, or
     * as sent, for a password hashed before passwords were composed. A malformed hash matches nothing.
     */
    public static boolean matches(String password, String hash) {
        String composed = UnicodeNames.composed(password);
        return checks(composed, hash) || (composed != null && !composed.equals(password) && checks(password, hash));
    }

    private static boolean checks(String password, String hash) {
        if (password == null || hash == null || password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES
                || cost(hash) > MAX_COST) {
            return false;
        }
        try {
            return OpenBSDBCrypt.checkPassword(hash, password.toCharArray());
        } catch (IllegalArgumentException | DataLengthException e) {
            return false; // a hash damaged in the database (edited by hand): Bouncy Castle throws either
        }
    }

    /** The cost of {@code hash} ({@code $2y$NN$...}); 0 when it has none there, which Bouncy Castle then refuses. */
    private static int cost(String hash) {
        if (hash.length() < 7 || hash.charAt(6) != '$' || !Character.isDigit(hash.charAt(4))
                || !Character.isDigit(hash.charAt(5))) {
            return 0;
        }
        return (hash.charAt(4) - '0') * 10 + (hash.charAt(5) - '0');
    }

    /** Whether {@code value} looks like a bcrypt hash this class made. */
    public static boolean isHash(String value) {
        return value != null && value.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}");
    }
}
