package io.picotunnel.protocol.text;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AsciiNumbersTest {

    @Test
    void parseIntReadsAsciiDigitsWithAnOptionalSign() {
        assertThat(AsciiNumbers.parseInt("8080")).isEqualTo(8080);
        assertThat(AsciiNumbers.parseInt("-12")).isEqualTo(-12);
        assertThat(AsciiNumbers.parseInt("+12")).isEqualTo(12);
    }

    /** As Integer.parseInt: callers that catch NumberFormatException for a bad value catch a missing one too. */
    @Test
    void parseIntOfNullIsANumberFormatException() {
        assertThatThrownBy(() -> AsciiNumbers.parseInt(null)).isExactlyInstanceOf(NumberFormatException.class);
    }

    @Test
    void parseIntRefusesOtherScriptsDigits() {
        assertThatThrownBy(() -> AsciiNumbers.parseInt("\u0668\u0660")).isInstanceOf(NumberFormatException.class);
        assertThatThrownBy(() -> AsciiNumbers.parseInt("")).isInstanceOf(NumberFormatException.class);
    }
}
