package io.picotunnel.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A test JVM's resolver, which never asks DNS: names that one of its {@link NameRule}s answers resolve as the first
 * such rule says, {@link LoopbackNames} (localhost, names below it, this machine's name) resolve to loopback, and any
 * other name fails with an {@link UnknownHostException} saying the test resolved a name outside the test names. The
 * JDK answers literal addresses before it asks a resolver. Reverse lookups answer {@code localhost} for a loopback
 * address and fail for any other.
 *
 * <p>Each test module registers exactly one provider, as the JDK takes the first it finds: this class, or a subclass
 * with the module's rules, in its {@code META-INF/services/java.net.spi.InetAddressResolverProvider}. A test class
 * of each module that extends {@link StrictResolverChecks} checks that.
 */
public class TestNamesResolverProvider extends InetAddressResolverProvider {

    private final String name;
    private final List<NameRule> rules;

    /** The resolver of a module whose tests use no names but localhost and this machine's. */
    public TestNamesResolverProvider() {
        this("picotunnel-test-names");
    }

    protected TestNamesResolverProvider(String name, NameRule... rules) {
        this.name = name;
        this.rules = List.of(rules);
    }

    @Override
    public final InetAddressResolver get(Configuration configuration) {
        return resolver(configuration::lookupLocalHostName);
    }

    /** The resolver, on a machine named {@code localHostName}; the JDK's own resolver is never asked. */
    final InetAddressResolver resolver(Supplier<String> localHostName) {
        LoopbackNames loopback = new LoopbackNames(localHostName);
        String known = Stream.concat(Stream.of("localhost", "names below .localhost", "this machine's name"),
                rules.stream().map(rule -> "names under " + rule.suffix())).collect(Collectors.joining(", "));
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                for (NameRule rule : rules) {
                    if (rule.answers(host)) {
                        return rule.lookup(host);
                    }
                }
                if (loopback.answers(host)) {
                    return loopback.lookup(host, policy);
                }
                throw new UnknownHostException(host + ": the test resolved a name outside the test names, and a test"
                        + " JVM asks no DNS server; use one that " + name + " answers: " + known);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                InetAddress address = InetAddress.getByAddress(addr);
                if (address.isLoopbackAddress()) {
                    return "localhost";
                }
                throw new UnknownHostException(address.getHostAddress() + ": the test looked up the name of an"
                        + " address outside loopback, and a test JVM asks no DNS server");
            }
        };
    }

    @Override
    public final String name() {
        return name;
    }
}
