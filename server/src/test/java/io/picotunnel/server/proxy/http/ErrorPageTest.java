package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.yamux.ResetReason;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The pages for the reasons a tunnel's client gives when it resets a stream (docs/http-proxy.md). */
class ErrorPageTest {

    @Test
    void everyReasonTheClientGivesHasAPageOfItsOwnInPlainWords() {
        Set<String> errors = new HashSet<>();
        for (ResetReason reason : ResetReason.values()) {
            ErrorPage page = ErrorPage.targetFailed(reason);
            if (reason == ResetReason.NONE) {
                assertThat(page).as("no reason: the general page").isNull();
                continue;
            }
            assertThat(page).as(reason.name()).isNotNull();
            assertThat(errors.add(page.error())).as(reason + "'s error code " + page.error() + " is its own").isTrue();
            assertThat(page.message()).as(reason.name()).doesNotContain("--");
        }
    }

    @Test
    void aTargetTheClientHasNoRouteToIsA502SayingSo() {
        ErrorPage page = ErrorPage.targetFailed(ResetReason.TARGET_UNREACHABLE);

        assertThat(page.status().code()).isEqualTo(502);
        assertThat(page.error()).isEqualTo("target_no_route");
        assertThat(page.message()).contains("cannot reach the app");
    }
}
