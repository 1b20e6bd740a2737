package io.picotunnel.server.proxy.http;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpVersion;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.server.net.RetryAfter;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The pages for the reasons a tunnel's client gives when it resets a stream (docs/http-proxy.md). */
class ErrorPageTest {

    @Test
    void everyReasonTheClientGivesHasAPageOfItsOwnInPlainWords() {
        Set<String> errors = new HashSet<>();
        Set<String> messages = new HashSet<>();
        for (ResetReason reason : ResetReason.values()) {
            ErrorPage page = ErrorPage.targetFailed(reason);
            if (reason == ResetReason.NONE) {
                assertThat(page).as("no reason: the general page").isNull();
                continue;
            }
            assertThat(page).as(reason.name()).isNotNull();
            // A client that stops says so in two ways (a stream still open, one refused): one error, two messages.
            String error = reason == ResetReason.REFUSED_GOING_AWAY ? "refused:" + page.error() : page.error();
            assertThat(errors.add(error)).as(reason + "'s error code " + page.error() + " is its own").isTrue();
            assertThat(messages.add(page.message())).as(reason + "'s message is its own").isTrue();
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

    @Test
    void aClientThatStoppedIsA503SayingSoWithRetryAfter() {
        ErrorPage page = ErrorPage.targetFailed(ResetReason.CLIENT_STOPPING);

        FullHttpResponse response = page.toResponse(UnpooledByteBufAllocator.DEFAULT, HttpVersion.HTTP_1_1,
                "application/json", false);
        try {
            assertThat(response.status().code()).isEqualTo(503);
            assertThat(response.headers().get(HttpHeaderNames.RETRY_AFTER)).isEqualTo("5");
            assertThat(response.content().toString(StandardCharsets.UTF_8))
                    .contains("\"error\":\"client_stopping\"").contains("client is stopping");
        } finally {
            response.release();
        }
    }

    @Test
    void aStreamRefusedByAStoppingClientIsA503SayingTheRequestDidNotReachTheApp() {
        ErrorPage page = ErrorPage.targetFailed(ResetReason.REFUSED_GOING_AWAY);

        assertThat(page.status().code()).isEqualTo(503);
        assertThat(page.error()).isEqualTo("client_stopping");
        assertThat(page.message()).contains("did not reach the app");
        assertThat(page.retryAfter()).isEqualTo(RetryAfter.IN_A_MOMENT);
    }

    @Test
    void aStreamRefusedByAClientAtItsStreamLimitIsA503TunnelBusySayingTheRequestDidNotReachTheApp() {
        ErrorPage page = ErrorPage.targetFailed(ResetReason.REFUSED_STREAM_LIMIT);

        assertThat(page.status().code()).isEqualTo(503);
        assertThat(page.error()).isEqualTo("tunnel_busy");
        assertThat(page.message()).contains("did not reach the app");
        assertThat(page.retryAfter()).isEqualTo(RetryAfter.IN_A_MOMENT);
    }

    @Test
    void aBusyTunnelIsA503WithTheRetryAfterOfAStoppingClient() {
        FullHttpResponse response = ErrorPage.tunnelBusy()
                .toResponse(UnpooledByteBufAllocator.DEFAULT, HttpVersion.HTTP_1_1, "application/json", false);
        try {
            assertThat(response.status().code()).isEqualTo(503);
            assertThat(response.headers().get(HttpHeaderNames.RETRY_AFTER)).isEqualTo("5");
            assertThat(ErrorPage.tunnelBusy().retryAfter())
                    .isEqualTo(ErrorPage.targetFailed(ResetReason.CLIENT_STOPPING).retryAfter());
        } finally {
            response.release();
        }
    }

    @Test
    void pagesWithoutAWaitCarryNoRetryAfter() {
        FullHttpResponse response = ErrorPage.targetFailed(ResetReason.TARGET_REFUSED)
                .toResponse(UnpooledByteBufAllocator.DEFAULT, HttpVersion.HTTP_1_1, null, false);
        try {
            assertThat(response.headers().contains(HttpHeaderNames.RETRY_AFTER)).isFalse();
        } finally {
            response.release();
        }
    }
}
