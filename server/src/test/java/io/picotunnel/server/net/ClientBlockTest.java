package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

class ClientBlockTest {

    private static InetAddress address(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void ipv4AddressesAreTheirOwnBlock() throws Exception {
        assertThat(ClientBlock.of(address("192.0.2.1"))).isEqualTo(address("192.0.2.1"));
        assertThat(ClientBlock.of(address("192.0.2.1"))).isNotEqualTo(ClientBlock.of(address("192.0.2.2")));
        assertThat(ClientBlock.of((InetAddress) null)).isNull();
    }

    @Test
    void ipv6AddressesOfOneSlash64ShareABlockAndTheNextSlash64DoesNot() throws Exception {
        InetAddress block = ClientBlock.of(address("2001:db8:1:2::1"));
        assertThat(block).isEqualTo(address("2001:db8:1:2::"));
        assertThat(ClientBlock.of(address("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isEqualTo(block);
        assertThat(ClientBlock.of(address("2001:db8:1:3::1"))).isNotEqualTo(block);
        assertThat(ClientBlock.of(address("::1"))).isEqualTo(address("::"));
    }

    @Test
    void aScopedIpv6AddressLosesItsScope() throws Exception {
        Inet6Address scoped = Inet6Address.getByAddress(null, address("fe80::1").getAddress(), 3);
        assertThat(ClientBlock.of(scoped)).isEqualTo(address("fe80::"));
        assertThat(((Inet6Address) ClientBlock.of(scoped)).getScopeId()).isZero();
    }

    @Test
    void anIpv4MappedIpv6AddressIsItsIpv4Address() throws Exception {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, (byte) 192, 0, 2, 1};
        InetAddress asIpv6 = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(asIpv6).isInstanceOf(Inet6Address.class);
        assertThat(ClientBlock.of(asIpv6)).isInstanceOf(Inet4Address.class).isEqualTo(address("192.0.2.1"));
    }

    @Test
    void textAddressesGetTheBlockInText() {
        assertThat(ClientBlock.of("192.0.2.1")).isEqualTo("192.0.2.1");
        assertThat(ClientBlock.of("2001:db8:1:2::1")).isEqualTo("2001:db8:1:2:0:0:0:0/64");
        assertThat(ClientBlock.of("[2001:db8:1:2:aaaa::3]")).isEqualTo("2001:db8:1:2:0:0:0:0/64");
        assertThat(ClientBlock.of("::ffff:192.0.2.1")).isEqualTo("192.0.2.1");
        assertThat(ClientBlock.of((String) null)).isEmpty();
    }

    @Test
    void textThatIsNoAddressStandsForItselfWithoutANameLookup() {
        assertThat(ClientBlock.of("not:an:address")).isEqualTo("not:an:address");
        assertThat(ClientBlock.of("localhost")).isEqualTo("localhost");
        assertThat(ClientBlock.of("")).isEmpty();
    }
}
