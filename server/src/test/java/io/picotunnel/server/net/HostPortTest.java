package io.picotunnel.server.net;

import io.picotunnel.protocol.net.Hostnames;
import org.junit.jupiter.api.Test;

import static io.picotunnel.server.net.HostPort.Rules.CONNECT;
import static io.picotunnel.server.net.HostPort.Rules.SERVER_LISTEN;
import static io.picotunnel.server.net.HostPort.Rules.SERVICE_LISTEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostPortTest {

    @Test
    void parsesEveryAcceptedForm() {
        assertThat(HostPort.parse(":8080", SERVER_LISTEN)).isEqualTo(new HostPort("", 8080));
        assertThat(HostPort.parse("127.0.0.1:0", SERVER_LISTEN)).isEqualTo(new HostPort("127.0.0.1", 0));
        assertThat(HostPort.parse("[::1]:443", SERVER_LISTEN)).isEqualTo(new HostPort("::1", 443));
        assertThat(HostPort.parse("LocalHost:22", CONNECT)).isEqualTo(new HostPort("localhost", 22));
        assertThat(HostPort.parse(" db.internal:5432 ", CONNECT).toString()).isEqualTo("db.internal:5432");
        assertThat(HostPort.parse("[2001:db8::1]:80", CONNECT).toString()).isEqualTo("[2001:db8::1]:80");
    }

    @Test
    void rejectsWhatIsNotHostPortWithAReason() {
        assertThatThrownBy(() -> HostPort.parse("8080", SERVER_LISTEN)).hasMessageContaining("not of the form host:port");
        assertThatThrownBy(() -> HostPort.parse("", SERVER_LISTEN)).hasMessageContaining("empty");
        assertThatThrownBy(() -> HostPort.parse("host:", CONNECT)).hasMessageContaining("no valid port");
        assertThatThrownBy(() -> HostPort.parse("host:http", CONNECT)).hasMessageContaining("no valid port");
        assertThatThrownBy(() -> HostPort.parse("::1:80", CONNECT)).hasMessageContaining("not of the form");
        assertThatThrownBy(() -> HostPort.parse("[zz::1]:80", CONNECT)).hasMessageContaining("invalid IPv6");
        assertThatThrownBy(() -> HostPort.parse("[::1]80", CONNECT)).hasMessageContaining("not of the form");
        assertThatThrownBy(() -> HostPort.parse("ho st:80", CONNECT)).hasMessageContaining("invalid host name");
        assertThatThrownBy(() -> HostPort.parse("-bad-:80", CONNECT)).hasMessageContaining("invalid host name");
        assertThatThrownBy(() -> HostPort.parse(":80", CONNECT)).hasMessageContaining("no host");
        assertThatThrownBy(() -> HostPort.parse("b\u00fc cher.lan:80", CONNECT)).hasMessageContaining("U+0020 SPACE");
        assertThatThrownBy(() -> HostPort.parse("b\u00fc_cher.lan:80", CONNECT)).hasMessageContaining("'_' (U+005F LOW LINE)");
    }

    /** cloudflared takes its target as --url http://localhost:8000, ngrok as an upstream URL: newcomers write one. */
    @Test
    void aUrlIsToldToBeOneWithTheHostPortToWriteInstead() {
        assertThatThrownBy(() -> HostPort.parse("http://localhost:3000", CONNECT))
                .hasMessage("'http://localhost:3000' is a URL, not host:port; write 'localhost:3000'");
        assertThatThrownBy(() -> HostPort.parse("https://[::1]:8443/app?x=1", CONNECT))
                .hasMessage("'https://[::1]:8443/app?x=1' is a URL, not host:port; write '[::1]:8443'");
        assertThatThrownBy(() -> HostPort.parse("http://localhost", CONNECT))
                .hasMessage("'http://localhost' is a URL, not host:port; write the host and port alone, for example"
                        + " 127.0.0.1:8080");
        assertThatThrownBy(() -> HostPort.parse("tcp://0.0.0.0:2222", SERVER_LISTEN))
                .hasMessage("'tcp://0.0.0.0:2222' is a URL, not host:port; write '0.0.0.0:2222'");
    }

    @Test
    void aTargetMayHaveAnUnderscoreAsDockerNamesHaveButAListenAddressMayNot() {
        assertThat(HostPort.parse("my_app:8080", CONNECT)).isEqualTo(new HostPort("my_app", 8080));
        assertThat(HostPort.parse("Project_Web_1.lan:80", CONNECT)).isEqualTo(new HostPort("project_web_1.lan", 80));
        assertThatThrownBy(() -> HostPort.parse("my_host:8080", SERVER_LISTEN))
                .hasMessageContaining("invalid host name 'my_host'").hasMessageContaining("not in an address to listen on");
        assertThatThrownBy(() -> HostPort.parse("my_host!:8080", CONNECT)).hasMessageContaining("invalid host name");
    }

    @Test
    void aControlCharacterInARefusedAddressIsWrittenOutNotQuotedAsItIs() {
        assertThatThrownBy(() -> HostPort.parse("ho\r\nst:80", CONNECT))
                .hasMessage("'ho\\r\\nst:80' has an invalid host name 'ho\\r\\nst'");
        assertThatThrownBy(() -> HostPort.parse("host\u001b[2J", SERVER_LISTEN))
                .hasMessageStartingWith("'host\\u001b[2J' is not of the form host:port");
        assertThatThrownBy(() -> HostPort.parse("host:8\u00850", SERVER_LISTEN))
                .hasMessage("'host:8\\u00850' has no valid port number after the colon");
        assertThatThrownBy(() -> HostPort.parse("b\u00fc\u0007cher:80", CONNECT))
                .hasMessageStartingWith("'b\u00fc\\u0007cher:80' has an invalid host name 'b\u00fc\\u0007cher': its label")
                .hasMessageNotContaining("\u0007");
    }

    @Test
    void anIpv6AddressHasOneSpellingSoThatOverlapsAndTheWildcardAreSeen() {
        assertThat(HostPort.parse("[0:0:0:0:0:0:0:1]:2222", SERVICE_LISTEN)).isEqualTo(new HostPort("::1", 2222));
        assertThat(HostPort.parse("[0::1]:2222", SERVICE_LISTEN).overlaps(HostPort.parse("[::1]:2222", SERVICE_LISTEN)))
                .isTrue();
        assertThat(HostPort.parse("[::0]:2222", SERVICE_LISTEN).isWildcard()).isTrue();
        assertThat(HostPort.parse("[::0]:2222", SERVICE_LISTEN).overlaps(HostPort.parse("127.0.0.1:2222", SERVICE_LISTEN)))
                .isTrue();
        assertThat(HostPort.parse("[2001:DB8:0:0::1]:8080", SERVER_LISTEN)).hasToString("[2001:db8::1]:8080");
        // A target is sent to the client as written (lower case), where --allow compares its text.
        assertThat(HostPort.parse("[2001:DB8:0:0::1]:22", CONNECT)).hasToString("[2001:db8:0:0::1]:22");
    }

    @Test
    void portRangeDependsOnTheUse() {
        assertThatThrownBy(() -> HostPort.parse(":65536", SERVER_LISTEN)).hasMessage("port 65536 is out of range (0-65535)");
        assertThatThrownBy(() -> HostPort.parse(":0", SERVICE_LISTEN)).hasMessage("port 0 is out of range (1-65535)");
        assertThatThrownBy(() -> HostPort.parse("h:0", CONNECT)).hasMessage("port 0 is out of range (1-65535)");
        assertThatThrownBy(() -> HostPort.parse("h:999999", CONNECT)).hasMessageContaining("no valid port");
    }

    @Test
    void wildcardAddressesOverlapEveryHostOnTheSamePort() {
        HostPort any = HostPort.parse(":2222", SERVICE_LISTEN);
        HostPort anyV4 = HostPort.parse("0.0.0.0:2222", SERVICE_LISTEN);
        HostPort loopback = HostPort.parse("127.0.0.1:2222", SERVICE_LISTEN);
        HostPort otherLoopback = HostPort.parse("127.0.0.2:2222", SERVICE_LISTEN);
        assertThat(any.overlaps(loopback)).isTrue();
        assertThat(loopback.overlaps(anyV4)).isTrue();
        assertThat(loopback.overlaps(otherLoopback)).isFalse();
        assertThat(loopback.overlaps(HostPort.parse("127.0.0.1:2223", SERVICE_LISTEN))).isFalse();
    }

    @Test
    void hostnamesFollowDnsLabelRules() {
        assertThat(Hostnames.isHostname("app.example.com")).isTrue();
        assertThat(Hostnames.isHostname("localhost")).isTrue();
        assertThat(Hostnames.isHostname("a".repeat(64) + ".com")).isFalse();
        assertThat(Hostnames.isHostname("under_score.com")).isFalse();
        assertThat(Hostnames.isHostname("trailing.dot.")).isFalse();
        assertThat(Hostnames.isHostnameOrWildcard("*.example.com")).isTrue();
        assertThat(Hostnames.isHostnameOrWildcard("*.*.example.com")).isFalse();
        assertThat(Hostnames.isHostnameOrWildcard("app.*.example.com")).isFalse();
        assertThat(Hostnames.isHostname("*.example.com")).isFalse();
    }
}
