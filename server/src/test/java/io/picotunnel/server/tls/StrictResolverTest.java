package io.picotunnel.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.picotunnel.testkit.StrictResolverChecks;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/** The server's tests resolve through {@link TestDomainResolverProvider} alone: its names, localhost, never DNS. */
class StrictResolverTest extends StrictResolverChecks {

    @Test
    void theServersTestDomainsResolveToLoopbackAndInvalidNamesDoNot() throws UnknownHostException {
        assertThat(InetAddress.getAllByName("strict.example.test")).extracting(InetAddress::getHostAddress)
                .containsExactly("127.0.0.1");
        assertThatThrownBy(() -> InetAddress.getByName("strict.nowhere.invalid"))
                .isInstanceOf(UnknownHostException.class).hasMessageNotContaining("outside the test names");
    }
}
