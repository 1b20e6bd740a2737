package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.ConnectionLimits;
import io.picotunnel.server.net.RetryAfter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code Retry-After: N} docs/http-proxy.md, the README and --help give for the HTTP proxy's answers is the
 * one the code sends: {@link RetryAfter#IN_A_MOMENT}, or {@link ConnectionLimits#RETRY_AFTER} for a refused
 * connection's {@code overloaded} and {@code too_many_connections}. So a new value cannot leave them saying the old one.
 */
class RetryAfterDocsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern RETRY_AFTER = Pattern.compile("Retry-After: (\\d+)");
    /** The {@code error} of a connection limit's answer right before its Retry-After. */
    private static final Pattern CONNECTION_REFUSAL = Pattern.compile("`(overloaded|too_many_connections)`, `$");
    private static final String IN_A_MOMENT = Long.toString(RetryAfter.IN_A_MOMENT.toSeconds());

    @Test
    void everyRetryAfterOfTheProxyDocIsTheOneItsAnswerSends() throws IOException {
        List<String> checked = check("docs/http-proxy.md");

        assertThat(checked).as("the Retry-After values docs/http-proxy.md gives").hasSizeGreaterThanOrEqualTo(6)
                .contains("overloaded: " + ConnectionLimits.RETRY_AFTER.toSeconds(),
                        "too_many_connections: " + ConnectionLimits.RETRY_AFTER.toSeconds());
    }

    @Test
    void everyRetryAfterOfTheReadmeIsTheOneTunnelBusySends() throws IOException {
        assertThat(check("README.md")).as("the Retry-After values the README gives").hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void theHelpGivesTunnelBusysRetryAfter() {
        for (Setting setting : List.of(Setting.MAX_STREAMS, Setting.MAX_TUNNEL_REQUESTS)) {
            assertThat(setting.description()).as(setting.name()).contains("(Retry-After: " + IN_A_MOMENT + ")");
        }
    }

    /** Each Retry-After of {@code file}, checked, as "overloaded: 10" or "5". */
    private static List<String> check(String file) throws IOException {
        String doc = Files.readString(ROOT.resolve(file)).replaceAll("\\s+", " ");
        List<String> checked = new ArrayList<>();
        Matcher match = RETRY_AFTER.matcher(doc);
        while (match.find()) {
            String shown = match.group(1);
            Matcher refusal = CONNECTION_REFUSAL.matcher(doc.substring(Math.max(0, match.start() - 30), match.start()));
            if (refusal.find()) {
                assertThat(shown).as("%s: %s's Retry-After", file, refusal.group(1))
                        .isEqualTo(Long.toString(ConnectionLimits.RETRY_AFTER.toSeconds()));
                checked.add(refusal.group(1) + ": " + shown);
            } else {
                assertThat(shown).as("%s: the Retry-After at \"%s\"", file,
                        doc.substring(Math.max(0, match.start() - 80), match.end())).isEqualTo(IN_A_MOMENT);
                checked.add(shown);
            }
        }
        return checked;
    }
}
