package io.picotunnel.client.config;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.testkit.LogCapture;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxyUrlTest {

    private static final ServerAddress WSS = ServerAddress.parse("tunnel.example.com:8443");
    private static final ServerAddress WS = ServerAddress.parse("ws://tunnel.example.com:8080");

    private static final Map<Setting, String> NONE = Map.of();

    private static ProxyUrl resolve(Map<Setting, String> flags, Map<String, String> env) {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putIfAbsent(Setting.SERVER.envVar(), "tunnel.example.com:8443");
        all.put(Setting.TOKEN.envVar(), "t");
        return ClientConfig.resolve(flags, all).proxy();
    }

    private static Map<Setting, String> proxyFlag(String value) {
        return Map.of(Setting.PROXY, value);
    }

    @Test
    void proxyUrlGivesHostPortUserAndPasswordAndHidesThePassword() {
        ProxyUrl proxy = ProxyUrl.parse("http://bob:s%40cret@proxy.corp:3128/", "--proxy");

        assertThat(proxy.hostPort()).isEqualTo(new HostPort("proxy.corp", 3128));
        assertThat(proxy.user()).isEqualTo("bob");
        assertThat(proxy.password()).isEqualTo("s@cret");
        assertThat(proxy.toString()).isEqualTo("http://bob:…@proxy.corp:3128").doesNotContain("s@cret");
        assertThat(ProxyUrl.parse("proxy.corp", "HTTPS_PROXY").hostPort()).isEqualTo(new HostPort("proxy.corp", 80));
        assertThat(ProxyUrl.parse("[::1]:3128", "x").hostPort()).isEqualTo(new HostPort("::1", 3128));
    }

    @Test
    void anHttpsProxyIsTakenFromTheSettingOrHttpsProxyOnPort443ByDefaultAsGoTakesIt() {
        ProxyUrl https = ProxyUrl.parse("https://bob:s%40cret@proxy.corp", "--proxy");

        assertThat(https.scheme()).isEqualTo(ProxyUrl.Scheme.HTTPS);
        assertThat(https.scheme().tls()).isTrue();
        assertThat(https.scheme().socks()).isFalse();
        assertThat(https.hostPort()).isEqualTo(new HostPort("proxy.corp", 443));
        assertThat(https.toString()).isEqualTo("https://bob:…@proxy.corp:443");
        ProxyUrl fromVariable = resolve(NONE, Map.of("https_proxy", "https://alice:s3cret@proxy.corp:8443"));
        assertThat(fromVariable.scheme()).isEqualTo(ProxyUrl.Scheme.HTTPS);
        assertThat(fromVariable.hostPort()).isEqualTo(new HostPort("proxy.corp", 8443));
        assertThat(ProxyUrl.parse("http://proxy.corp:3128", "--proxy").scheme().tls()).isFalse();
    }

    @Test
    void socks5AndSocks5hProxiesKeepTheSchemeAsWrittenPort1080ByDefaultAndHideThePassword() {
        ProxyUrl socks5 = ProxyUrl.parse("socks5://bob:s%40cret@socks.corp", "--proxy");
        ProxyUrl socks5h = ProxyUrl.parse("SOCKS5H://socks.corp:9050", "HTTPS_PROXY");

        assertThat(socks5.scheme()).isEqualTo(ProxyUrl.Scheme.SOCKS5);
        assertThat(socks5.hostPort()).isEqualTo(new HostPort("socks.corp", 1080));
        assertThat(socks5.user()).isEqualTo("bob");
        assertThat(socks5.password()).isEqualTo("s@cret");
        assertThat(socks5.toString()).isEqualTo("socks5://bob:…@socks.corp:1080");
        assertThat(socks5h.scheme()).isEqualTo(ProxyUrl.Scheme.SOCKS5H);
        assertThat(socks5h.toString()).isEqualTo("socks5h://socks.corp:9050");
        assertThat(ProxyUrl.parse("proxy.corp:3128", "x").scheme()).isEqualTo(ProxyUrl.Scheme.HTTP);
        assertThat(ProxyUrl.parse("socks5://bob:@socks.corp", "x").password()).as("an empty password, as Go sends")
                .isEmpty();
    }

    @Test
    void socks5ProxiesComeFromTheStandardVariablesAsGoReadsThemAndAllProxyIsNotRead() {
        assertThat(resolve(NONE, Map.of("HTTPS_PROXY", "socks5h://socks.corp:1080")).scheme())
                .isEqualTo(ProxyUrl.Scheme.SOCKS5H);
        assertThat(resolve(NONE, Map.of("https_proxy", "socks5://socks.corp:1080")).scheme())
                .isEqualTo(ProxyUrl.Scheme.SOCKS5);
        assertThat(ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WS, Map.of("HTTP_PROXY", "socks5://socks.corp:1080"))
                .source()).isEqualTo("HTTP_PROXY");
        assertThat(resolve(NONE, Map.of("HTTPS_PROXY", "socks5h://socks.corp:1080", "NO_PROXY", "example.com")))
                .isNull();
        // As Go's net/http takes socks5h from the variables (golang/go#24135): SOCKS5, on port 1080 unless given.
        ProxyUrl fromHttpProxy = ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WS,
                Map.of("HTTP_PROXY", "Socks5h://alice:s3cret@socks.corp/"));
        assertThat(fromHttpProxy.scheme()).isEqualTo(ProxyUrl.Scheme.SOCKS5H);
        assertThat(fromHttpProxy.scheme().socks()).isTrue();
        assertThat(fromHttpProxy.hostPort()).isEqualTo(new HostPort("socks.corp", 1080));
        assertThat(fromHttpProxy.user()).isEqualTo("alice");
        assertThat(fromHttpProxy.address()).isEqualTo("socks5h://socks.corp:1080");
        // Go's httpproxy reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY only: ALL_PROXY (curl's) is no proxy for it.
        assertThat(resolve(NONE, Map.of("ALL_PROXY", "socks5h://socks.corp:1080"))).isNull();
        assertThat(resolve(NONE, Map.of("all_proxy", "socks5://socks.corp:1080"))).isNull();
    }

    @Test
    void socks5UserAndPasswordOutsideRfc1929sLengthsAreRefusedAtStartWithoutShowingThem() {
        String[] urls = {"socks5://:s3cret@socks.corp:1080", "socks5h://" + "u".repeat(256) + ":s3cret@socks.corp",
            "socks5://alice:" + "s3cret".repeat(43) + "@socks.corp", "socks5://alice:" + "é".repeat(128) + "@socks.corp"};
        for (String url : urls) {
            assertThatThrownBy(() -> resolve(proxyFlag(url), Map.of())).as(url)
                    .isInstanceOf(ConfigException.class).hasMessageContaining("--proxy")
                    .hasMessageContaining("1 to 255 bytes").hasMessageNotContaining("s3cret").hasMessageNotContaining("é");
        }
        assertThat(resolve(proxyFlag("socks5://alice:" + "é".repeat(127) + "@socks.corp"), Map.of()).password())
                .hasSize(127);
        assertThatThrownBy(() -> resolve(proxyFlag("socks5://socks.corp:1080/x"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("socks5://host:port, without a path");
    }

    @Test
    void theReadmesSocks5ExamplesAreReadAsItSays() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int section = readme.indexOf("A SOCKS5 proxy (RFC 1928)");
        String block = readme.substring(readme.indexOf("```bash\n", section), readme.indexOf("\n```\n", section));
        Matcher flag = Pattern.compile("--server (\\S+) .*--proxy (\\S+)").matcher(block);
        Matcher variable = Pattern.compile("HTTPS_PROXY=(\\S+) picotunnel-client --server (\\S+)").matcher(block);
        assertThat(flag.find()).as(block).isTrue();
        assertThat(variable.find()).as(block).isTrue();

        ProxyUrl fromFlag = resolve(proxyFlag(flag.group(2)), Map.of(Setting.SERVER.envVar(), flag.group(1)));
        ProxyUrl fromVariable = resolve(NONE, Map.of("HTTPS_PROXY", variable.group(1),
                Setting.SERVER.envVar(), variable.group(2)));

        assertThat(fromFlag.scheme()).isEqualTo(ProxyUrl.Scheme.SOCKS5);
        assertThat(fromFlag.hostPort()).isEqualTo(new HostPort("socks.corp", 1080));
        assertThat(fromFlag.user()).isEqualTo("alice");
        assertThat(fromFlag.toString()).doesNotContain(fromFlag.password());
        assertThat(fromVariable.scheme()).isEqualTo(ProxyUrl.Scheme.SOCKS5);
        assertThat(fromVariable.source()).isEqualTo("HTTPS_PROXY");
        assertThat(fromVariable.hostPort()).isEqualTo(new HostPort("127.0.0.1", 1080));
    }

    @Test
    void unsupportedOrMalformedProxiesAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> resolve(proxyFlag("socks4://p:1080"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--proxy").hasMessageContaining("socks4");
        assertThatThrownBy(() -> resolve(NONE, Map.of("HTTPS_PROXY", "http://u:pw@p:x")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("HTTPS_PROXY").hasMessageNotContaining("pw");
        assertThatThrownBy(() -> resolve(NONE, Map.of("HTTPS_PROXY", "http://u:pw@p:1/path@x")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("percent-encode").hasMessageNotContaining("pw");
    }

    /**
     * A %-escape's hex is ASCII: URLDecoder read it with Character.digit, so "%\u0664\u0661" (Arabic-Indic 41) was
     * the letter A and the password "pAss". Escapes and a '+' otherwise read as before, UTF-8 included.
     */
    @Test
    void anEscapeInAnotherScriptsDigitsInTheUserOrPasswordIsRefusedWithoutShowingIt() {
        for (String url : new String[] {"http://u:p%\u0664\u0661ss@proxy:3128", "http://u%\uff14\uff11:pass@proxy:3128"}) {
            assertThatThrownBy(() -> ProxyUrl.parse(url, "--proxy")).as(url)
                    .hasMessage("--proxy: the user or password of the proxy has a '%' not followed by two hex digits"
                            + " (write a % as %25)");
        }
        ProxyUrl proxy = ProxyUrl.parse("http://b%C3%B6b:p+%41%e2%82%acss%25@proxy:3128", "--proxy");
        assertThat(proxy.user()).isEqualTo("b\u00f6b");
        assertThat(proxy.password()).isEqualTo("p+A\u20acss%");
    }

    @Test
    void rawSlashQuestionMarkOrHashInThePasswordIsRefusedAskingToPercentEncodeWithoutShowingIt() {
        for (String password : new String[] {"s3cr/et", "s3cr?et", "s3cr#et", "s3cr/et/"}) {
            for (String url : new String[] {"http://bob:" + password + "@127.0.0.1:3128", "bob:" + password + "@proxy:3128"}) {
                assertThatThrownBy(() -> resolve(NONE, Map.of("HTTPS_PROXY", url)))
                        .as(url).isInstanceOf(ConfigException.class)
                        .hasMessageContaining("HTTPS_PROXY").hasMessageContaining("percent-encode")
                        .hasMessageContaining("%2F").hasMessageNotContaining("s3cr").hasMessageNotContaining("bob")
                        .hasMessageNotContaining("127.0.0.1");
            }
        }
        assertThat(ProxyUrl.parse("http://bob:s3cr%2Fet%3F%23@127.0.0.1:3128", "--proxy").password())
                .isEqualTo("s3cr/et?#");
    }

    @Test
    void standardVariableNamingAProxyTheClientCannotUseStopsItSayingHowToGoOnWithoutShowingCredentials() {
        // Go's clients never connect around such a proxy: they use it (socks5) or fail every connection.
        String[][] cases = {{"HTTPS_PROXY", "socks4://alice:s3cret@socks.corp:1080", "scheme 'socks4'"},
            {"HTTPS_PROXY", "SOCKS4A://socks.corp:1080", "scheme 'socks4a'"},
            {"HTTPS_PROXY", "socks5://:s3cret@socks.corp:1080", "1 to 255 bytes"},
            {"HTTPS_PROXY", "alice:s3cret@x://p:1", "scheme '?'"},
            {"HTTPS_PROXY", "http://alice:s3cret@proxy.corp:x", "no valid port"},
            {"HTTPS_PROXY", "http://alice:s3cr/et@proxy.corp:3128", "percent-encode"}};
        for (String[] c : cases) {
            assertThatThrownBy(() -> resolve(NONE, Map.of(c[0], c[1]))).as(c[1])
                    .isInstanceOf(ConfigException.class).hasMessageContaining(c[0]).hasMessageContaining(c[2])
                    .hasMessageContaining("Set PICOTUNNEL_PROXY (or --proxy) to http://host:port or socks5://host:port"
                            + " for a proxy to use, or to none to connect to wss://tunnel.example.com:8443 directly.")
                    .hasMessageNotContaining("s3cr").hasMessageNotContaining("alice");
            assertThat(resolve(NONE, Map.of(c[0], c[1], "PICOTUNNEL_PROXY", "none"))).as(c[1]).isNull();
            assertThat(resolve(NONE, Map.of(c[0], c[1], "NO_PROXY", ".example.com"))).as(c[1]).isNull();
        }
        assertThatThrownBy(() -> ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WS, Map.of("HTTP_PROXY", "socks4://p:1080")))
                .hasMessageContaining("HTTP_PROXY").hasMessageContaining("ws://tunnel.example.com:8080");
    }

    @Test
    void aPathInAStandardVariableIsIgnoredAsGoIgnoresItWhileOurOwnSettingRefusesIt() {
        assertThat(resolve(NONE, Map.of("HTTPS_PROXY", "http://proxy.corp:3128/some/path")).hostPort())
                .isEqualTo(new HostPort("proxy.corp", 3128));
        assertThatThrownBy(() -> resolve(proxyFlag("http://proxy.corp:3128/some/path"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--proxy").hasMessageContaining("without a path");
    }

    @Test
    void flagOrOurOwnVariableWithAnUnsupportedSchemeIsRefused() {
        for (String url : new String[] {"socks4a://proxy.corp:1080", "socks4://alice:s3cret@socks.corp:1080"}) {
            assertThatThrownBy(() -> resolve(proxyFlag(url), Map.of()))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("--proxy").hasMessageContaining("not supported")
                    .hasMessageNotContaining("s3cret");
            assertThatThrownBy(() -> resolve(NONE, Map.of("PICOTUNNEL_PROXY", url, "HTTPS_PROXY", "http://p:1")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_PROXY")
                    .hasMessageNotContaining("s3cret");
        }
    }

    @Test
    void settingWinsOverTheStandardVariablesAndNoneIgnoresThem() {
        Map<String, String> env = Map.of("HTTPS_PROXY", "http://env-proxy:3128", "PICOTUNNEL_PROXY", "http://ours:1");

        assertThat(resolve(NONE, env).hostPort().host()).isEqualTo("ours");
        assertThat(resolve(proxyFlag("http://flag:2"), env).hostPort().host()).isEqualTo("flag");
        assertThat(resolve(proxyFlag("none"), env)).isNull();
        assertThat(resolve(NONE, Map.of("HTTPS_PROXY", "http://env-proxy:3128", "PICOTUNNEL_PROXY",
                "NONE"))).isNull();
        assertThat(resolve(NONE, Map.of("HTTPS_PROXY", "http://env-proxy:3128")).source())
                .isEqualTo("HTTPS_PROXY");
    }

    @Test
    void wssUsesHttpsProxyAndWsUsesHttpProxy() {
        Map<String, String> env = Map.of("HTTPS_PROXY", "http://secure:1", "http_proxy", "http://plain:2");

        assertThat(ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WSS, env).hostPort().host()).isEqualTo("secure");
        assertThat(ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WS, env).hostPort().host()).isEqualTo("plain");
        assertThat(ProxyUrl.resolve(null, "PICOTUNNEL_PROXY", WS, Map.of("HTTPS_PROXY", "http://secure:1"))).isNull();
    }

    @Test
    void ipv4MappedLoopbackServerIsLocalAndBypassesTheStandardVariables() {
        for (String local : new String[] {"[::ffff:127.0.0.1]:8443", "[::FFFF:127.1.2.3]:8443", "wss://[::ffff:7f00:1]:8443"}) {
            assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse(local), Map.of("HTTPS_PROXY", "http://p:1")))
                    .as(local).isNull();
        }
        for (String remote : new String[] {"[::ffff:10.0.0.1]:8443", "[::ffff:128.0.0.1]:8443", "[::2]:8443"}) {
            assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse(remote), Map.of("HTTPS_PROXY", "http://p:1")))
                    .as(remote).isNotNull();
        }
    }

    @Test
    void noProxyFollowsGoRulesDotDomainCoversOnlyNamesBelowIt() {
        ServerAddress apex = ServerAddress.parse("example.com:8443");
        ServerAddress below = ServerAddress.parse("a.example.com:8443");
        ServerAddress deeper = ServerAddress.parse("b.a.example.com:8443");
        ServerAddress ip = ServerAddress.parse("10.1.2.3:8443");
        String[][] cases = {
            // entry, apex bypasses, below bypasses, deeper bypasses
            {".example.com", "false", "true", "true"},
            {"*.example.com", "false", "true", "true"},
            {"example.com", "true", "true", "true"},
            {"EXAMPLE.com:8443", "true", "true", "true"},
            {".example.com:8443", "false", "true", "true"},
            {"example.com:9999", "false", "false", "false"},
            {"a.example.com", "false", "true", "true"},
            {"*", "true", "true", "true"},
            {"xample.com", "false", "false", "false"},
        };
        for (String[] c : cases) {
            Map<String, String> env = Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", c[0]);
            assertThat(ProxyUrl.resolve(null, "p", apex, env) == null).as("%s for example.com", c[0])
                    .isEqualTo(Boolean.parseBoolean(c[1]));
            assertThat(ProxyUrl.resolve(null, "p", below, env) == null).as("%s for a.example.com", c[0])
                    .isEqualTo(Boolean.parseBoolean(c[2]));
            assertThat(ProxyUrl.resolve(null, "p", deeper, env) == null).as("%s for b.a.example.com", c[0])
                    .isEqualTo(Boolean.parseBoolean(c[3]));
        }
        // An IPv4-mapped address is the IPv4 one.
        assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse("[::ffff:10.1.2.3]:8443"),
                Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "10.1.2.3"))).isNull();
        assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse("[::ffff:10.1.2.3]:8443"),
                Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "10.0.0.0/8"))).isNull();
        assertThat(ProxyUrl.resolve(null, "p", ip, Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "::ffff:10.1.2.3")))
                .isNull();
    }

    @Test
    void noProxyIsSplitOnCommasOnlyAsGoReadsItAndAnEntryWithASpaceIsWarnedAbout() {
        try (LogCapture log = new LogCapture(ProxyUrl.class, Level.INFO)) {
            // Go's httpproxy: "other.org tunnel.example.com" is one entry, which names no server: the proxy is used.
            // The warning shows the entry as written, not in the lower case it is compared in.
            assertThat(ProxyUrl.resolve(null, "p", WSS, Map.of("HTTPS_PROXY", "http://p:1",
                    "no_proxy", "Other.org Tunnel.Example.com"))).isNotNull();

            assertThat(log.messages(Level.WARN)).singleElement().asString().contains("no_proxy")
                    .contains("'Other.org Tunnel.Example.com'").contains("commas")
                    .contains("'Other.org,Tunnel.Example.com'");
        }
        try (LogCapture log = new LogCapture(ProxyUrl.class, Level.INFO)) {
            // A line break or an escape sequence in the entry is written out, not sent raw to the log.
            assertThat(ProxyUrl.resolve(null, "p", WSS, Map.of("HTTPS_PROXY", "http://p:1",
                    "NO_PROXY", "other.org\r\nforged \u001b[2Jtunnel.example.com"))).isNotNull();

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("'other.org\\r\\nforged \\u001b[2Jtunnel.example.com'")
                    .doesNotContain("\n", "\r", "\u001b");
        }
        for (String list : new String[] {" other.org ,\ttunnel.example.com ", "tunnel.example.com\t, other.org"}) {
            assertThat(ProxyUrl.resolve(null, "p", WSS, Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", list)))
                    .as("NO_PROXY=%s", list).isNull();
        }
    }

    /**
     * Each row: NO_PROXY, the server, and what Go's golang.org/x/net/http/httpproxy (Go 1.19's, run on these rows)
     * decided for https://server: "direct" or "proxy".
     */
    @Test
    void noProxyEntriesNameTheServersGoHttpproxyNames() {
        String[][] rows = {
            {"10.1.2.3:8443", "10.1.2.3:8443", "direct"},
            {"10.1.2.3:9999", "10.1.2.3:8443", "proxy"},
            {"10.1.2.3:08443", "10.1.2.3:8443", "proxy"},
            {"10.1.2.3:", "10.1.2.3:8443", "direct"},
            {"010.1.2.3", "10.1.2.3:8443", "proxy"},
            {".2.3", "10.1.2.3:8443", "direct"},
            {"1.2.3", "10.1.2.3:8443", "direct"},
            {"example.com", "10.1.2.3:8443", "proxy"},
            {"10.0.0.0/8", "10.1.2.3:8443", "direct"},
            {"10.1.2.3/8", "10.1.2.3:8443", "direct"},
            {"10.0.0.0/008", "10.1.2.3:8443", "direct"},
            {"10.0.0.0/33", "10.1.2.3:8443", "proxy"},
            {"::ffff:10.0.0.0/104", "10.1.2.3:8443", "direct"},
            {"::ffff:0:0/96", "10.1.2.3:8443", "direct"},
            {"::/0", "10.1.2.3:8443", "proxy"},
            {"::10.1.2.3", "10.1.2.3:8443", "proxy"},
            {"::ffff:10.1.2.3", "10.1.2.3:8443", "direct"},
            {"10.0.0.0/8", "[::ffff:10.1.2.3]:8443", "direct"},
            {"10.1.2.3", "[::ffff:10.1.2.3]:8443", "direct"},
            {"[2001:db8::5]", "[2001:db8::5]:8443", "proxy"},
            {"[2001:db8::5]:8443", "[2001:db8::5]:8443", "direct"},
            {"[2001:db8::5]:9999", "[2001:db8::5]:8443", "proxy"},
            {"2001:db8::5", "[2001:db8::5]:8443", "direct"},
            {"2001:DB8:0::5", "[2001:db8::5]:8443", "direct"},
            {"2001:db8::/32", "[2001:db8::5]:8443", "direct"},
            {"::5", "[2001:db8::5]:8443", "proxy"},
            {"fe80::1%eth0", "[2001:db8::5]:8443", "proxy"},
            {"example.com:", "example.com:8443", "direct"},
            {"example.com:08443", "example.com:8443", "proxy"},
            {"*.example.com:8443", "a.example.com:8443", "direct"},
            {"*", "10.1.2.3:8443", "direct"},
            {"*:8443", "example.com:8443", "proxy"},
            {"other.org,*", "example.com:8443", "direct"},
            {":8443", "example.com:8443", "proxy"},
            {"[example.com]:8443", "example.com:8443", "direct"},
        };
        assertNoProxyRows(rows);
    }

    /** As Go's httpproxy converts both the entries and the server's name (idna), in either spelling. */
    @Test
    void aNoProxyNameBeyondAsciiNamesTheServerInItsPunycodeForm() {
        String[][] rows = {
            {"bücher.example", "bücher.example:8443", "direct"},
            {"BÜCHER.example", "xn--bcher-kva.example:8443", "direct"},
            {"xn--bcher-kva.example", "bücher.example:8443", "direct"},
            {"bücher.example", "www.bücher.example:8443", "direct"},
            {".bücher.example", "www.bücher.example:8443", "direct"},
            {"*.bücher.example:8443", "a.bücher.example:8443", "direct"},
            {"bücher.example:9999", "bücher.example:8443", "proxy"},
            {"bücher.example", "buecher.example:8443", "proxy"},
            {"ü".repeat(80) + ".example", "bücher.example:8443", "proxy"},
            {"straße.example", "xn--strae-oqa.example:8443", "direct"},
            {"straße.example", "strasse.example:8443", "proxy"},
            {"strasse.example", "straße.example:8443", "proxy"},
        };
        assertNoProxyRows(rows);
    }

    /**
     * A departure from Go's httpproxy, which compares such an entry as written and so names no server with it: an
     * entry is %-decoded as the host of a server or proxy URL is (UrlHosts, HostPort.parseFromUrl), then converted to
     * its lower-case ASCII form, so an entry written as the URL's host is written names that host.
     */
    @Test
    void aNoProxyNameWithPercentEscapesNamesTheHostItDecodesToAsTheServersUrlHostIsDecoded() {
        String[][] rows = {
            {"ex%61mple.com", "example.com:8443", "direct"},
            {"ex%61mple.com", "wss://ex%61mple.com:8443", "direct"},
            {"EX%41MPLE.com", "example.com:8443", "direct"},
            {"example%2ecom", "wss://example%2Ecom:8443", "direct"},
            {".ex%61mple.com", "www.example.com:8443", "direct"},
            {"*.ex%61mple.com:8443", "www.example.com:8443", "direct"},
            {"ex%61mple.com:9999", "example.com:8443", "proxy"},
            {"b%C3%BCcher.example", "bücher.example:8443", "direct"},
            {"b%c3%bccher.example", "wss://b%C3%BCcher.example:8443", "direct"},
            {"B%C3%9CCHER.example", "xn--bcher-kva.example:8443", "direct"},
            {"bücher.example", "wss://b%C3%BCcher.example:8443", "direct"},
            {"ex%61mple.org", "example.com:8443", "proxy"},
        };
        assertNoProxyRows(rows);
    }

    /**
     * An entry whose %-escapes do not decode names no server (Go keeps it as written), so the server the user meant
     * to reach directly went through the proxy without a word: it is a start-up error naming the variable and the
     * entry, worded as a bad escape in the server's or the proxy's URL host is.
     */
    @Test
    void aNoProxyEntryWhoseEscapesDoNotDecodeIsAnErrorNamingTheVariableAndTheEntry() {
        String[][] cases = {
            {"NO_PROXY", "other.org, ex%6mple.com", "'ex%6mple.com' has a '%' not followed by two hex digits, as in a"
                    + " %-escape such as %C3%BC (ü)"},
            {"no_proxy", "*.ex%FCmple.com:8443", "'*.ex%FCmple.com:8443' has %-escapes that are not UTF-8 (%FC for ü is"
                    + " Latin-1: in UTF-8 ü is %C3%BC); write the host as it is read"},
            {"NO_PROXY", "ex%\u001b[2Jmple.com", "'ex%\\u001b[2Jmple.com' has a '%' not followed by two hex digits, as"
                    + " in a %-escape such as %C3%BC (ü)"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> resolve(NONE, Map.of("HTTPS_PROXY", "http://p:1", c[0], c[1]))).as(c[1])
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid " + c[0] + ": its entry " + c[2] + ". Correct the entry or remove it: it"
                            + " names no server as it is.");
        }
        assertThat(resolve(NONE, Map.of("NO_PROXY", "ex%6mple.com"))).as("NO_PROXY is read with a proxy only").isNull();
    }

    @Test
    void noProxyAndLocalServersBypassTheStandardVariablesOnly() {
        for (String entry : new String[] {"*", "example.com", ".example.com", "*.example.com", "tunnel.example.com:8443",
                "other.org, tunnel.example.com"}) {
            assertThat(ProxyUrl.resolve(null, "p", WSS, Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", entry)))
                    .as("NO_PROXY=%s", entry).isNull();
        }
        for (String entry : new String[] {"ample.com", "tunnel.example.com:9999", "10.0.0.0/8"}) {
            assertThat(ProxyUrl.resolve(null, "p", WSS, Map.of("HTTPS_PROXY", "http://p:1", "no_proxy", entry)))
                    .as("NO_PROXY=%s", entry).isNotNull();
        }
        ServerAddress inRange = ServerAddress.parse("10.1.2.3:8443");
        assertThat(ProxyUrl.resolve(null, "p", inRange, Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "10.0.0.0/8")))
                .isNull();
        for (String local : new String[] {"localhost:8443", "127.0.0.1:8443", "[::1]:8443"}) {
            assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse(local), Map.of("HTTPS_PROXY", "http://p:1")))
                    .as(local).isNull();
        }
        assertThat(ProxyUrl.resolve("http://p:1", "--proxy", ServerAddress.parse("127.0.0.1:8443"),
                Map.of("NO_PROXY", "*"))).as("the setting is used as given").isNotNull();
    }

    @Test
    void localhostInAnyCaseWithATrailingDotOrANameBelowItIsThisMachineAndSkipsTheProxy() {
        // Departures from Go's httpproxy, which compares the host with "localhost" as written and proxies all of these.
        for (String local : new String[] {"LOCALHOST:8443", "LocalHost:8443", "localhost.:8443", "LOCALHOST.:8443",
                "tunnel.localhost:8443", "Tunnel.LOCALHOST.:8443"}) {
            assertThat(ProxyUrl.resolve(null, "p", ServerAddress.parse(local), Map.of("HTTPS_PROXY", "http://p:1")))
                    .as(local).isNull();
        }
    }

    /** Each row: NO_PROXY, the server, and whether HTTPS_PROXY is used for it ("proxy") or not ("direct"). */
    private static void assertNoProxyRows(String[][] rows) {
        SoftAssertions softly = new SoftAssertions();
        for (String[] row : rows) {
            ProxyUrl proxy = ProxyUrl.resolve(null, "p", ServerAddress.parse(row[1]),
                    Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", row[0]));
            softly.assertThat(proxy == null ? "direct" : "proxy").as("NO_PROXY=%s for %s", row[0], row[1])
                    .isEqualTo(row[2]);
        }
        softly.assertAll();
    }
}
