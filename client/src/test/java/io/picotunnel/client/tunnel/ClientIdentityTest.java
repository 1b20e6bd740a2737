package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ClientIdentityTest {

    @Test
    void headerValuesKeepOnlyPrintableAsciiWithinTheLimit() {
        assertThat(ClientIdentity.clean(" build-01\r\n\tX-Evil: 1 ")).isEqualTo("build-01X-Evil:1");
        assertThat(ClientIdentity.clean("h\u00e9te")).isEqualTo("hte");
        assertThat(ClientIdentity.clean("h".repeat(1000))).hasSize(253);
        assertThat(ClientIdentity.clean(" \t\r\n")).isNull();
        assertThat(ClientIdentity.clean(null)).isNull();
    }

    @Test
    void thisHostHasANameAndTheBuildAVersion() {
        assertThat(ClientIdentity.hostname()).isNotBlank();
        assertThat(ClientIdentity.version()).isNotBlank();
    }
}
