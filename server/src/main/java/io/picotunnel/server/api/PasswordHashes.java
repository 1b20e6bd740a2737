package io.picotunnel.server.api;

import io.picotunnel.server.access.PasswordHash;

import java.util.HashMap;
import java.util.Map;

/**
 * The bcrypt hashes of the passwords of one request, each made once. A PATCH is read twice, once before the store's
 * write lock is taken and again inside its transaction against the service as stored then: the first reading makes
 * the hash (tens of milliseconds), the second takes it from here, so that no other change waits for bcrypt.
 */
final class PasswordHashes {

    private final Map<String, String> hashes = new HashMap<>();

    /** The hash of {@code password}, made on the first call; throws as {@link PasswordHash#hash} does. */
    synchronized String hash(String password) {
        return hashes.computeIfAbsent(password, PasswordHash::hash);
    }
}
