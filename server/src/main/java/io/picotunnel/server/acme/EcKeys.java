package io.picotunnel.server.acme;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/**
 * P-256 key pairs from the JDK's provider. acme4j picks the signature algorithm by the key's algorithm name,
 * and BouncyCastle's keys say "ECDSA" where acme4j expects "EC".
 */
final class EcKeys {

    private EcKeys() {
    }

    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot generate P-256 keys", e);
        }
    }
}
