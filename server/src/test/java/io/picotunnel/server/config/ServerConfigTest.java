package io.picotunnel.server.config;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.monitor.MonitorSettings;
import io.picotunnel.server.net.HostPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.nio.file.Files;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.TotalBufferBudget;
import io.picotunnel.protocol.yamux.YamuxConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class ServerConfigTest {

    @TempDir
    Path dir;

    private static ServerConfig load(Map<Setting, String> flags, Map<String, String> env) {
        return ServerConfig.load(flags, env);
    }

    @Test
    void defaultsMatchTheSpec() {
        ServerConfig config = load(Map.of(), Map.of());

        assertThat(config.dataDir()).isEqualTo(Path.of("./data"));
        assertThat(config.listenAddr()).isEqualTo(new HostPort("", 8080));
        assertThat(config.tunnelAddr()).isEqualTo(new HostPort("", 8443));
        assertThat(config.httpAddr()).isEqualTo(new HostPort("", 80));
        assertThat(config.httpsAddr()).isEqualTo(new HostPort("", 443));
        assertThat(config.domain()).isNull();
        assertThat(config.adminToken()).isNull();
        assertThat(config.authMode()).isEqualTo(AuthMode.TOKEN);
        assertThat(config.oidc()).isNull();
        assertThat(config.acme().enabled()).isFalse();
        assertThat(config.acme().directory()).isEqualTo(URI.create(ServerConfig.LETS_ENCRYPT_PRODUCTION));
        assertThat(config.tlsFiles()).isNull();
        assertThat(config.proxyTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void environmentVariablesOfTheSameNameSetEverySetting() {
        ServerConfig config = load(Map.of(), Map.of(
                "PICOTUNNEL_DATA_DIR", "/srv/picotunnel",
                "PICOTUNNEL_LISTEN_ADDR", "127.0.0.1:9090",
                "PICOTUNNEL_TUNNEL_ADDR", "[::1]:0",
                "PICOTUNNEL_DOMAIN", "Tunnel.Example.com",
                "PICOTUNNEL_ACME_ENABLED", "true",
                "PICOTUNNEL_ACME_EMAIL", "ops@picotunnel.dev",
                "PICOTUNNEL_ACME_DIRECTORY", "staging",
                "PICOTUNNEL_PROXY_TIMEOUT", "2m"));

        assertThat(config.dataDir()).isEqualTo(Path.of("/srv/picotunnel"));
        assertThat(config.listenAddr()).isEqualTo(new HostPort("127.0.0.1", 9090));
        assertThat(config.tunnelAddr()).isEqualTo(new HostPort("::1", 0));
        assertThat(config.domain()).isEqualTo("tunnel.example.com");
        assertThat(config.acme().enabled()).isTrue();
        assertThat(config.acme().email()).isEqualTo("ops@picotunnel.dev");
        assertThat(config.acme().directory()).isEqualTo(URI.create(ServerConfig.LETS_ENCRYPT_STAGING));
        assertThat(config.proxyTimeout()).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void anExampleAcmeEmailIsRefusedForLetsEncryptSayingWhatToDo() {
        for (String directory : List.of("production", "staging", "https://acme-v02.api.LetsEncrypt.org/directory")) {
            for (String email : List.of("admin@example.com", "me@mail.Example.ORG", "me@example.net.", "me@host.test",
                    "me@tunnel.example", "me@x.invalid", "me@localhost", "me@intranet")) {
                assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_ENABLED", "true",
                        "PICOTUNNEL_ACME_EMAIL", email, "PICOTUNNEL_ACME_DIRECTORY", directory)))
                        .as("%s with %s", email, directory)
                        .isInstanceOf(ConfigException.class)
                        .hasMessageStartingWith("Invalid --acme-email (PICOTUNNEL_ACME_EMAIL): '" + email
                                + "' is an example address and Let's Encrypt refuses accounts with a contact at ")
                        .hasMessageContaining("set your own e-mail address, or leave it unset");
            }
        }
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_ENABLED", "true",
                "PICOTUNNEL_ACME_EMAIL", "admin@example.com")))
                .hasMessageContaining("a contact at example.com, so no certificate would be issued;");
    }

    @Test
    void anExampleAcmeEmailIsKeptWhereItDoesNoHarm() {
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "admin@example.com")).acme().email())
                .as("ACME off").isEqualTo("admin@example.com");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ACME_ENABLED", "true", "PICOTUNNEL_ACME_EMAIL", "admin@example.test",
                "PICOTUNNEL_ACME_DIRECTORY", "https://127.0.0.1:14000/dir")).acme().email())
                .as("a private ACME CA such as pebble").isEqualTo("admin@example.test");
        for (String email : List.of("ops@example.co.uk", "ops@myexample.com", "ops@example.com.au", "ops@picotunnel.dev")) {
            assertThat(load(Map.of(), Map.of("PICOTUNNEL_ACME_ENABLED", "true", "PICOTUNNEL_ACME_EMAIL", email))
                    .acme().email()).isEqualTo(email);
        }
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ACME_ENABLED", "true")).acme().email()).isNull();
    }

    @Test
    void anAcmeEmailWithACharacterItsMailtoContactCannotHoldIsRefusedNamingIt() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "me\u001b[2J@mail.test")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --acme-email (PICOTUNNEL_ACME_EMAIL): 'me\\u001b[2J@mail.test' has the control"
                        + " character \\u001b, which an ACME account's contact cannot hold; give a plain address of ASCII"
                        + " letters, digits and the characters .-_+!$&'*/=~ such as you@your-domain.");
        for (String control : List.of("\u0000", "\u007f", "\u0085", "\u2028")) {
            assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "me" + control + "@mail.test")))
                    .as("U+%04x", (int) control.charAt(0))
                    .hasMessageContaining("has the control character " + ControlCharacters.escape(control) + ",")
                    .hasMessageNotContaining(control);
        }
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "m\u00fc@mail.test")))
                .hasMessageContaining("'m\u00fc@mail.test' has '\u00fc' (U+00FC), which");
        for (String bad : List.of(",", "?", "<", "\"", "%", "#", "`")) {
            assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "me" + bad + "you@mail.test")))
                    .as(bad).hasMessageContaining("'me" + bad + "you@mail.test' has '" + bad + "', which");
        }
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ACME_EMAIL", "ops.team+acme_1-x@mail-1.example.test")).acme()
                .email()).isEqualTo("ops.team+acme_1-x@mail-1.example.test");
    }

    @Test
    void aFlagWinsOverItsVariableWhichWinsOverTheDefault() {
        ServerConfig config = load(Map.of(Setting.LISTEN_ADDR, ":7000"),
                Map.of("PICOTUNNEL_LISTEN_ADDR", ":7001", "PICOTUNNEL_HTTP_ADDR", ":7002", "PICOTUNNEL_HTTPS_ADDR", ""));

        assertThat(config.listenAddr().port()).isEqualTo(7000);
        assertThat(config.httpAddr().port()).isEqualTo(7002);
        assertThat(config.httpsAddr().port()).isEqualTo(443);
    }

    @Test
    void trustedProxiesAndTheProxyProtocolAreReadAndChecked() {
        ServerConfig config = load(Map.of(), Map.of("PICOTUNNEL_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::1",
                "PICOTUNNEL_PROXY_PROTOCOL", "true"));
        assertThat(config.trustedProxies()).extracting(Object::toString).containsExactly("10.0.0.0/8", "2001:db8::1/128");
        assertThat(config.proxyProtocol()).isTrue();
        assertThat(load(Map.of(), Map.of()).trustedProxies()).isEmpty();

        assertThatThrownBy(() -> load(Map.of(Setting.TRUSTED_PROXIES, "lb.example.com"), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid --trusted-proxies (PICOTUNNEL_TRUSTED_PROXIES): 'lb.example.com' is not");
        assertThatThrownBy(() -> load(Map.of(Setting.PROXY_PROTOCOL, "true"), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("name them in --trusted-proxies");
    }

    @Test
    void aBadFlagIsReportedEvenWhenItsVariableIsGood() {
        assertThatThrownBy(() -> load(Map.of(Setting.LISTEN_ADDR, "nonsense"), Map.of("PICOTUNNEL_LISTEN_ADDR", ":1")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --listen-addr (PICOTUNNEL_LISTEN_ADDR): 'nonsense' is not of the form host:port,"
                        + " for example :8080 or 127.0.0.1:8080.");
    }

    /**
     * The server's own domain written with a port or as a URL (the address bar, a client's --server) is told which part
     * it takes not and the flags that set its ports, not "not a valid host name".
     */
    @Test
    void aServerDomainWithASchemeOrAPortIsToldWhichPartItTakesNotAndWhichFlagsSetItsPorts() {
        String ports = "the server's domain takes no port: its ports are --tunnel-addr's (clients), --listen-addr's (UI"
                + " and API) and --http-addr's, --https-addr's (proxy)";
        assertThatThrownBy(() -> load(Map.of(Setting.DOMAIN, "tunnel.example.com:8443"), Map.of()))
                .hasMessage("Invalid --domain (PICOTUNNEL_DOMAIN): 'tunnel.example.com:8443' has a port; " + ports
                        + "; write 'tunnel.example.com'.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "https://tunnel.example.com/")))
                .hasMessage("Invalid --domain (PICOTUNNEL_DOMAIN): 'https://tunnel.example.com/' is a URL, not a domain;"
                        + " write 'tunnel.example.com'.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "wss://tunnel.example.com:8443")))
                .hasMessage("Invalid --domain (PICOTUNNEL_DOMAIN): 'wss://tunnel.example.com:8443' is a URL, not a"
                        + " domain; " + ports + "; write 'tunnel.example.com'.");
        // The server's domain is one name, not a wildcard: that is the message of any other invalid name.
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "https://*.example.com")))
                .hasMessageStartingWith("Invalid --domain (PICOTUNNEL_DOMAIN): 'https://*.example.com' is not a valid"
                        + " host name");
    }

    @Test
    void aDomainOrAddressBeyondAsciiIsTakenInItsXnForm() {
        assertThat(load(Map.of(Setting.DOMAIN, "Tunnel.B\u00fccher.example"), Map.of()).domain())
                .isEqualTo("tunnel.xn--bcher-kva.example");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "stra\u00dfe.example")).domain())
                .isEqualTo("xn--strae-oqa.example");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_LISTEN_ADDR", "b\u00fccher.localhost:9090")).listenAddr())
                .isEqualTo(new HostPort("xn--bcher-kva.localhost", 9090));
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "a\u200db.example")))
                .hasMessageStartingWith("Invalid --domain (PICOTUNNEL_DOMAIN): 'a\\u200db.example' is not a valid host name:"
                        + " it has U+200D ZERO WIDTH JOINER").hasMessageContaining("xn-- form");
    }

    @Test
    void urlSettingsWithAHostBeyondAsciiUseItsXnFormAndTheStartUpLogSaysSo() {
        ServerConfig config = load(Map.of(), Map.of(
                "PICOTUNNEL_OIDC_ISSUER", "https://Anmeldung.B\u00fccher.example/realms/main",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel",
                "PICOTUNNEL_OIDC_REDIRECT_URL", "https://tunnel.b\u00fccher.example:8443/auth/callback",
                "PICOTUNNEL_OIDC_ALLOW_ALL", "true",
                "PICOTUNNEL_ACME_DIRECTORY", "https://ca.stra\u00dfe.example/directory",
                "PICOTUNNEL_WEBHOOK_URL", "https://hooks.example.com/a, https://user:secret@b\u00fccher.example/T0KEN"));

        assertThat(config.oidc().issuer()).isEqualTo(URI.create("https://Anmeldung.xn--bcher-kva.example/realms/main"));
        assertThat(config.oidc().redirectUrl()).isEqualTo(URI.create("https://tunnel.xn--bcher-kva.example:8443/auth/callback"));
        assertThat(config.acme().directory()).isEqualTo(URI.create("https://ca.xn--strae-oqa.example/directory"));
        assertThat(config.monitoring().webhookUrls()).containsExactly(URI.create("https://hooks.example.com/a"),
                URI.create("https://user:secret@xn--bcher-kva.example/T0KEN"));
        assertThat(config.asciiHosts()).containsExactly(
                "--oidc-issuer (PICOTUNNEL_OIDC_ISSUER): https://Anmeldung.B\u00fccher.example/realms/main is used as"
                        + " https://Anmeldung.xn--bcher-kva.example/realms/main (its host in ASCII, as browsers send it);"
                        + " the provider's issuer (iss) must be that form",
                "--oidc-redirect-url (PICOTUNNEL_OIDC_REDIRECT_URL): https://tunnel.b\u00fccher.example:8443/auth/callback"
                        + " is used as https://tunnel.xn--bcher-kva.example:8443/auth/callback (its host in ASCII, as"
                        + " browsers send it)",
                "--acme-directory (PICOTUNNEL_ACME_DIRECTORY): https://ca.stra\u00dfe.example/directory is used as"
                        + " https://ca.xn--strae-oqa.example/directory (its host in ASCII, as browsers send it)",
                "--webhook-url (PICOTUNNEL_WEBHOOK_URL), entry 2: its host is used in its ASCII form,"
                        + " xn--bcher-kva.example");
        assertThat(load(Map.of(), Map.of()).asciiHosts()).isEmpty();
    }

    /** As browsers and Go's url.Parse read a host: its %-escapes are UTF-8. */
    @Test
    void aUrlSettingWithAPercentEncodedHostIsDecodedAndUsedInItsXnForm() {
        ServerConfig config = load(Map.of(), Map.of(
                "PICOTUNNEL_ACME_DIRECTORY", "https://ca.b%C3%BCcher.example/directory?x=%C3%BC",
                "PICOTUNNEL_WEBHOOK_URL", "https://b%c3%bccher.example:8443/T0KEN%2F"));

        assertThat(config.acme().directory())
                .isEqualTo(URI.create("https://ca.xn--bcher-kva.example/directory?x=%C3%BC"));
        assertThat(config.monitoring().webhookUrls())
                .containsExactly(URI.create("https://xn--bcher-kva.example:8443/T0KEN%2F"));
        assertThat(config.asciiHosts()).containsExactly("--acme-directory (PICOTUNNEL_ACME_DIRECTORY):"
                        + " https://ca.b%C3%BCcher.example/directory?x=%C3%BC is used as"
                        + " https://ca.xn--bcher-kva.example/directory?x=%C3%BC (its host in ASCII, as browsers send it)",
                "--webhook-url (PICOTUNNEL_WEBHOOK_URL), entry 1: its host is used in its ASCII form,"
                        + " xn--bcher-kva.example");
    }

    @Test
    void aUrlSettingWithAPercentEncodedHostThatIsNotANameSaysWhy() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_DIRECTORY", "https://b%FCcher.example/")))
                .hasMessage("Invalid --acme-directory (PICOTUNNEL_ACME_DIRECTORY): 'https://b%FCcher.example/': its"
                        + " host 'b%FCcher.example' has %-escapes that are not UTF-8 (%FC for \u00fc is Latin-1: in"
                        + " UTF-8 \u00fc is %C3%BC); write the host as it is read.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "https://b%C3cher.example/")))
                .hasMessageContaining("its host 'b%C3cher.example' has %-escapes that are not UTF-8");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "https://b%zzcher.example/")))
                .hasMessageContaining("its host 'b%zzcher.example' has a '%' not followed by two hex digits");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL", "https://evil.example%2Fx.b%C3%BCcher.example/T0KEN")))
                .hasMessage("Invalid --webhook-url (PICOTUNNEL_WEBHOOK_URL): entry 1: its host"
                        + " 'evil.example%2Fx.b%C3%BCcher.example' cannot be converted to its ASCII (xn--) form: it has"
                        + " '/' (U+002F SOLIDUS) once decoded, which no host name may have.");
    }

    /**
     * A webhook URL pasted without its scheme is told to have none, without repeating it (its path holds the secret):
     * "is not an http(s) URL" left the operator comparing it with the one Slack gave.
     */
    @Test
    void aWebhookUrlWithoutSchemeIsToldSoWithoutShowingIt() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL",
                "https://hooks.example.com/a,hooks.example.com/services/T0KEN")))
                .hasMessage("Invalid --webhook-url (PICOTUNNEL_WEBHOOK_URL): entry 2 has no scheme: write https:// (or"
                        + " http://) before its host, as the receiver gives the URL.")
                .hasMessageNotContaining("T0KEN");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL", "ftp://hooks.example.com/T0KEN")))
                .hasMessage("Invalid --webhook-url (PICOTUNNEL_WEBHOOK_URL): entry 1 is not an http(s) URL (with a port"
                        + " from 1 to 65535, if any).");
    }

    @Test
    void aUrlSettingWhoseHostCannotBeConvertedNamesTheSettingAndTheCharacter() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ACME_DIRECTORY", "https://ca.\u1e9e.example/dir")))
                .hasMessage("Invalid --acme-directory (PICOTUNNEL_ACME_DIRECTORY): 'https://ca.\u1e9e.example/dir': its"
                        + " host 'ca.\u1e9e.example' cannot be converted to its ASCII (xn--) form: it has '\u1e9e'"
                        + " (U+1E9E LATIN CAPITAL LETTER SHARP S), which PicoTunnel cannot convert; give the host in its"
                        + " xn-- form.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "https://b\u00fc_cher.example")))
                .hasMessageStartingWith("Invalid --oidc-issuer (PICOTUNNEL_OIDC_ISSUER): 'https://b\u00fc_cher.example':"
                        + " its host 'b\u00fc_cher.example' cannot be converted").hasMessageEndingWith("it has '_' (U+005F LOW LINE), which no host name may have.");
        // The rest of a webhook's URL may hold a secret: only its host is named.
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL", "https://b\u00fc cher.example/T0KEN")))
                .hasMessageStartingWith("Invalid --webhook-url (PICOTUNNEL_WEBHOOK_URL): entry 1: its host"
                        + " 'b\u00fc cher.example' cannot be converted").hasMessageContaining("it has U+0020 SPACE, which no host name may have.")
                .hasMessageNotContaining("T0KEN");
    }

    /**
     * Every bad value is refused with one sentence that names the flag and the variable, quoting what was given with
     * its hidden characters written out. Each case reports on its own: one failing does not hide the others.
     */
    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("badValues")
    void badValuesGiveOneSentenceNamingTheSetting(String variable, String value, String sentence) {
        assertThatThrownBy(() -> load(Map.of(), Map.of(variable, value)))
                .isInstanceOf(ConfigException.class).hasMessage(sentence);
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                arguments("PICOTUNNEL_TUNNEL_ADDR", ":70000", "Invalid --tunnel-addr (PICOTUNNEL_TUNNEL_ADDR): port"
                        + " 70000 is out of range (0-65535)."),
                arguments("PICOTUNNEL_AUTH", "off", "Invalid --auth (PICOTUNNEL_AUTH): 'off' is not 'token' or 'none'."),
                arguments("PICOTUNNEL_DOMAIN", "not a domain", "Invalid --domain (PICOTUNNEL_DOMAIN): 'not a domain'"
                        + " is not a valid host name such as tunnel.example.com."),
                arguments("PICOTUNNEL_DOMAIN", "tunnel_host.example", "Invalid --domain (PICOTUNNEL_DOMAIN):"
                        + " 'tunnel_host.example' is not a valid host name such as tunnel.example.com; '_' may be in"
                        + " a target's host name (a Docker name such as my_app:8080), not in a name browsers and"
                        + " certificates take."),
                arguments("PICOTUNNEL_TUNNEL_ADDR", "my_host:8443", "Invalid --tunnel-addr (PICOTUNNEL_TUNNEL_ADDR):"
                        + " 'my_host:8443' has an invalid host name 'my_host'; '_' may be in a target's host name (a"
                        + " Docker name such as my_app:8080), not in an address to listen on."),
                arguments("PICOTUNNEL_TUNNEL_ADDR", "tunnel\r\nhost:8443", "Invalid --tunnel-addr"
                        + " (PICOTUNNEL_TUNNEL_ADDR): 'tunnel\\r\\nhost:8443' has an invalid host name"
                        + " 'tunnel\\r\\nhost'."),
                arguments("PICOTUNNEL_DOMAIN", "tunnel\u001b[2J.example", "Invalid --domain (PICOTUNNEL_DOMAIN):"
                        + " 'tunnel\\u001b[2J.example' is not a valid host name such as tunnel.example.com."),
                arguments("PICOTUNNEL_PUBLIC_HTTP_PORT", "80\r\nforged", "Invalid --public-http-port"
                        + " (PICOTUNNEL_PUBLIC_HTTP_PORT): '80\\r\\nforged' is not a port from 1 to 65535."),
                // Integer.parseInt read other scripts' digits: Arabic-Indic 80 was port 80.
                arguments("PICOTUNNEL_PUBLIC_HTTP_PORT", "\u0668\u0660", "Invalid --public-http-port"
                        + " (PICOTUNNEL_PUBLIC_HTTP_PORT): '\u0668\u0660' is not a port from 1 to 65535."),
                arguments("PICOTUNNEL_TCP_PORTS", "\u0662\u0660\u0660\u0660-\u0663\u0660\u0660\u0660",
                        "Invalid --tcp-ports (PICOTUNNEL_TCP_PORTS): '\u0662\u0660\u0660\u0660-\u0663\u0660\u0660\u0660'"
                        + " is not a port (1-65535) or a range such as 2000-3000."),
                // Integer.parseInt takes a sign: "+80" was port 80, "2000-+3000" the range 2000-3000.
                arguments("PICOTUNNEL_PUBLIC_HTTPS_PORT", "+443", "Invalid --public-https-port"
                        + " (PICOTUNNEL_PUBLIC_HTTPS_PORT): '+443' is not a port from 1 to 65535."),
                arguments("PICOTUNNEL_TCP_PORTS", "2000-+3000", "Invalid --tcp-ports (PICOTUNNEL_TCP_PORTS): '2000-+3000'"
                        + " is not a port (1-65535) or a range such as 2000-3000."),
                arguments("PICOTUNNEL_TCP_PORTS", "+3306", "Invalid --tcp-ports (PICOTUNNEL_TCP_PORTS): '+3306'"
                        + " is not a port (1-65535) or a range such as 2000-3000."),
                arguments("PICOTUNNEL_ACME_DIRECTORY", "ftp://ca\u001b[2J", "Invalid --acme-directory"
                        + " (PICOTUNNEL_ACME_DIRECTORY): 'ftp://ca\\u001b[2J' is not an http(s) URL."),
                arguments("PICOTUNNEL_ACME_DIRECTORY", "https://b%C3cher\u001b.example/", "Invalid --acme-directory"
                        + " (PICOTUNNEL_ACME_DIRECTORY): 'https://b%C3cher\\u001b.example/': its host"
                        + " 'b%C3cher\\u001b.example' has %-escapes that are not UTF-8 (%FC for \u00fc is Latin-1:"
                        + " in UTF-8 \u00fc is %C3%BC); write the host as it is read."),
                arguments("PICOTUNNEL_AUTH", "off\r\nforged", "Invalid --auth (PICOTUNNEL_AUTH): 'off\\r\\nforged' is"
                        + " not 'token' or 'none'."),
                arguments("PICOTUNNEL_IMAGE_PREFIX", "registry\u001b[2J/", "Invalid --image-prefix"
                        + " (PICOTUNNEL_IMAGE_PREFIX): 'registry\\u001b[2J/' is not a registry path such as"
                        + " registry.example.com/team/."),
                arguments("PICOTUNNEL_ACME_EMAIL", "me\u001b[2J", "Invalid --acme-email (PICOTUNNEL_ACME_EMAIL):"
                        + " 'me\\u001b[2J' is not an e-mail address."),
                arguments("PICOTUNNEL_DATA_DIR", "data\u0000dir", "Invalid --data (PICOTUNNEL_DATA_DIR):"
                        + " 'data\\u0000dir' is not a valid path."),
                arguments("PICOTUNNEL_ACME_ENABLED", "maybe", "Invalid --acme-enabled (PICOTUNNEL_ACME_ENABLED): it"
                        + " must be true or false (or yes/no, on/off, 1/0)."),
                arguments("PICOTUNNEL_ACME_DIRECTORY", "ftp://ca", "Invalid --acme-directory"
                        + " (PICOTUNNEL_ACME_DIRECTORY): 'ftp://ca' is not an http(s) URL."),
                arguments("PICOTUNNEL_PROXY_TIMEOUT", "soon", "Invalid --proxy-timeout (PICOTUNNEL_PROXY_TIMEOUT):"
                        + " 'soon' is not a duration such as 30s, 500ms, 2m, 1h or 7d."),
                arguments("PICOTUNNEL_PROXY_TIMEOUT", "0s", "Invalid --proxy-timeout (PICOTUNNEL_PROXY_TIMEOUT): it"
                        + " must be greater than zero."),
                // 999999999d parsed, and every proxied connection then failed at its first timer (long overflow in
                // nanoseconds).
                arguments("PICOTUNNEL_PROXY_TIMEOUT", "999999999d", "Invalid --proxy-timeout"
                        + " (PICOTUNNEL_PROXY_TIMEOUT): '999999999d' is too long: at most 3650d."),
                arguments("PICOTUNNEL_SHUTDOWN_GRACE", "87601h", "Invalid --shutdown-grace"
                        + " (PICOTUNNEL_SHUTDOWN_GRACE): '87601h' is too long: at most 3650d."),
                arguments("PICOTUNNEL_TCP_PORTS", "2000-3000,33\u001b[2J06", "Invalid --tcp-ports"
                        + " (PICOTUNNEL_TCP_PORTS): '33\\u001b[2J06' is not a port (1-65535) or a range such as"
                        + " 2000-3000."),
                arguments("PICOTUNNEL_TCP_PORTS", "3000-\r\n2000", "Invalid --tcp-ports (PICOTUNNEL_TCP_PORTS):"
                        + " '3000-\\r\\n2000' is a range whose start is above its end."),
                arguments("PICOTUNNEL_TCP_PORTS", "1" + "0".repeat(300), "Invalid --tcp-ports"
                        + " (PICOTUNNEL_TCP_PORTS): '1" + "0".repeat(199) + "...(301 chars)' is not a port (1-65535)"
                        + " or a range such as 2000-3000."));
    }

    @Test
    void durationsUpTo3650dAreTaken() {
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_CHECK_RETENTION", "3650d")).monitoring().checkRetention())
                .isEqualTo(Duration.ofDays(3650));
    }

    @Test
    void streamOpenTimeoutIs30sByDefaultGoesToEveryClientsSessionAndRefusesLessThan1sOrMoreThan10m() {
        ServerConfig defaults = load(Map.of(), Map.of());
        assertThat(defaults.streamOpenTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(defaults.yamux().streamOpenTimeout()).isEqualTo(Duration.ofSeconds(30));

        ServerConfig slowLinks = load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "2m"));
        assertThat(slowLinks.streamOpenTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(slowLinks.yamux()).as("the limits stay as set")
                .isEqualTo(slowLinks.tunnels().yamux().withStreamOpenTimeout(Duration.ofMinutes(2)));
        assertThat(load(Map.of(Setting.STREAM_OPEN_TIMEOUT, "1s"), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "10m"))
                .yamux().streamOpenTimeout()).as("the flag wins").isEqualTo(Duration.ofSeconds(1));
        ServerConfig satellite = load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "10m"));
        assertThat(satellite.streamOpenTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(List.of(satellite.yamux().pingTimeout(), satellite.yamux().closedStreamLinger(),
                satellite.yamux().stalledReaderTimeout())).as("a ping, a closed stream and a stalled reader wait 30 s")
                .containsOnly(Duration.ofSeconds(30));

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "999ms")))
                .isInstanceOf(ConfigException.class).hasMessage("Invalid --stream-open-timeout"
                        + " (PICOTUNNEL_STREAM_OPEN_TIMEOUT): '999ms' is not a duration from 1s to 10m.");
        assertThatThrownBy(() -> load(Map.of(Setting.STREAM_OPEN_TIMEOUT, "601s"), Map.of()))
                .hasMessage("Invalid --stream-open-timeout (PICOTUNNEL_STREAM_OPEN_TIMEOUT): '601s' is not a duration"
                        + " from 1s to 10m.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "0")))
                .hasMessage("Invalid --stream-open-timeout (PICOTUNNEL_STREAM_OPEN_TIMEOUT): it must be greater than"
                        + " zero.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "-5s")))
                .hasMessageStartingWith("Invalid --stream-open-timeout (PICOTUNNEL_STREAM_OPEN_TIMEOUT): ");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_STREAM_OPEN_TIMEOUT", "slow")))
                .hasMessageStartingWith("Invalid --stream-open-timeout (PICOTUNNEL_STREAM_OPEN_TIMEOUT): 'slow'");
    }

    @Test
    void connectionAndApiLimitsHaveDefaultsAndBadValuesNameTheSetting() {
        ServerConfig defaults = load(Map.of(), Map.of());
        assertThat(defaults.limits().headerTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(defaults.limits().maxConnections()).isEqualTo(10_000);
        assertThat(defaults.limits().maxConnectionsPerAddress()).isEqualTo(256);
        assertThat(defaults.limits().maxTunnelRequests()).isEqualTo(4096);
        assertThat(defaults.limits().maxTunnels()).isEqualTo(1000);
        assertThat(defaults.limits().maxServices()).isEqualTo(10_000);
        assertThat(defaults.limits().tcpPorts().contains(1023)).isFalse();
        assertThat(defaults.limits().tcpPorts().contains(1024)).isTrue();
        assertThat(defaults.limits().tcpPorts().contains(65535)).isTrue();

        ServerConfig set = load(Map.of(), Map.of("PICOTUNNEL_TCP_PORTS", "2000-3000, 3306", "PICOTUNNEL_MAX_STREAMS", "100"));
        assertThat(set.limits().tcpPorts()).hasToString("2000-3000,3306");
        assertThat(set.limits().tcpPorts().contains(3306)).isTrue();
        assertThat(set.limits().tcpPorts().contains(3307)).isFalse();
        assertThat(set.limits().maxTunnelRequests()).as("half of --max-streams").isEqualTo(50);

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TCP_PORTS", "3000-2000")))
                .hasMessageStartingWith("Invalid --tcp-ports (PICOTUNNEL_TCP_PORTS): '3000-2000'");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TCP_PORTS", "ssh")))
                .hasMessageContaining("--tcp-ports").hasMessageContaining("not a port");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_TUNNEL_REQUESTS", "65536")))
                .hasMessageContaining("--max-tunnel-requests").hasMessageContaining("below --max-streams");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_CONNECTIONS", "none")))
                .hasMessageContaining("--max-connections").hasMessageContaining("whole number");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_HEADER_TIMEOUT", "0")))
                .hasMessageContaining("--header-timeout").hasMessageContaining("greater than zero");
    }

    @Test
    void upstreamKeepaliveHasDefaultsAndRefusesLessThanOneStream() {
        assertThat(load(Map.of(), Map.of()).upstreamKeepalive())
                .isEqualTo(new ServerConfig.UpstreamKeepalive(Duration.ofSeconds(60), 128));
        assertThat(load(Map.of(Setting.UPSTREAM_KEEPALIVE, "16"), Map.of("PICOTUNNEL_UPSTREAM_KEEPALIVE_TIMEOUT", "0"))
                .upstreamKeepalive()).isEqualTo(new ServerConfig.UpstreamKeepalive(Duration.ZERO, 16));
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_UPSTREAM_KEEPALIVE", "0")))
                .hasMessageContaining("--upstream-keepalive").hasMessageContaining("at least 1");
    }

    @Test
    void tunnelLimitsAndShutdownGraceHaveDefaultsAndTakeSizesAndDurations() {
        ServerConfig defaults = load(Map.of(), Map.of());
        assertThat(defaults.tunnels()).as("16MiB windows, or half the buffer limit on a small heap")
                .isEqualTo(SessionLimits.DEFAULTS);
        assertThat(defaults.tunnels().maxStreamWindow()).isEqualTo(YamuxConfig.windowWithin(16 << 20,
                defaults.tunnels().sessionBufferLimit()));
        assertThat(defaults.tunnels().yamux().windowAutoTuning()).isTrue();
        assertThat(defaults.shutdownGrace()).isEqualTo(Duration.ofSeconds(30));

        ServerConfig set = load(Map.of(Setting.MAX_STREAM_WINDOW, "8MiB"), Map.of(
                "PICOTUNNEL_SESSION_WINDOW_BUDGET", "512KiB", "PICOTUNNEL_MAX_STREAMS", "100000",
                "PICOTUNNEL_SHUTDOWN_GRACE", "0", "PICOTUNNEL_SESSION_BUFFER_LIMIT", "1GiB"));
        assertThat(set.tunnels()).isEqualTo(new SessionLimits(8 << 20, 512L << 10, 100_000, 1L << 30));
        assertThat(set.tunnels().yamux().sessionBufferLimit()).isEqualTo(1L << 30);
        assertThat(set.shutdownGrace()).as("0 skips the drain").isZero();

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_STREAM_WINDOW", "64KiB")))
                .hasMessage("Invalid --max-stream-window (PICOTUNNEL_MAX_STREAM_WINDOW): it must be between 256KiB and 1GiB.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_SESSION_WINDOW_BUDGET", "lots")))
                .hasMessageContaining("--session-window-budget").hasMessageContaining("not a size");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_STREAMS", "0")))
                .hasMessage("Invalid --max-streams (PICOTUNNEL_MAX_STREAMS): '0' is not a whole number from 1 to 1000000.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_STREAMS", "lots")))
                .hasMessage("Invalid --max-streams (PICOTUNNEL_MAX_STREAMS): 'lots' is not a whole number from 1 to 1000000.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_SESSION_BUFFER_LIMIT", "64KiB")))
                .hasMessage("Invalid --session-buffer-limit (PICOTUNNEL_SESSION_BUFFER_LIMIT): it must be at least 256KiB.");
    }

    @Test
    void theTotalBufferLimitDefaultsToHalfTheSmallerMemoryCapTakesASizeOrZeroAndRefusesLessThanAWindow() {
        assertThat(load(Map.of(), Map.of()).totalBufferLimit()).isEqualTo(TotalBufferBudget.DEFAULT_LIMIT);
        assertThat(load(Map.of(Setting.TOTAL_BUFFER_LIMIT, "2GiB"), Map.of()).totalBufferLimit()).isEqualTo(2L << 30);
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_TOTAL_BUFFER_LIMIT", "0")).totalBufferLimit())
                .as("no limit").isZero();
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TOTAL_BUFFER_LIMIT", "64KiB")))
                .hasMessage("Invalid --total-buffer-limit (PICOTUNNEL_TOTAL_BUFFER_LIMIT): it must be 0 (no limit) or"
                        + " at least 256KiB.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TOTAL_BUFFER_LIMIT", "lots")))
                .hasMessageContaining("--total-buffer-limit").hasMessageContaining("not a size");
    }

    @Test
    void aTotalBufferLimitBelowTwoStreamWindowsKeepsWindowsToHalfOfItAndASessionLimitAboveItHasItsSentence() {
        ServerConfig config = load(Map.of(Setting.TOTAL_BUFFER_LIMIT, "16MiB", Setting.MAX_STREAM_WINDOW, "16MiB",
                Setting.SESSION_BUFFER_LIMIT, "64MiB"), Map.of());
        assertThat(config.tunnels().maxStreamWindow()).as("kept to half the total").isEqualTo(8 << 20);
        assertThat(config.yamux().maxStreamWindow()).isEqualTo(8 << 20);
        assertThat(config.tunnels().sessionBufferLimit()).as("as asked").isEqualTo(64L << 20);
        assertThat(config.windowKept()).hasValueSatisfying(sentence -> assertThat(sentence)
                .contains("at most 8388608 bytes", "--total-buffer-limit (16777216 bytes)",
                        "--max-stream-window (16777216 bytes)"));
        assertThat(config.sessionBufferLimitAboveTotal()).hasValueSatisfying(sentence -> assertThat(sentence)
                .contains("--session-buffer-limit (67108864 bytes) is above --total-buffer-limit (16777216 bytes)",
                        "connection's streams are reset", "also lowers the HTTP/2 upload budget")
                .doesNotContain("a client connection is reset"));

        ServerConfig atTheFloor = load(Map.of(Setting.TOTAL_BUFFER_LIMIT, "256KiB", Setting.MAX_STREAM_WINDOW,
                "1MiB", Setting.SESSION_BUFFER_LIMIT, "1MiB"), Map.of());
        assertThat(atTheFloor.tunnels().maxStreamWindow()).as("never below the spec's window").isEqualTo(256 << 10);
        assertThat(atTheFloor.windowKept()).hasValueSatisfying(sentence -> assertThat(sentence)
                .contains("at most 262144 bytes", "never below 256 KiB", "--total-buffer-limit (262144 bytes)"));

        ServerConfig noTotal = load(Map.of(Setting.TOTAL_BUFFER_LIMIT, "0", Setting.MAX_STREAM_WINDOW, "16MiB",
                Setting.SESSION_BUFFER_LIMIT, "64MiB"), Map.of());
        assertThat(noTotal.tunnels().maxStreamWindow()).as("no total: the session limit alone").isEqualTo(16 << 20);
        assertThat(noTotal.windowKept()).isEmpty();
        assertThat(noTotal.sessionBufferLimitAboveTotal()).isEmpty();

        ServerConfig sessionLower = load(Map.of(Setting.TOTAL_BUFFER_LIMIT, "64MiB",
                Setting.SESSION_BUFFER_LIMIT, "4MiB"), Map.of());
        assertThat(sessionLower.tunnels().maxStreamWindow()).isEqualTo(2 << 20);
        assertThat(sessionLower.windowKept()).hasValueSatisfying(sentence -> assertThat(sentence)
                .contains("--session-buffer-limit (4194304 bytes)"));
        assertThat(sessionLower.sessionBufferLimitAboveTotal()).isEmpty();
    }

    @Test
    void aSessionBufferLimitBelowTwoStreamWindowsKeepsWindowsToHalfOfItAndHasTheSentenceForTheStartWithoutLogging() {
        Logger logger = (Logger) LoggerFactory.getLogger("io.picotunnel");
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            ServerConfig config = load(Map.of(Setting.SESSION_BUFFER_LIMIT, "4MiB"), Map.of());
            assertThat(config.tunnels().maxStreamWindow()).as("the default 16MiB, kept to half the limit")
                    .isEqualTo(2 << 20);
            assertThat(config.tunnels().yamux().maxStreamWindow()).isEqualTo(2 << 20);
            assertThat(config.tunnels().sessionBufferLimit()).as("the memory bound asked for").isEqualTo(4L << 20);
            assertThat(config.tunnels().windowKept()).hasValueSatisfying(sentence -> assertThat(sentence)
                    .contains("--session-buffer-limit (4194304 bytes)", "--max-stream-window (16777216 bytes)",
                            "at most 2097152 bytes"));
            assertThat(logged.list).as("PicoTunnelServer reports it once it starts; parsing says nothing").isEmpty();

            assertThat(load(Map.of(Setting.MAX_STREAM_WINDOW, "8MiB"),
                    Map.of("PICOTUNNEL_SESSION_BUFFER_LIMIT", "256KiB")).tunnels().maxStreamWindow())
                    .as("never below the spec's first window").isEqualTo(256 << 10);
            SessionLimits fits = load(Map.of(Setting.MAX_STREAM_WINDOW, "2MiB", Setting.SESSION_BUFFER_LIMIT, "4MiB"),
                    Map.of()).tunnels();
            assertThat(fits.maxStreamWindow()).as("half the limit fits").isEqualTo(2 << 20);
            assertThat(fits.windowKept()).as("nothing to say when the window fits").isEmpty();
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void aWeakAdminTokenIsRefusedWithoutRepeatingIt() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "secret123")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("from 16 to 1024")
                .hasMessageNotContaining("secret123");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "a-long-enough-token")).adminToken())
                .isEqualTo("a-long-enough-token");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "a-long-enough-token")).toString())
                .doesNotContain("a-long-enough-token");
    }

    @Test
    void anAdminTokenInOnePairOfQuotesIsUsedWithoutThemAsTheClientsToken() {
        // docker run --env-file keeps the quotes of PICOTUNNEL_ADMIN_TOKEN="...": the API then wanted them too (401).
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "\"a-long-enough-token\"")).adminToken())
                .isEqualTo("a-long-enough-token");
        assertThat(load(Map.of(Setting.ADMIN_TOKEN, "'a-long-enough-token'"), Map.of()).adminToken())
                .isEqualTo("a-long-enough-token");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "\"a-long-enough-token'")).adminToken())
                .as("not a pair").isEqualTo("\"a-long-enough-token'");
    }

    @Test
    void anAdminTokenLongerThanTheClientsLongestIsRefusedWithoutRepeatingIt() {
        String tooLong = "a".repeat(1025);
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", tooLong)))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --admin-token (PICOTUNNEL_ADMIN_TOKEN): the token must be from 16 to 1024 printable"
                        + " ASCII characters without spaces (or leave it unset to have one generated).");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "a".repeat(1024))).adminToken()).hasSize(1024);
    }

    @Test
    void anOidcClientSecretInOnePairOfQuotesIsUsedWithoutThem() {
        ServerConfig config = load(Map.of(), Map.of(
                "PICOTUNNEL_OIDC_ISSUER", "https://idp.example.invalid",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel",
                "PICOTUNNEL_OIDC_CLIENT_SECRET", "\"s3cr3t-value\"",
                "PICOTUNNEL_OIDC_REDIRECT_URL", "https://tunnel.example.invalid/auth/callback",
                "PICOTUNNEL_OIDC_ALLOW_ALL", "true"));
        assertThat(config.oidc().clientSecret()).isEqualTo("s3cr3t-value");
    }

    @Test
    void theAdminTokenPlaceholderOfTheKubernetesExampleIsRefused() throws IOException {
        // kubectl apply -k examples/kubernetes without editing secret.yaml (or after creating the Secret with the
        // README's command, which apply -k then overwrites) gave the API an admin token printed in the repository.
        String secret = Files.readString(Path.of("").toAbsolutePath().getParent()
                .resolve("examples/kubernetes/secret.yaml"));
        String placeholder = secret.substring(secret.indexOf("admin-token:") + "admin-token:".length()).strip();
        assertThat(placeholder).startsWith("change-me");

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", placeholder)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("placeholder").hasMessageContaining("openssl rand -hex 32");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ADMIN_TOKEN", "CHANGE-ME-please-0123456789")))
                .hasMessageContaining("placeholder");
    }

    /** A config made in code took "short", a space or "change-me..." as its admin token, which resolve refuses. */
    @Test
    void anAdminTokenMadeInCodeIsRefusedByTheRuleAndMessageOfAdminToken() {
        ServerConfig loaded = ServerConfig.ephemeral(dir);
        String rule = "Invalid --admin-token (PICOTUNNEL_ADMIN_TOKEN): the token must be from 16 to 1024 printable"
                + " ASCII characters without spaces (or leave it unset to have one generated).";
        for (String bad : List.of("", "short-0123", "a".repeat(1025), "with a space 0123456789", "tab\t0123456789abcdef",
                "non-ascii-\u00e9-0123456789")) {
            assertThatThrownBy(() -> withAdminToken(loaded, bad)).as(bad).isInstanceOf(ConfigException.class)
                    .hasMessage(rule);
            if (!bad.isEmpty()) { // an empty flag stands for the default
                assertThatThrownBy(() -> load(Map.of(Setting.ADMIN_TOKEN, bad), Map.of())).as("resolve: " + bad)
                        .isInstanceOf(ConfigException.class).hasMessage(rule);
            }
        }
        assertThatThrownBy(() -> withAdminToken(loaded, "change-me-0123456789abcdef")).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --admin-token (PICOTUNNEL_ADMIN_TOKEN): it is the placeholder of an example"
                        + " (examples/kubernetes/secret.yaml), known to everyone: set a random one, e.g. openssl rand"
                        + " -hex 32.");
        assertThat(withAdminToken(loaded, "a".repeat(16)).adminToken()).isEqualTo("a".repeat(16));
        assertThat(withAdminToken(loaded, "\"a-long-enough-token\"").adminToken()).isEqualTo("a-long-enough-token");
        assertThat(withAdminToken(loaded, null).adminToken()).isNull();
    }

    /**
     * A config made in code took any duration: a proxy timeout beyond ten years failed only at the start, in the HTTP
     * proxy's builder ("responseTimeout must be at most 3650 days"), naming no setting. Each is refused by the rule of
     * its setting, in the words the command line gets.
     */
    @Test
    void aDurationMadeInCodeIsRefusedByTheRuleAndMessageOfItsSetting() throws Throwable {
        ServerConfig c = ServerConfig.ephemeral(dir);
        Duration tooLong = Durations.MAX.plusDays(1);
        Map<String, Setting> settings = Map.of("proxyTimeout", Setting.PROXY_TIMEOUT,
                "keepaliveTimeout", Setting.KEEPALIVE_TIMEOUT, "sendTimeout", Setting.SEND_TIMEOUT,
                "shutdownGrace", Setting.SHUTDOWN_GRACE, "streamOpenTimeout", Setting.STREAM_OPEN_TIMEOUT);
        settings.forEach((component, setting) -> {
            String invalid = "Invalid " + setting.flag() + " (" + setting.envVar() + "): ";
            assertThatThrownBy(() -> with(c, component, tooLong)).as(component).isInstanceOf(ConfigException.class)
                    .hasMessage(invalid + "it must be at most 3650d.");
            assertThatThrownBy(() -> with(c, component, Duration.ofMillis(-1))).as(component)
                    .isInstanceOf(ConfigException.class).hasMessage(invalid + "it must not be negative.");
            assertThatThrownBy(() -> with(c, component, null)).as(component).isInstanceOf(NullPointerException.class)
                    .hasMessage(setting.displayName());
        });
        for (Setting positive : List.of(Setting.PROXY_TIMEOUT, Setting.KEEPALIVE_TIMEOUT, Setting.SEND_TIMEOUT,
                Setting.STREAM_OPEN_TIMEOUT)) {
            String component = settings.entrySet().stream().filter(e -> e.getValue() == positive).findFirst()
                    .orElseThrow().getKey();
            String asLoaded = catchThrowable(() -> load(Map.of(positive, "0"), Map.of())).getMessage();
            assertThat(asLoaded).as("the command line's").endsWith(": it must be greater than zero.");
            assertThatThrownBy(() -> with(c, component, Duration.ZERO)).as(component)
                    .isInstanceOf(ConfigException.class).hasMessage(asLoaded);
        }
        assertThat(with(c, "shutdownGrace", Duration.ZERO).shutdownGrace()).isZero();
        for (Duration outside : List.of(Duration.ofMillis(999), Duration.ofSeconds(601))) {
            assertThatThrownBy(() -> with(c, "streamOpenTimeout", outside)).isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --stream-open-timeout (PICOTUNNEL_STREAM_OPEN_TIMEOUT): it must be from 1s to"
                            + " 10m.");
        }
        assertThat(with(c, "proxyTimeout", Durations.MAX).proxyTimeout()).isEqualTo(Durations.MAX);

        assertThatThrownBy(() -> new ServerConfig.UpstreamKeepalive(tooLong, 8)).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --upstream-keepalive-timeout (PICOTUNNEL_UPSTREAM_KEEPALIVE_TIMEOUT): it must be"
                        + " at most 3650d.");
        assertThat(new ServerConfig.UpstreamKeepalive(Duration.ZERO, 1).idleTimeout()).isZero();
        assertThatThrownBy(() -> new ServerConfig.UpstreamKeepalive(Duration.ZERO, 0))
                .isInstanceOf(ConfigException.class).hasMessage(catchThrowable(() -> load(Map.of(
                        Setting.UPSTREAM_KEEPALIVE, "0"), Map.of())).getMessage());
        Limits l = c.limits();
        assertThatThrownBy(() -> new Limits(tooLong, l.maxConnections(), l.maxConnectionsPerAddress(),
                l.maxTunnelRequests(), l.maxTunnels(), l.maxServices(), l.tcpPorts()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --header-timeout (PICOTUNNEL_HEADER_TIMEOUT): it must be at most 3650d.");
        assertThatThrownBy(() -> new Limits(Duration.ZERO, l.maxConnections(), l.maxConnectionsPerAddress(),
                l.maxTunnelRequests(), l.maxTunnels(), l.maxServices(), l.tcpPorts()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(catchThrowable(() -> load(Map.of(Setting.HEADER_TIMEOUT, "0"), Map.of())).getMessage());
        MonitorSettings m = c.monitoring();
        assertThatThrownBy(() -> new MonitorSettings(m.checkInterval(), tooLong, m.webhookUrls(), m.alertAfter(),
                m.metricsPublic(), m.maxEvents())).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --check-retention (PICOTUNNEL_CHECK_RETENTION): it must be at most 3650d.");
        assertThatThrownBy(() -> new MonitorSettings(tooLong, m.checkRetention(), m.webhookUrls(), m.alertAfter(),
                m.metricsPublic(), m.maxEvents())).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --check-interval (PICOTUNNEL_CHECK_INTERVAL): it must be at most 3650d.");
        MonitorSettings underASecond = new MonitorSettings(Duration.ofMillis(999), m.checkRetention(),
                m.webhookUrls(), m.alertAfter(), m.metricsPublic(), m.maxEvents());
        assertThatThrownBy(() -> with(c, "monitoring", underASecond)).isInstanceOf(ConfigException.class)
                .hasMessage(catchThrowable(() -> load(Map.of(Setting.CHECK_INTERVAL, "999ms"), Map.of()))
                        .getMessage());
    }

    /** {@code c} with its record component {@code name} set to {@code value}, through the canonical constructor. */
    private static ServerConfig with(ServerConfig c, String name, Object value) throws Throwable {
        RecordComponent[] components = ServerConfig.class.getRecordComponents();
        Object[] values = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
            values[i] = components[i].getName().equals(name) ? value : components[i].getAccessor().invoke(c);
        }
        assertThat(components).as("a component named " + name).extracting(RecordComponent::getName).contains(name);
        try {
            return ServerConfig.class.getDeclaredConstructor(types).newInstance(values);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static ServerConfig withAdminToken(ServerConfig c, String adminToken) {
        return new ServerConfig(c.dataDir(), c.listenAddr(), c.tunnelAddr(), c.httpAddr(), c.httpsAddr(), c.domain(),
                adminToken, c.authMode(), c.oidc(), c.acme(), c.tlsFiles(), c.proxyTimeout(), c.keepaliveTimeout(),
                c.sendTimeout(), c.upstreamKeepalive(), c.shutdownGrace(), c.tunnels(), c.streamOpenTimeout(), c.totalBufferLimit(), c.limits(), c.trustedProxies(),
                c.proxyProtocol(), c.imagePrefix(), c.monitoring(), c.publicPorts(), c.asciiHosts());
    }

    @Test
    void authNoneMustBeSpelledOut() {
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_AUTH", "none")).authDisabled()).isTrue();
        assertThat(load(Map.of(Setting.AUTH, "NONE"), Map.of()).authMode()).isEqualTo(AuthMode.NONE);
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_AUTH", "")).authDisabled()).isFalse();
    }

    @Test
    void oidcNeedsIssuerClientIdAndRedirectUrl() {
        ServerConfig config = load(Map.of(), Map.of(
                "PICOTUNNEL_OIDC_ISSUER", "https://auth.example.com",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel",
                "PICOTUNNEL_OIDC_CLIENT_SECRET", "s3cret",
                "PICOTUNNEL_OIDC_REDIRECT_URL", "https://tunnel.example.com/auth/callback",
                "PICOTUNNEL_OIDC_ALLOWED_EMAILS", " Alice@Example.com, bob@example.com ,",
                "PICOTUNNEL_OIDC_ALLOWED_GROUPS", "admins"));
        assertThat(config.oidc().issuer()).isEqualTo(URI.create("https://auth.example.com"));
        assertThat(config.oidc().clientSecret()).isEqualTo("s3cret");
        assertThat(config.oidc().allowedEmails()).containsExactly("alice@example.com", "bob@example.com");
        assertThat(config.oidc().allowedGroups()).containsExactly("admins");
        assertThat(config.toString()).doesNotContain("s3cret");

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel")))
                .hasMessageContaining("needs --oidc-issuer (PICOTUNNEL_OIDC_ISSUER)");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "https://auth.example.com")))
                .hasMessageContaining("--oidc-client-id").hasMessageContaining("required");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "https://auth.example.com",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel"))).hasMessageContaining("--oidc-redirect-url");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ISSUER", "auth.example.com")))
                .hasMessageContaining("not an http(s) URL");
    }

    @Test
    void oidcAllowAllIsNeededWithoutAnAllowListAndExcludesOne() {
        Map<String, String> base = Map.of("PICOTUNNEL_OIDC_ISSUER", "https://auth.example.com",
                "PICOTUNNEL_OIDC_CLIENT_ID", "picotunnel",
                "PICOTUNNEL_OIDC_REDIRECT_URL", "https://tunnel.example.com/auth/callback");
        assertThatThrownBy(() -> load(Map.of(), base)).hasMessageContaining("without an allow list")
                .hasMessageContaining("PICOTUNNEL_OIDC_ALLOW_ALL=true");

        Map<String, String> allowAll = new java.util.HashMap<>(base);
        allowAll.put("PICOTUNNEL_OIDC_ALLOW_ALL", "true");
        assertThat(load(Map.of(), allowAll).oidc().allowAll()).isTrue();

        allowAll.put("PICOTUNNEL_OIDC_ALLOWED_GROUPS", "admins");
        assertThatThrownBy(() -> load(Map.of(), allowAll)).hasMessageContaining("--oidc-allow-all")
                .hasMessageContaining("cannot be combined");
    }

    @Test
    void oidcAllowAllWithoutAnIssuerIsRefusedRatherThanLeavingTheTokenSignIn() {
        // The operator meant OIDC sign-in; ignored, the server would sign in with the admin token, saying nothing
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_OIDC_ALLOW_ALL", "true")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --oidc-allow-all (PICOTUNNEL_OIDC_ALLOW_ALL): it needs --oidc-issuer"
                        + " (PICOTUNNEL_OIDC_ISSUER) to be set as well.");
        // false asks for nothing: a compose file may carry it for every deployment
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_OIDC_ALLOW_ALL", "false")).oidc()).isNull();
    }

    @Test
    void tlsFilesComeInPairsAndMustExist() throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "cert");
        Path key = Files.writeString(dir.resolve("key.pem"), "key");

        ServerConfig config = load(Map.of(), Map.of("PICOTUNNEL_TLS_CERT", cert.toString(), "PICOTUNNEL_TLS_KEY", key.toString()));
        assertThat(config.tlsFiles()).isEqualTo(new ServerConfig.TlsFiles(cert, key));

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TLS_CERT", cert.toString())))
                .hasMessageContaining("--tls-key").hasMessageContaining("required when --tls-cert");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TLS_CERT", dir.resolve("missing.pem").toString(),
                "PICOTUNNEL_TLS_KEY", key.toString()))).hasMessageContaining("does not exist");
    }

    @Test
    void aMissingFileIsNamedWithItsControlCharactersWrittenOut() throws IOException {
        Path key = Files.writeString(dir.resolve("key.pem"), "key");

        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_TLS_CERT", dir + "/cert\nINFO forged\u202Epem",
                "PICOTUNNEL_TLS_KEY", key.toString())))
                .hasMessage("Invalid --tls-cert (PICOTUNNEL_TLS_CERT): file '" + dir + "/cert\\nINFO forged\\u202epem'"
                        + " does not exist or cannot be read.");
    }

    /** A setting's value in a message is quoted one way, --domain's as the others': escaped and cut. */
    @Test
    void aLongWrongValueIsCutInTheMessageAsInALogLine() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_AUTH", "o".repeat(5000))))
                .hasMessage("Invalid --auth (PICOTUNNEL_AUTH): '" + "o".repeat(200) + "...(5000 chars)' is not"
                        + " 'token' or 'none'.");
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", "a b" + "c".repeat(5000))))
                .hasMessageStartingWith("Invalid --domain (PICOTUNNEL_DOMAIN): 'a b" + "c".repeat(197)
                        + "...(5003 chars)' is not a valid host name");
    }

    /**
     * A domain beyond ASCII refused for one long label (10 KiB) is cut and escaped wherever the message quotes it:
     * for its refused character (ESC), in IDNA2003's reason, which repeats it (U+202E), and for punycode's overflow
     * (13,000 ß and a character from plane 2).
     */
    @Test
    void aLongLabelBeyondAsciiIsCutAndEscapedEverywhereTheMessageQuotesIt() {
        String tail = "a".repeat(10 * 1024);
        for (String label : new String[] {"stra\u00dfe\u001b[2J" + tail, "b\u00fccher\u202e" + tail,
                "\u00df".repeat(13_000) + "\ud869\uded6"}) {
            assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_DOMAIN", label + ".example")))
                    .hasMessageStartingWith("Invalid --domain (PICOTUNNEL_DOMAIN): '")
                    .hasMessageNotContaining("\u001b").hasMessageNotContaining("\u202e")
                    .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(1000));
        }
    }

    @Test
    void acmeCanTrustAPrivateCaFile() throws IOException {
        Path ca = Files.writeString(dir.resolve("pebble.minica.pem"), "pem");
        ServerConfig config = load(Map.of(Setting.ACME_ENABLED, "true", Setting.ACME_DIRECTORY, "https://localhost:14000/dir",
                Setting.ACME_CA_FILE, ca.toString()), Map.of());
        assertThat(config.acme().directory()).isEqualTo(URI.create("https://localhost:14000/dir"));
        assertThat(config.acme().caFile()).isEqualTo(ca);
    }

    @Test
    void theVisitorsKeepaliveTimeoutComesFromTheFlagOrTheVariableAndIsPositive() {
        assertThat(load(Map.of(), Map.of()).keepaliveTimeout()).isEqualTo(Duration.ofSeconds(75));
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_KEEPALIVE_TIMEOUT", "650s")).keepaliveTimeout())
                .isEqualTo(Duration.ofSeconds(650));
        assertThat(load(Map.of(Setting.KEEPALIVE_TIMEOUT, "2m"), Map.of("PICOTUNNEL_KEEPALIVE_TIMEOUT", "650s"))
                .keepaliveTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_KEEPALIVE_TIMEOUT", "0s")))
                .hasMessageStartingWith("Invalid --keepalive-timeout (PICOTUNNEL_KEEPALIVE_TIMEOUT)");
    }

    @Test
    void theSendTimeoutComesFromTheFlagOrTheVariableAndIsPositive() {
        assertThat(load(Map.of(), Map.of()).sendTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_SEND_TIMEOUT", "5m")).sendTimeout())
                .isEqualTo(Duration.ofMinutes(5));
        assertThat(load(Map.of(Setting.SEND_TIMEOUT, "15s"), Map.of("PICOTUNNEL_SEND_TIMEOUT", "5m"))
                .sendTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_SEND_TIMEOUT", "0s")))
                .hasMessageStartingWith("Invalid --send-timeout (PICOTUNNEL_SEND_TIMEOUT)");
        assertThatThrownBy(() -> load(Map.of(Setting.SEND_TIMEOUT, "soon"), Map.of()))
                .hasMessageStartingWith("Invalid --send-timeout (PICOTUNNEL_SEND_TIMEOUT)");
        assertThatThrownBy(() -> load(Map.of(Setting.SEND_TIMEOUT, "-5s"), Map.of()))
                .hasMessageStartingWith("Invalid --send-timeout (PICOTUNNEL_SEND_TIMEOUT)");
    }

    @Test
    void everySettingHasAFlagAndAVariableOfTheSameName() {
        for (Setting setting : Setting.values()) {
            assertThat(setting.envVar()).isEqualTo("PICOTUNNEL_" + setting.name());
            List<String> names = new java.util.ArrayList<>(setting.aliases());
            names.add(setting.flag());
            assertThat(names).anyMatch(flag -> flag.equals("--" + setting.name().toLowerCase().replace('_', '-'))
                    || setting == Setting.DATA_DIR);
        }
    }

    @Test
    void theMostEventsKeptComeFromTheFlagOrTheVariableAndAreAtLeastAHundred() {
        assertThat(load(Map.of(), Map.of()).monitoring().maxEvents()).isEqualTo(100_000);
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_MAX_EVENTS", "5000")).monitoring().maxEvents()).isEqualTo(5000);
        assertThat(load(Map.of(Setting.MAX_EVENTS, "300"), Map.of("PICOTUNNEL_MAX_EVENTS", "5000")).monitoring()
                .maxEvents()).isEqualTo(300);
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_EVENTS", "99")))
                .hasMessageContaining("PICOTUNNEL_MAX_EVENTS").hasMessageContaining("at least 100");
    }
}
