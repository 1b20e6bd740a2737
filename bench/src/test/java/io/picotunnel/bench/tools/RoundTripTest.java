package io.picotunnel.bench.tools;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RoundTripTest {

    @Test
    void measuresTheAskedSamplesAgainstARealEcho() throws Exception {
        try (RoundTrip.Echo echo = new RoundTrip.Echo(0)) {
            RoundTrip.Samples samples = RoundTrip.measure(new InetSocketAddress("127.0.0.1", echo.port()), 64, 10, 200,
                    Duration.ofMinutes(1));
            assertThat(samples.count()).isEqualTo(200);
            assertThat(samples.percentile(50)).isPositive().isLessThanOrEqualTo(samples.percentile(99));
        }
    }

    @Test
    void stopsAtTheTimeLimitWithTheSamplesSoFar() throws Exception {
        try (RoundTrip.Echo echo = new RoundTrip.Echo(0)) {
            RoundTrip.Samples samples = RoundTrip.measure(new InetSocketAddress("127.0.0.1", echo.port()), 64, 0,
                    2_000_000, Duration.ofMillis(200));
            assertThat(samples.count()).isPositive().isLessThan(2_000_000);
        }
    }

    @Test
    void percentileIsTheNearestRank() {
        double[] sorted = new double[100];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = i + 1;
        }
        RoundTrip.Samples samples = new RoundTrip.Samples(sorted);
        assertThat(samples.percentile(50)).isEqualTo(50);
        assertThat(samples.percentile(99)).isEqualTo(99);
        assertThat(samples.percentile(100)).isEqualTo(100);
        assertThat(new RoundTrip.Samples(new double[] {7}).percentile(99)).isEqualTo(7);
        assertThatThrownBy(() -> new RoundTrip.Samples(new double[0]).percentile(50))
                .isInstanceOf(IllegalStateException.class);
    }
}
