package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SessionLimitsTest {

    @Test
    void maxStreamsIsAWholeNumberNotASize() {
        assertThat(SessionLimits.parse(null, null, "70000", null).maxStreams()).isEqualTo(70_000);
        assertThat(SessionLimits.parse(null, null, "1000000", null).maxStreams()).isEqualTo(1_000_000);

        // Read as a byte size, "lots" was "not a size such as 16MiB, 512KiB or 65536" and "64k" was 65536 streams.
        for (String wrong : new String[] {"lots", "-1", "64k", "1.5", "0", "1000001", "99999999999",
                // Arabic-Indic and fullwidth digits: Integer.parseInt took them as 70000 and 5.
                "\u0667\u0660\u0660\u0660\u0660", "\uff15"}) {
            assertThatThrownBy(() -> SessionLimits.parse(null, null, wrong, null))
                    .as(wrong)
                    .isInstanceOfSatisfying(SessionLimits.InvalidLimit.class, e -> assertThat(e.which()).isEqualTo(2))
                    .hasMessage("'" + wrong + "' is not a whole number from 1 to 1000000");
        }
    }

    /** Spaces around it are ASCII ones, as every other count takes them (SettingValues): strip() took U+3000 too. */
    @Test
    void maxStreamsTakesAsciiSpacesAroundItOnly() {
        assertThat(SessionLimits.parse(null, null, " 100\t", null).maxStreams()).isEqualTo(100);

        for (String wrong : new String[] {"100\u3000", "\u2003100"}) {
            assertThatThrownBy(() -> SessionLimits.parse(null, null, wrong, null)).as(wrong)
                    .isInstanceOfSatisfying(SessionLimits.InvalidLimit.class, e -> assertThat(e.which()).isEqualTo(2))
                    .hasMessageEndingWith(" is not a whole number from 1 to 1000000");
        }
    }
}
