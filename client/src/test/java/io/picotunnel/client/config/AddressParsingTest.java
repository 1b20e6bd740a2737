package io.picotunnel.client.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AddressParsingTest {

    @Test
    void aControlCharacterInARefusedAddressIsWrittenOutNotQuotedAsItIs() {
        assertThatThrownBy(() -> HostPort.parse("ho\r\nst:80")).hasMessage("'ho\\r\\nst:80' has an invalid host name:"
                + " it has U+000D CARRIAGE RETURN (CR), which no host name may have");
        assertThatThrownBy(() -> HostPort.parse("host:8\u001b0")).hasMessage("'host:8\\u001b0' has no valid port number");
        assertThatThrownBy(() -> HostPort.parse("b\u00fc\u0007cher:80"))
                .hasMessageStartingWith("'b\u00fc\\u0007cher:80' has an invalid host name: its label 'b\u00fc\\u0007cher'")
                .hasMessageNotContaining("\u0007");
    }

    /**
     * Only the digits 0 to 9 make a port, as for curl, ssh and Go: {@code localhost:٨٠٨٠}
     * (Arabic-Indic digits) was taken as localhost:8080, and "%\u0664\u0661" as the letter A.
     */
    @Test
    void aPortOrAnEscapeInAnotherScriptsDigitsIsRefused() {
        assertThatThrownBy(() -> HostPort.parse("localhost:\u0668\u0660\u0668\u0660"))
                .hasMessage("'localhost:\u0668\u0660\u0668\u0660' has no valid port number");
        assertThatThrownBy(() -> HostPort.parse("[::1]:\uff12\uff12")).hasMessage("'[::1]:\uff12\uff12' has no valid port number");
        assertThatThrownBy(() -> AllowList.parse("127.0.0.1:\u0662\u0662"))
                .hasMessageContaining("'127.0.0.1:\u0662\u0662' has no valid port number");
        assertThatThrownBy(() -> ServerAddress.parse("wss://tunnel.example:\u0664\u0664\u0663"))
                .hasMessageContaining("has no valid port number");
        assertThatThrownBy(() -> ServerAddress.parse("wss://tunnel%\u0664\u0661.example:443"))
                .hasMessageContaining("its host has a '%' not followed by two hex digits");
        assertThatThrownBy(() -> HostPort.parse("[\uff11::\u0661]:22")).hasMessage("'[\uff11::\u0661]:22' has an invalid IPv6 address");
    }

    @Test
    void bareHostPortMeansTls() {
        ServerAddress address = ServerAddress.parse("tunnel.example.com:8443");

        assertThat(address.tls()).isTrue();
        assertThat(address.tunnelUri().toString()).isEqualTo("wss://tunnel.example.com:8443/tunnel");
    }

    /** dev-server.sh prints the endpoint's URL, ws://localhost:8443/tunnel, and ngrok or frp users paste URLs. */
    @ParameterizedTest
    @ValueSource(strings = {"ws://127.0.0.1:8443/tunnel", "ws://127.0.0.1:8443/tunnel/", "WS://127.0.0.1:8443/tunnel"})
    void aUrlOfTheTunnelEndpointItselfIsTheServerAddressWithoutItsPath(String url) {
        ServerAddress address = ServerAddress.parse(url);

        assertThat(address).isEqualTo(ServerAddress.parse("ws://127.0.0.1:8443"));
        assertThat(address.tunnelUri().toString()).isEqualTo("ws://127.0.0.1:8443/tunnel");
        assertThat(ServerAddress.parse("wss://tunnel.example.com:8443/tunnel").tunnelUri().toString())
                .isEqualTo("wss://tunnel.example.com:8443/tunnel");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ws://127.0.0.1:8443/tunnels", "ws://127.0.0.1:8443/api/tunnel", "ws://127.0.0.1:8443/tunnel/x",
        "ws://127.0.0.1:8443/Tunnel", "ws://127.0.0.1:8443/tunnel/tunnel"})
    void anyOtherPathIsRefusedNamingTheOneTheClientConnectsTo(String url) {
        assertThatThrownBy(() -> ServerAddress.parse(url)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be host:port without a path other than /tunnel; the client always connects"
                        + " to /tunnel");
    }

    @Test
    void aServerAddressWithoutAPortIsRefusedAsWrittenWithThePortToAdd() {
        // Was "server address 't.example.invalid' is not host:port": the host alone, and no way on.
        assertThatThrownBy(() -> ServerAddress.parse("wss://t.example.invalid"))
                .hasMessage("server address 'wss://t.example.invalid' has no port; add the server's tunnel port (its"
                        + " --tunnel-addr, 8443 by default), as in 'wss://t.example.invalid:8443'");
        assertThatThrownBy(() -> ServerAddress.parse("ws://127.0.0.1/"))
                .hasMessageStartingWith("server address 'ws://127.0.0.1' has no port;")
                .hasMessageEndingWith("as in 'ws://127.0.0.1:8443'");
        assertThatThrownBy(() -> ServerAddress.parse("t.example.invalid"))
                .hasMessageEndingWith("as in 't.example.invalid:8443'");
        assertThatThrownBy(() -> ServerAddress.parse("ws://[::1]"))
                .hasMessageEndingWith("as in 'ws://[::1]:8443'");
        assertThatThrownBy(() -> ServerAddress.parse("ws://127.0.0.1:"))
                .as("a colon and no number: the number is what is wrong").hasMessageContaining("has no valid port number");
    }

    @Test
    void wsSchemeMeansPlainAndWssMeansTls() {
        assertThat(ServerAddress.parse("ws://127.0.0.1:8443").tls()).isFalse();
        assertThat(ServerAddress.parse("wss://Example.COM:443/").tunnelUri().toString())
                .isEqualTo("wss://example.com:443/tunnel");
    }

    @Test
    void ipv6LiteralsKeepTheirBrackets() {
        ServerAddress address = ServerAddress.parse("ws://[::1]:8443");

        assertThat(address.host()).isEqualTo("::1");
        assertThat(address.tunnelUri().toString()).isEqualTo("ws://[::1]:8443/tunnel");
    }

    @Test
    void aServerNameWrittenAbsoluteWithItsTrailingDotIsTheNameWithoutIt() {
        ServerAddress address = ServerAddress.parse("wss://Tunnel.Example.com.:8443");

        assertThat(address.host()).isEqualTo("tunnel.example.com");
        assertThat(address.tunnelUri().toString()).isEqualTo("wss://tunnel.example.com:8443/tunnel");
    }

    @Test
    void aServerOrProxyNameBeyondAsciiIsTakenInItsPunycodeFormAsGoSendsIt() {
        ServerAddress address = ServerAddress.parse("wss://Bücher.Example.com:8443");

        assertThat(address.host()).isEqualTo("xn--bcher-kva.example.com");
        assertThat(address.tunnelUri().toString()).isEqualTo("wss://xn--bcher-kva.example.com:8443/tunnel");
        assertThat(ProxyUrl.parse("http://proxy.bücher.example:3128", "--proxy").hostPort())
                .isEqualTo(new HostPort("proxy.xn--bcher-kva.example", 3128));
        assertThatThrownBy(() -> ServerAddress.parse("bü cher.example:8443"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid host name")
                .hasMessageContaining("U+0020 SPACE");
    }

    /** IDNA without its STD3 rules encodes bü_cher as xn--b_cher-3ya, a name no resolver or certificate has. */
    @Test
    void aNameBeyondAsciiWithAnUnderscoreIsRefusedNamingIt() {
        assertThatThrownBy(() -> ServerAddress.parse("wss://bü_cher.example:8443"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'_' (U+005F LOW LINE)");
        assertThatThrownBy(() -> HostPort.parse("bü_cher.lan:80"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'_' (U+005F LOW LINE)");
        assertThatThrownBy(() -> AllowList.parse("bü_cher.lan:80"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'_' (U+005F LOW LINE)");
        assertThatThrownBy(() -> ProxyUrl.parse("http://proxy.bü_cher.example:3128", "--proxy"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'_' (U+005F LOW LINE)");
        // As an all-ASCII name may have one, so may an all-ASCII label next to one beyond ASCII.
        assertThat(HostPort.parse("my_host.bücher.lan:80").host()).isEqualTo("my_host.xn--bcher-kva.lan");
    }

    /** As Go's url.Parse and browsers read a URL's host: its %-escapes are UTF-8. */
    @Test
    void aServerOrProxyUrlWithAPercentEncodedHostIsTakenDecoded() {
        assertThat(ServerAddress.parse("wss://b%C3%BCcher.example:8443").host()).isEqualTo("xn--bcher-kva.example");
        assertThat(ProxyUrl.parse("http://user:p%40ss@proxy.b%c3%bccher.example:3128", "--proxy").hostPort())
                .isEqualTo(new HostPort("proxy.xn--bcher-kva.example", 3128));
        assertThatThrownBy(() -> ServerAddress.parse("wss://b%FCcher.example:8443"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("server address 'b%FCcher.example:8443': its"
                        + " host has %-escapes that are not UTF-8 (%FC for ü is Latin-1: in UTF-8 ü is %C3%BC); write"
                        + " the host as it is read");
        assertThatThrownBy(() -> ProxyUrl.parse("http://proxy.b%zzcher.example:3128", "--proxy"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its host has a '%' not followed by two hex digits");
        // host:port is not a URL: a '%' in it is no escape.
        assertThatThrownBy(() -> ServerAddress.parse("b%C3%BCcher.example:8443"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid host name");
    }

    @Test
    void aNameWithSharpSOrFinalSigmaKeepsItInItsPunycodeFormAsIdna2008Does() {
        assertThat(ServerAddress.parse("wss://Straße.example:8443").host()).isEqualTo("xn--strae-oqa.example");
        assertThat(ProxyUrl.parse("http://proxy.faß.example:3128", "--proxy").hostPort())
                .isEqualTo(new HostPort("proxy.xn--fa-hia.example", 3128));
        assertThat(HostPort.parse("βόλος.example:80").host()).isEqualTo("xn--nxasmm1c.example");
        assertThat(HostPort.parse("großbücher.example:80").host()).isEqualTo("xn--grobcher-sya50a.example");
        // Around ß the label is mapped as before: full-width letters and case folded, a soft hyphen dropped.
        assertThat(HostPort.parse("\uff33\uff34\uff32\uff21ße\u00ad.example:80").host()).isEqualTo("xn--strae-oqa.example");
        // Capital sigma is σ, as in UTS #46; only a final ς written so stays one.
        assertThat(HostPort.parse("ΒΌΛΟΣ.example:80").host()).isEqualTo("xn--nxasmq6b.example");
        assertThat(HostPort.parse("STRASSE.example:80").host()).isEqualTo("strasse.example");
        // 40 ß are 80 letters as ss, too many for a label: as ß they fit.
        assertThat(HostPort.parse("ß".repeat(40) + ".example:80").host())
                .isEqualTo("xn--zca" + "a".repeat(39) + ".example");

        AllowList allow = AllowList.parse("straße.lan:80");
        assertThat(allow.permits(HostPort.parse("xn--strae-oqa.lan:80"))).isTrue();
        assertThat(allow.permits(HostPort.parse("strasse.lan:80"))).isFalse();
    }

    @Test
    void aNameWithAJoinerIsRefusedAndTheXnFormAskedFor() {
        assertThatThrownBy(() -> ServerAddress.parse("wss://a\u200db.example:8443"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("U+200D ZERO WIDTH JOINER").hasMessageContaining("xn-- form");
        assertThatThrownBy(() -> AllowList.parse("a\u200cb.lan:80"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("U+200C ZERO WIDTH NON-JOINER").hasMessageContaining("xn-- form");
    }

    @Test
    void aNameWithSharpSIsRefusedWhereIdnaRefusesIt() {
        // An xn-- label is ASCII; ß with a right-to-left letter breaks RFC 5893; 70 ß do not fit a label.
        for (String host : new String[] {"xn--aß", "ß\u05d0", "ß".repeat(70)}) {
            assertThatThrownBy(() -> HostPort.parse(host + ".example:80")).as(host)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid host name");
        }
    }

    @Test
    void aNameWithACharacterNewerThanUnicode32AsksForTheXnForm() {
        // U+1E9E, capital sharp s, came with Unicode 5.1.
        assertThatThrownBy(() -> ServerAddress.parse("wss://\u1e9e.example:8443"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Unicode 3.2").hasMessageContaining("xn-- form");
        assertThatThrownBy(() -> AllowList.parse("stra\u00dfe\ud83d\ude00.lan:80"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Unicode 3.2").hasMessageContaining("xn-- form");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "example.com", "http://example.com:80", "ws://example.com:80/other",
        "example.com:0", "example.com:65536", "example.com:http", "user@example.com:1", "exa mple.com:1"})
    void invalidServerAddressesAreRejectedWithAReason(String text) {
        assertThatThrownBy(() -> ServerAddress.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("null");
    }

    @ParameterizedTest
    @ValueSource(strings = {"wss://tunnel.example.com:8443/tunnel?token=%s", "ws://127.0.0.1:8443/?token=%s",
        "https://tunnel.example.com:8443/tunnel?token=%s", "wss://tunnel.example.com:8443/tunnel#%s",
        "ws://user:%s@127.0.0.1:8443", "wss://%s@tunnel.example.com:8443/tunnel", "ws://127.0.0.1:8443#%s",
        "tunnel.example.com:8443?token=%s"})
    void aSecretInARefusedServerUrlIsNotRepeatedInTheMessage(String form) {
        // The protocol's URL, as a user coming from another tunnel copies it into --server or PICOTUNNEL_SERVER: the
        // message goes to standard error, the journal or the container's log.
        String token = "8f39ba2bf406ca4fb7327224479ca92dc9983744b77dd9fdaf7c1221f2c1dc1b";

        assertThatThrownBy(() -> ServerAddress.parse(form.formatted(token)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining(token).hasMessageNotContaining("8f39ba")
                .hasMessageContaining(":8443");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[::1:2:3:4:5:6:7:8:9]:8443", "[1.2.3.4.5]:8443", "[127.0.0.1]:8443", "[:]:8443",
        "[12345::1]:8443"})
    void bracketsHoldOnlyAnIpv6Address(String text) {
        // Before, these passed, and the client retried for ever a server name that 'does not resolve (DNS)'.
        assertThatThrownBy(() -> ServerAddress.parse("ws://" + text))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IPv6");
        assertThatThrownBy(() -> AllowList.parse(text))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IPv6");
        assertThat(HostPort.parse("[::FFFF:127.0.0.1]:22").host()).isEqualTo("::ffff:7f00:1");
        assertThat(HostPort.parse("[fe80::1:2]:22").port()).isEqualTo(22);
    }

    /** Was "':8080' is not host:port", which said not what is missing; a host made empty in code was taken. */
    @Test
    void anAddressWithoutAHostIsRefusedSayingSoAlsoWhenMadeInCode() {
        assertThatThrownBy(() -> HostPort.parse(":8080")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("':8080' has no host; write host:port, for example localhost:8080");
        assertThatThrownBy(() -> AllowList.parse("db:5432,:22")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("':22' has no host; write host:port, for example localhost:22");
        assertThatThrownBy(() -> ServerAddress.parse("wss://:8443")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("server address ':8443' has no host; write host:port, for example localhost:8443");
        assertThatThrownBy(() -> HostPort.parse(":http")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("':http' has no host; write host:port, for example localhost:8080");
        assertThatThrownBy(() -> new HostPort("", 8080)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("address ':8080' has no host; write host:port, for example localhost:8080");
    }

    /** The example took the port out of range as it was: "for example localhost:0" is no address to write either. */
    @Test
    void anAddressMadeInCodeWithoutAHostNorAPortInRangeSuggestsOneInRange() {
        assertThatThrownBy(() -> new HostPort("", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("address ':0' has no host; write host:port, for example localhost:8080");
        assertThatThrownBy(() -> new HostPort("", 70000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("address ':70000' has no host; write host:port, for example localhost:8080");
        assertThatThrownBy(() -> HostPort.parse(":0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("':0' has no host; write host:port, for example localhost:8080");
    }

    /** A port the parser refuses is refused in code too, instead of failing every attempt to dial it. */
    @Test
    void anAddressMadeInCodeWithAPortOutOfRangeIsRefusedNamingTheRange() {
        assertThatThrownBy(() -> new HostPort("127.0.0.1", 70_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port 70000 of '127.0.0.1' is out of range 1-65535");
        assertThatThrownBy(() -> new HostPort("localhost", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port 0 of 'localhost' is out of range 1-65535");
        assertThatThrownBy(() -> HostPort.parse("localhost:70000")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port 70000 in 'localhost:70000' is out of range 1-65535");
        assertThat(new HostPort("h", 65535).port()).isEqualTo(65535);
        assertThat(new HostPort("h", 1).port()).isEqualTo(1);
    }

    @Test
    void hostPortComparesHostsCaseInsensitively() {
        assertThat(HostPort.parse("LocalHost:22")).isEqualTo(HostPort.parse("localhost:22"));
    }

    @Test
    void allowListPermitsOnlyListedTargets() {
        AllowList allow = AllowList.parse("localhost:22, 127.0.0.1:8080");

        assertThat(allow.permits(HostPort.parse("localhost:22"))).isTrue();
        assertThat(allow.permits(HostPort.parse("127.0.0.1:8080"))).isTrue();
        assertThat(allow.permits(HostPort.parse("localhost:23"))).isFalse();
        assertThat(allow.permits(HostPort.parse("10.0.0.1:22"))).isFalse();
    }

    @Test
    void anIpv6TargetIsPermittedHoweverItsAddressIsSpelled() {
        // The allow list and the service's target_addr are written by different people; both dial the same socket.
        AllowList allow = AllowList.parse("[::1]:22,[2001:DB8:0:0:0:0:0:1]:443");
        assertThat(allow.permits(HostPort.parse("[0:0:0:0:0:0:0:1]:22"))).isTrue();
        assertThat(allow.permits(HostPort.parse("[0000::0001]:22"))).isTrue();
        assertThat(allow.permits(HostPort.parse("[2001:db8::1]:443"))).isTrue();
        assertThat(allow.permits(HostPort.parse("[::2]:22"))).isFalse();
        assertThat(allow.permits(HostPort.parse("[::1]:23"))).isFalse();
        assertThat(HostPort.parse("[0:0:0:0:0:0:0:1]:22")).hasToString("[::1]:22");
    }

    @Test
    void anIpv4CompatibleAddressStaysThatAddressAndIsNotTheIpv4MappedOne() {
        // ::127.0.0.1 is ::7f00:1, an IPv6 address; ::ffff:127.0.0.1 is 127.0.0.1.
        assertThat(HostPort.parse("[::127.0.0.1]:22")).hasToString("[::7f00:1]:22");
        assertThat(HostPort.parse("[::ffff:127.0.0.1]:22")).hasToString("[::ffff:7f00:1]:22");
        assertThat(ServerAddress.parse("[::10.1.2.3]:8443").host()).isEqualTo("::a01:203");
        assertThat(AllowList.parse("[::ffff:10.1.2.3]:22").permits(HostPort.parse("[::10.1.2.3]:22"))).isFalse();
    }

    @Test
    void aServerWrittenIpv4CompatibleIsNotThisMachineAndTakesTheProxyAsInGo() {
        // Go's httpproxy: [::127.0.0.1] is not a loopback address; [::ffff:127.0.0.1] is.
        Map<String, String> env = Map.of("HTTPS_PROXY", "http://p:1");
        assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse("[::127.0.0.1]:8443"), env)).isNotNull();
        assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse("[::ffff:127.0.0.1]:8443"), env)).isNull();
    }

    @Test
    void anAllowEntryOrTargetBeyondAsciiIsComparedInItsPunycodeFormInEitherSpelling() {
        AllowList allow = AllowList.parse("bücher.lan:80, xn--mnchen-3ya.lan:443");

        assertThat(allow.permits(HostPort.parse("xn--bcher-kva.lan:80"))).isTrue();
        assertThat(allow.permits(HostPort.parse("BÜCHER.lan:80"))).isTrue();
        assertThat(allow.permits(HostPort.parse("münchen.lan:443"))).isTrue();
        assertThat(allow.permits(HostPort.parse("bücher.lan:443"))).isFalse();
        assertThat(allow.permits(HostPort.parse("buecher.lan:80"))).isFalse();
        assertThat(allow).hasToString("xn--bcher-kva.lan:80,xn--mnchen-3ya.lan:443");
        assertThatThrownBy(() -> AllowList.parse("ü".repeat(80) + ".lan:80"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has an invalid host name");
    }

    @Test
    void emptyAllowListPermitsAnything() {
        assertThat(AllowList.parse("").permits(HostPort.parse("10.1.2.3:4"))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {",", " , ,", ",,"})
    void allowListOfOnlySeparatorsIsAnErrorNotAnyTarget(String text) {
        assertThatThrownBy(() -> AllowList.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("names no host:port");
    }
}
