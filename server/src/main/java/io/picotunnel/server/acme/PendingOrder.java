package io.picotunnel.server.acme;

import java.net.URL;
import java.security.KeyPair;

/**
 * An ACME order past validation whose certificate is not saved yet: its URL at the CA and the key its certificate is
 * (to be) issued for. Kept in {@code <domain>.order} so that a restart takes it up instead of ordering again.
 */
record PendingOrder(URL location, KeyPair key) {
}
