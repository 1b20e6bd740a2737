package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.config.Durations;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The limits {@link HttpProxy.Builder} puts on what it is given in code, where no parsing of a setting bounded it. */
class HttpProxyBuilderTest {

    /**
     * A proxy timeout of 100 years: the wait that interim answers stretch, ten times it, is no deadline in nanoseconds
     * (292 years at most), and the first 1xx would fail on the event loop. Refused as --proxy-timeout is beyond 3650d.
     * The message spells both durations one way, and one a nanosecond too long does not read as the longest itself.
     */
    @Test
    void aResponseTimeoutBeyondTheLongestSettingIsRefused() {
        assertThatThrownBy(() -> HttpProxy.builder().responseTimeout(Duration.ofDays(36_500)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTimeout must be at most 3650 d, not 36500 d");
        assertThatThrownBy(() -> HttpProxy.builder().responseTimeout(Durations.MAX.plusSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTimeout must be at most 3650 d, not 3650 d 1 s");
        assertThatThrownBy(() -> HttpProxy.builder().responseTimeout(Durations.MAX.plusNanos(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTimeout must be at most 3650 d, not 3650 d and <1 ms");
    }

    @Test
    void theLongestResponseTimeoutStretchedByInterimAnswersIsStillADeadlineInNanoseconds() {
        HttpProxy proxy = HttpProxy.builder().routes(new HttpRoutes()).opener((service, handler) -> null)
                .responseTimeout(Durations.MAX).build();
        assertThat(proxy.interimWaitLimit().toNanos())
                .isEqualTo(Durations.MAX.multipliedBy(HttpProxy.INTERIM_WAIT_TIMEOUTS).toNanos());
    }

    @Test
    void everyTimeoutBeyondTheLongestSettingIsRefused() {
        Duration tooLong = Duration.ofDays(3651);
        assertThatThrownBy(() -> HttpProxy.builder().idleTimeout(tooLong))
                .hasMessage("idleTimeout must be at most 3650 d, not 3651 d");
        assertThatThrownBy(() -> HttpProxy.builder().headerTimeout(tooLong))
                .hasMessage("headerTimeout must be at most 3650 d, not 3651 d");
        assertThatThrownBy(() -> HttpProxy.builder().sendTimeout(tooLong))
                .hasMessage("sendTimeout must be at most 3650 d, not 3651 d");
        assertThatThrownBy(() -> HttpProxy.builder().upstreamIdleTimeout(tooLong))
                .hasMessage("upstreamIdleTimeout must be at most 3650 d, not 3651 d");
        assertThatThrownBy(() -> HttpProxy.builder().idleTimeout(Duration.ofSeconds(Long.MAX_VALUE)))
                .hasMessageStartingWith("idleTimeout must be at most 3650 d, not ");
        assertThatThrownBy(() -> HttpProxy.builder().idleTimeout(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("idleTimeout must be at most 3650 d, not 106751991167300 d 15 h 30 min 7 s");
    }
}
