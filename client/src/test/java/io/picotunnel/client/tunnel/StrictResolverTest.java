package io.picotunnel.client.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.picotunnel.testkit.StrictResolverChecks;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/** The client's tests resolve through {@link SlowDnsResolverProvider} alone: its names, localhost, never DNS. */
class StrictResolverTest extends StrictResolverChecks {

    @Test
    void theClientsTestNamesResolveAsTheirRulesSay() throws UnknownHostException {
        assertThat(InetAddress.getAllByName("strict.dual.test")).extracting(InetAddress::getHostAddress)
                .containsExactly("127.0.0.1", "0:0:0:0:0:0:0:1");
        assertThat(InetAddress.getAllByName("strict.ipv6first.test")).extracting(InetAddress::getHostAddress)
                .containsExactly("0:0:0:0:0:0:0:1", "127.0.0.1");
        assertThatThrownBy(() -> InetAddress.getByName("strict.nxdomain.test"))
                .isInstanceOf(UnknownHostException.class).hasMessageNotContaining("outside the test names");
    }
}
