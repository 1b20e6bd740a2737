package io.picotunnel.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.stream.Stream;

/**
 * A test JVM's resolver: names that one of its {@link NameRule}s answers resolve as the first such rule says,
 * every other name goes to the JDK's resolver. A test module subclasses it with its rules and registers the
 * subclass in its {@code META-INF/services/java.net.spi.InetAddressResolverProvider}.
 */
public abstract class TestNamesResolverProvider extends InetAddressResolverProvider {

    private final String name;
    private final List<NameRule> rules;

    protected TestNamesResolverProvider(String name, NameRule... rules) {
        this.name = name;
        this.rules = List.of(rules);
    }

    @Override
    public final InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                for (NameRule rule : rules) {
                    if (rule.answers(host)) {
                        return rule.lookup(host);
                    }
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
    public final String name() {
        return name;
    }
}
