package io.picotunnel.protocol.config;

import io.picotunnel.protocol.yamux.SessionLimits;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ByteSizeTest {

    @Test
    void unitsArePowersOfTwo() {
        assertThat(ByteSize.parse("65536")).isEqualTo(65536);
        assertThat(ByteSize.parse("512KiB")).isEqualTo(512L << 10);
        assertThat(ByteSize.parse("16mib")).isEqualTo(16L << 20);
        assertThat(ByteSize.parse(" 1 GB ")).isEqualTo(1L << 30);
    }

    @Test
    void aSizeBeyondALongIsAnErrorNotANegativeNumber() {
        // 9999999999 GiB is more than a long holds: shifted, it was -7709325834913775616 bytes.
        assertThatThrownBy(() -> ByteSize.parse("9999999999g"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("9999999999g");
        assertThat(ByteSize.parse("8589934591g")).isEqualTo(8589934591L << 30).isPositive();
        // A negative budget passed SessionLimits, and the client or server then failed with YamuxConfig's stack trace.
        assertThatThrownBy(() -> SessionLimits.parse(null, "9999999999GiB", null, null))
                .isInstanceOfSatisfying(SessionLimits.InvalidLimit.class, e -> assertThat(e.which()).isEqualTo(1));
    }
}
