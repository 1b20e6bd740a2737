package io.picotunnel.protocol.net;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HostnamesTest {

    @Test
    void whyNotTargetNameGivesAReasonExactlyForTheNamesIsTargetNameRefuses() {
        String[] names = {"app", "my_app", "project_web_1", "_srv.example", "a-b.c", "1.2.3.4", "-bad-", "bad-", "a..b",
            ".a", "a.", "", "a b", "bü", "a".repeat(63), "a".repeat(64), ("a".repeat(60) + ".").repeat(4) + "a".repeat(9),
            ("a".repeat(60) + ".").repeat(4) + "a".repeat(10), "a:b", "a/b"};
        for (String name : names) {
            assertThat(Hostnames.whyNotTargetName(name) == null).as(name).isEqualTo(Hostnames.isTargetName(name));
        }
    }

    @Test
    void whyNotTargetNameSaysWhichRuleANameBreaks() {
        assertThat(Hostnames.whyNotTargetName("-bad-")).isEqualTo("its label '-bad-' starts or ends with '-'");
        assertThat(Hostnames.whyNotTargetName("a..b")).startsWith("it has an empty label");
        assertThat(Hostnames.whyNotTargetName("a".repeat(64))).contains("has 64 characters, more than the 63");
        assertThat(Hostnames.whyNotTargetName("a b")).isEqualTo("it has U+0020 SPACE, which no host name may have");
        // A label too long is named by its first 20 characters: one with an escape sequence is refused for that.
        assertThat(Hostnames.whyNotTargetName("\u001b[2J" + "a".repeat(70))).startsWith("it has ")
                .endsWith(", which no host name may have").doesNotContain("\u001b");
    }
}
