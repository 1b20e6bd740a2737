package io.picotunnel.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver.LookupPolicy;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The names a test JVM resolves to loopback without rules: {@code localhost} and the names below it (RFC 6761,
 * which the client counts as this machine), in any case and with or without a trailing dot, and this machine's own
 * name, which {@link InetAddress#getLocalHost()} looks up. They resolve to 127.0.0.1 alone, as this machine's hosts
 * file answers {@code localhost}, or to ::1 where the JVM has no IPv4; a test that wants both uses a
 * {@link NameRule}.
 */
final class LoopbackNames {

    private static final byte[] LOOPBACK4 = {127, 0, 0, 1};
    private static final byte[] LOOPBACK6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    /** This machine's name, from the system's configuration (gethostname), never from DNS. */
    private final Supplier<String> localHostName;

    LoopbackNames(Supplier<String> localHostName) {
        this.localHostName = localHostName;
    }

    boolean answers(String host) {
        String name = absoluteToRelative(host.toLowerCase(Locale.ROOT));
        return name.equals("localhost") || name.endsWith(".localhost")
                || name.equals(absoluteToRelative(localHostName.get().toLowerCase(Locale.ROOT)));
    }

    Stream<InetAddress> lookup(String host, LookupPolicy policy) throws UnknownHostException {
        boolean ipv4 = (policy.characteristics() & LookupPolicy.IPV4) != 0;
        return Stream.of(InetAddress.getByAddress(host, ipv4 ? LOOPBACK4 : LOOPBACK6));
    }

    private static String absoluteToRelative(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }
}
