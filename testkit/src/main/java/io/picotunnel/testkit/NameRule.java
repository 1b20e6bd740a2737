package io.picotunnel.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * One rule of a {@link TestNamesResolverProvider}: the names that end with a suffix either resolve to a loopback
 * address, after a delay if one is given, or do not resolve at all.
 */
public final class NameRule {

    private final String suffix;
    private final byte[] address;
    private final Duration delay;
    private final AtomicInteger lookups = new AtomicInteger();

    private NameRule(String suffix, byte[] address, Duration delay) {
        this.suffix = suffix.toLowerCase(Locale.ROOT);
        this.address = address;
        this.delay = delay;
    }

    /** Names ending with {@code suffix} resolve to {@code loopback}, a literal loopback address (127.0.0.1, ::1). */
    public static NameRule resolveTo(String suffix, String loopback) {
        return new NameRule(suffix, loopbackBytes(loopback), Duration.ZERO);
    }

    /** Names ending with {@code suffix} do not resolve. */
    public static NameRule unknown(String suffix) {
        return new NameRule(suffix, null, Duration.ZERO);
    }

    /** This rule, with each lookup blocking its caller for {@code delay} first, as a DNS server that is slow. */
    public NameRule after(Duration delay) {
        if (address == null) {
            throw new IllegalStateException("a delay is for names that resolve");
        }
        return new NameRule(suffix, address, delay);
    }

    /** Lookups this rule has begun so far. */
    public int lookupsBegun() {
        return lookups.get();
    }

    boolean answers(String host) {
        return host.toLowerCase(Locale.ROOT).endsWith(suffix);
    }

    Stream<InetAddress> lookup(String host) throws UnknownHostException {
        if (address == null) {
            throw new UnknownHostException(host);
        }
        lookups.incrementAndGet();
        if (delay.isPositive()) {
            try {
                // The delay simulated is the point: the resolver blocks its caller this long.
                TimeUnit.MILLISECONDS.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return Stream.of(InetAddress.getByAddress(host, address.clone()));
    }

    private static byte[] loopbackBytes(String loopback) {
        try {
            InetAddress address = InetAddress.getByName(loopback);
            if (!address.isLoopbackAddress()) {
                throw new IllegalArgumentException("not a loopback address: " + loopback);
            }
            return address.getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address: " + loopback, e);
        }
    }
}
