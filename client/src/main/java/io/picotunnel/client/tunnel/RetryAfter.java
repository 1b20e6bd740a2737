package io.picotunnel.client.tunnel;

import io.netty.handler.codec.DateFormatter;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/**
 * The {@code Retry-After} of a refused upgrade (a server shutting down or overloaded, a proxy while the server
 * restarts): delta-seconds or an HTTP date, as a wait of at most {@link #MAX}. Anything else is ignored.
 */
final class RetryAfter {

    /** The longest wait a server can ask for: a wrong or hostile value does not park the client for days. */
    static final Duration MAX = Duration.ofMinutes(10);

    private RetryAfter() {
    }

    /** The wait {@code value} asks for at {@code now}; null when absent or not a Retry-After, zero for a past date. */
    static Duration parse(String value, Instant now) {
        if (value == null) {
            return null;
        }
        String text = value.strip();
        if (text.isEmpty()) {
            return null;
        }
        if (text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            // Leading zeros say nothing: "0000000005" is 5 s, not a value too long to read.
            String digits = text.replaceFirst("^0+(?=.)", "");
            if (digits.length() > 9) {
                return MAX;
            }
            return min(Duration.ofSeconds(Long.parseLong(digits)));
        }
        Date date = DateFormatter.parseHttpDate(text);
        if (date == null) {
            return null;
        }
        Duration until = Duration.between(now, date.toInstant());
        return until.isNegative() ? Duration.ZERO : min(until);
    }

    private static Duration min(Duration wait) {
        return wait.compareTo(MAX) > 0 ? MAX : wait;
    }
}
