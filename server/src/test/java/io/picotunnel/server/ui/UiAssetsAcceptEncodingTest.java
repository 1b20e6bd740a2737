package io.picotunnel.server.ui;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which Accept-Encoding takes the gzipped form of an asset: q-values as RFC 9110 writes them, and nothing else. */
class UiAssetsAcceptEncodingTest {

    @Test
    void qValuesOfTheStandardAreRead() {
        assertThat(UiAssets.acceptsGzip("gzip")).isTrue();
        assertThat(UiAssets.acceptsGzip("gzip;q=1")).isTrue();
        assertThat(UiAssets.acceptsGzip("gzip; Q=1.000")).isTrue();
        assertThat(UiAssets.acceptsGzip("gzip;q=0.001")).isTrue();
        assertThat(UiAssets.acceptsGzip("gzip;q=0.5, identity")).isTrue();
        assertThat(UiAssets.acceptsGzip("gzip;q=0")).isFalse();
        assertThat(UiAssets.acceptsGzip("gzip;q=0.000")).isFalse();
        assertThat(UiAssets.acceptsGzip("gzip;q=0.")).isFalse();
        assertThat(UiAssets.acceptsGzip("*;q=0.8")).isTrue();
    }

    /**
     * Before, Double.parseDouble read these as numbers above 0, and the asset went gzipped: a q-value in exponent, hex
     * float or infinity notation, above 1, with a sign or more than three decimals, or in other scripts' digits.
     */
    @Test
    void aQValueOutsideTheStandardRefusesItsCoding() {
        for (String q : new String[] {"1e3", "Infinity", "0x1p0", "2", "+1", "1.5", "0.5000", ".5", "1.0001", "0.5e0",
                "\u0661", "\uFF11", "NaN"}) {
            assertThat(UiAssets.acceptsGzip("gzip;q=" + q)).as(q).isFalse();
            assertThat(UiAssets.acceptsGzip("*;q=" + q)).as(q).isFalse();
        }
    }
}
