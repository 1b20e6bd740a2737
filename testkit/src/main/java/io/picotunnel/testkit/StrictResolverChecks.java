package io.picotunnel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolverProvider;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * What every test JVM's resolver does, checked in the JVM itself: a module's test class extends this one, and adds
 * the names of its own rules. The module's tests then cannot send a DNS query by mistake, and a test that resolves a
 * public name fails saying so.
 */
public abstract class StrictResolverChecks {

    @Test
    public void theJvmHasOneResolverProviderAndItIsTheTestNames() {
        // The JDK takes the first provider it finds: with two, which one answers hangs on the classpath's order.
        assertThat(ServiceLoader.load(InetAddressResolverProvider.class).stream().map(ServiceLoader.Provider::get))
                .singleElement().isInstanceOf(TestNamesResolverProvider.class);
    }

    @Test
    public void aPublicNameFailsSayingItIsOutsideTheTestNames() {
        // A name of its own, as the JDK keeps a failed lookup for 10 s and then fails it with the bare name.
        String name = "strict-resolver-" + System.nanoTime() + ".example.com";

        assertThatThrownBy(() -> InetAddress.getByName(name)).isInstanceOf(UnknownHostException.class)
                .hasMessageContaining(name).hasMessageContaining("outside the test names");
    }

    @Test
    public void localhostAndTheNamesBelowItResolveToLoopback() throws UnknownHostException {
        for (String name : new String[] {"localhost", "LOCALHOST", "localhost.", "tunnel.localhost"}) {
            assertThat(InetAddress.getAllByName(name)).as(name).isNotEmpty()
                    .allMatch(InetAddress::isLoopbackAddress);
        }
    }

    @Test
    public void thisMachineIsALoopbackAddress() throws UnknownHostException {
        InetAddress local = InetAddress.getLocalHost();

        assertThat(local.isLoopbackAddress()).as(local.toString()).isTrue();
        assertThat(InetAddress.getByName(local.getHostName()).isLoopbackAddress()).isTrue();
    }

    @Test
    public void literalAddressesResolveAndLoopbackIsNamedLocalhost() throws UnknownHostException {
        assertThat(InetAddress.getByName("127.0.0.1").getCanonicalHostName()).isEqualTo("localhost");
        assertThat(InetAddress.getByName("::1").isLoopbackAddress()).isTrue();
    }
}
