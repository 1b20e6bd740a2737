package io.picotunnel.server.monitor;

import java.time.Instant;

/**
 * One check as stored: {@code latencyMs} is the round trip of an up check (null when down), {@code error} says in
 * words why a check is down (null when up). {@code id} is 0 before the check is stored.
 */
public record Check(long id, Subject subject, CheckStatus status, Long latencyMs, String error, Instant createdAt) {

    static Check up(Subject subject, long latencyMs, Instant at) {
        return new Check(0, subject, CheckStatus.UP, latencyMs, null, at);
    }

    static Check down(Subject subject, String error, Instant at) {
        return new Check(0, subject, CheckStatus.DOWN, null, error, at);
    }
}
