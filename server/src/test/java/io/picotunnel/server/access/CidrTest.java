package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrTest {

    @Test
    void ipv4AndIpv6BlocksMatchTheirOwnAddressesOnly() throws Exception {
        Cidr v4 = Cidr.parse("10.0.0.0/8");
        Cidr v6 = Cidr.parse("2001:db8::/32");

        assertThat(v4.contains(InetAddress.getByName("10.200.3.4"))).isTrue();
        assertThat(v4.contains(InetAddress.getByName("11.0.0.1"))).isFalse();
        assertThat(v6.contains(InetAddress.getByName("2001:db8:ffff::1"))).isTrue();
        assertThat(v6.contains(InetAddress.getByName("2001:db9::1"))).isFalse();
        assertThat(v6.contains(InetAddress.getByName("10.0.0.1"))).isFalse();
        assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("203.0.113.9"))).isTrue();
        assertThat(Cidr.parse("192.0.2.128/25").contains(InetAddress.getByName("192.0.2.127"))).isFalse();
    }

    @Test
    void canonicalFormIsShort() {
        assertThat(Cidr.parse("2001:DB8:0:0:0:0:0:0/32")).hasToString("2001:db8::/32");
        assertThat(Cidr.parse("::1")).hasToString("::1/128");
        assertThat(Cidr.parse("192.0.2.7")).hasToString("192.0.2.7/32");
    }

    @Test
    void namesAndBadPrefixesAreRefused() {
        assertThatThrownBy(() -> Cidr.parse("localhost")).hasMessageContaining("host names are not allowed");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/8")).hasMessageContaining("did you mean 10.0.0.0/8");
        assertThatThrownBy(() -> Cidr.parse("::/129")).hasMessageContaining("0 to 128");
        assertThatThrownBy(() -> Cidr.parse("192.168.1")).hasMessageContaining("four numbers");
        assertThatThrownBy(() -> Cidr.parse("127.1")).hasMessageContaining("four numbers");
        assertThatThrownBy(() -> Cidr.parse("192.168.001.0/24")).hasMessageContaining("leading zeros");
        assertThatThrownBy(() -> Cidr.parse("1.2.3.256")).hasMessageContaining("four numbers");
        assertThatThrownBy(() -> Cidr.parse("bad.cafe")).hasMessageContaining("bad.cafe");
        assertThat(Cidr.parse("0.0.0.0/0")).hasToString("0.0.0.0/0");
        assertThat(Cidr.parse("::/0")).hasToString("::/0");
        assertThat(Cidr.parse("255.255.255.255/32")).hasToString("255.255.255.255/32");
        assertThat(Cidr.parse("2001:db8::1/128")).hasToString("2001:db8::1/128");
        assertThatThrownBy(() -> Cidr.parse("::ffff:192.0.2.0/120")).hasMessageContaining("write it as IPv4");
    }

    @Test
    void denyWinsOverAllow() throws Exception {
        IpRules rules = new IpRules(List.of(Cidr.parse("10.0.0.0/8")), List.of(Cidr.parse("10.1.0.0/16")));
        assertThat(rules.admits(InetAddress.getByName("10.2.0.1"))).isTrue();
        assertThat(rules.admits(InetAddress.getByName("10.1.0.1"))).isFalse();
        assertThat(rules.admits(InetAddress.getByName("192.0.2.1"))).isFalse();
        assertThat(IpRules.OPEN.admits(InetAddress.getByName("192.0.2.1"))).isTrue();
    }
}
