package io.picotunnel.client;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class InsecureWarningTest {

    private static ClientConfig config(String server, String... more) {
        Map<Setting, String> flags = new HashMap<>(Map.of(Setting.SERVER, server, Setting.TOKEN, "t"));
        for (int i = 0; i < more.length; i += 2) {
            flags.put(Setting.valueOf(more[i]), more[i + 1]);
        }
        return ClientConfig.resolve(flags, Map.of());
    }

    @Test
    void withoutInsecureNothingIsSaid() {
        assertThat(InsecureWarning.lines(config("wss://h:1"))).isEmpty();
    }

    @Test
    void aTlsServerGetsTheBanner() {
        assertThat(String.join("\n", InsecureWarning.lines(config("h:1", "INSECURE", "true"))))
                .contains("TLS certificates are NOT verified").doesNotContain("no effect");
    }

    @Test
    void aPlainServerWithoutATlsProxyIsToldOnlyThatTheFlagDoesNothing() {
        // Was the banner "TLS certificates are NOT verified ... impersonate the server" and then this line: a warning
        // about certificates on a connection that has none, contradicted by the next line.
        assertThat(InsecureWarning.lines(config("ws://h:1", "INSECURE", "true")))
                .containsExactly("--insecure has no effect on a ws:// (plain) server address");
        assertThat(InsecureWarning.lines(config("ws://h:1", "INSECURE", "true", "PROXY", "http://127.0.0.1:3128")))
                .containsExactly("--insecure has no effect on a ws:// (plain) server address");
    }

    @Test
    void aPlainServerBehindAnHttpsProxyGetsTheBannerForTheProxysCertificate() {
        // Was the banner and "--insecure has no effect": it does, it skips the check of the proxy's certificate.
        assertThat(String.join("\n", InsecureWarning.lines(
                config("ws://h:1", "INSECURE", "true", "PROXY", "https://127.0.0.1:3129"))))
                .contains("TLS certificates are NOT verified").doesNotContain("no effect");
    }
}
