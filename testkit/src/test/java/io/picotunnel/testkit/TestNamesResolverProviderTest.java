package io.picotunnel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolver.LookupPolicy;
import org.junit.jupiter.api.Test;

/** The resolver on its own, on a machine named build-host-7. */
class TestNamesResolverProviderTest {

    private static final LookupPolicy DEFAULT = LookupPolicy.of(LookupPolicy.IPV4 | LookupPolicy.IPV6
            | LookupPolicy.IPV4_FIRST);

    private final InetAddressResolver resolver = new TestNamesResolverProvider("names-under-test",
            NameRule.resolveTo(".dual.test", "127.0.0.1", "::1"), NameRule.unknown(".invalid")) {
    }.resolver(() -> "build-host-7");

    @Test
    void aPublicNameFailsSayingItIsOutsideTheTestNames() {
        assertThatThrownBy(() -> resolver.lookupByName("example.com", DEFAULT))
                .isInstanceOf(UnknownHostException.class)
                .hasMessageStartingWith("example.com: the test resolved a name outside the test names")
                .hasMessageContaining("names-under-test").hasMessageContaining(".dual.test");
    }

    @Test
    void aReverseLookupNamesLoopbackLocalhostAndFailsForAnyOtherAddress() throws Exception {
        assertThat(resolver.lookupByAddress(new byte[] {127, 0, 0, 1})).isEqualTo("localhost");
        assertThat(resolver.lookupByAddress(InetAddress.getByName("::1").getAddress())).isEqualTo("localhost");
        assertThatThrownBy(() -> resolver.lookupByAddress(new byte[] {(byte) 192, 0, 2, 1}))
                .isInstanceOf(UnknownHostException.class).hasMessageStartingWith("192.0.2.1: ");
    }

    @Test
    void localhostAndTheNamesBelowItAre127001OrIpv6LoopbackWithoutIpv4() throws Exception {
        for (String name : new String[] {"localhost", "LocalHost", "localhost.", "tunnel.localhost",
                "Tunnel.LOCALHOST."}) {
            assertThat(resolver.lookupByName(name, DEFAULT)).as(name).map(InetAddress::getHostAddress)
                    .containsExactly("127.0.0.1");
        }
        assertThat(resolver.lookupByName("localhost", LookupPolicy.of(LookupPolicy.IPV6)))
                .map(InetAddress::getHostAddress).containsExactly("0:0:0:0:0:0:0:1");
    }

    @Test
    void thisMachinesNameIsLoopbackAndNamesMerelyLikeItFail() throws Exception {
        assertThat(resolver.lookupByName("build-host-7", DEFAULT)).map(InetAddress::getHostAddress)
                .containsExactly("127.0.0.1");
        assertThat(resolver.lookupByName("BUILD-HOST-7.", DEFAULT)).map(InetAddress::getHostAddress)
                .containsExactly("127.0.0.1");
        assertThatThrownBy(() -> resolver.lookupByName("build-host-7.example.com", DEFAULT))
                .hasMessageContaining("outside the test names");
        assertThatThrownBy(() -> resolver.lookupByName("localhost.example.com", DEFAULT))
                .hasMessageContaining("outside the test names");
    }

    @Test
    void theRulesStillAnswerTheirNames() throws Exception {
        assertThat(resolver.lookupByName("tunnel.dual.test", DEFAULT)).map(InetAddress::getHostAddress)
                .containsExactly("127.0.0.1", "0:0:0:0:0:0:0:1");
        assertThatThrownBy(() -> resolver.lookupByName("nowhere.invalid", DEFAULT))
                .isInstanceOf(UnknownHostException.class).hasMessage("nowhere.invalid");
    }
}
