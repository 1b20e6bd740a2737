package io.picotunnel.client.tunnel;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A failed connect in plain words. Netty's epoll transport names the system call and its errno
 * ("finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:1"), NIO only the address
 * ("Connection refused: /127.0.0.1:1"): both read "connection refused by 127.0.0.1:1".
 */
final class SocketErrors {

    /** The system call and errno (optional), the error, and the address tried (optional, after a slash). */
    private static final Pattern NETTY = Pattern.compile(
            "^(?:\\w+\\(\\.\\.\\) failed(?: with error\\(-?\\d+\\))?: )?([A-Z][a-z][^:]*)(?:: [^/\\s]*/(\\S+))?$");

    private SocketErrors() {
    }

    /** The error alone ("connection refused"), or null when the message is not a connect error's. */
    static String reason(String message) {
        Matcher m = message == null ? null : NETTY.matcher(message.strip());
        return m != null && m.matches() ? m.group(1).toLowerCase(Locale.ROOT) : null;
    }

    /** The error and the address it came from ("connection refused by 127.0.0.1:1"); other messages as they are. */
    static String plain(String message) {
        Matcher m = message == null ? null : NETTY.matcher(message.strip());
        if (m == null || !m.matches()) {
            return message;
        }
        String reason = m.group(1).toLowerCase(Locale.ROOT);
        if (m.group(2) == null) {
            return reason;
        }
        return reason + (reason.equals("connection refused") ? " by " + m.group(2) : " (" + m.group(2) + ")");
    }
}
