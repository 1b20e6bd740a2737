package io.picotunnel.client.tunnel;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * In the client's test JVM, names under {@code .slow.test} resolve to 127.0.0.1 after {@link #DELAY}, as a
 * system resolver does whose first DNS server does not answer, and names under {@code .nxdomain.test} do not
 * resolve; every other name goes to the JDK's resolver.
 */
public final class SlowDnsResolverProvider extends InetAddressResolverProvider {

    static final Duration DELAY = Duration.ofSeconds(5);
    /** Lookups of slow names begun so far. */
    static final AtomicInteger SLOW_LOOKUPS = new AtomicInteger();

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                if (host.toLowerCase(Locale.ROOT).endsWith(".nxdomain.test")) {
                    throw new UnknownHostException(host);
                }
                if (host.toLowerCase(Locale.ROOT).endsWith(".slow.test")) {
                    SLOW_LOOKUPS.incrementAndGet();
                    try {
                        // The delay simulated is the point: the resolver blocks its caller this long.
                        TimeUnit.MILLISECONDS.sleep(DELAY.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return Stream.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}));
                }
                return builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "picotunnel-client-slow-dns";
    }
}
