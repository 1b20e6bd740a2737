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

    /** 2^11 rounds: tens of milliseconds per check, which is why checks run off the event loops and are cached. */
    static final int COST = 11;
    /** bcrypt reads at most 72 bytes of a password. */
    public static final int MAX_PASSWORD_BYTES = 72;

    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordHash() {
    }

    /** The hash of {@code password} in its composed form ({@link UnicodeNames}). */
    public static String hash(String password) {
        password = UnicodeNames.composed(password);
        if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            throw new IllegalArgumentException("is longer than " + MAX_PASSWORD_BYTES + " bytes, the most bcrypt can use");
        }
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return OpenBSDBCrypt.generate("2y", password.toCharArray(), salt, COST);
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
        if (password == null || hash == null || password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            return false;
        }
        try {
            return OpenBSDBCrypt.checkPassword(hash, password.toCharArray());
        } catch (IllegalArgumentException | DataLengthException e) {
            return false; // a hash damaged in the database (edited by hand): Bouncy Castle throws either
        }
    }

    /** Whether {@code value} looks like a bcrypt hash this class made. */
    public static boolean isHash(String value) {
        return value != null && value.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}");
    }
}
