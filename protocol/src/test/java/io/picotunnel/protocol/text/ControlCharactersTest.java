package io.picotunnel.protocol.text;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ControlCharactersTest {

    @Test
    void controlCharactersAreWrittenOutAndTheRestLeftAsItIs() {
        assertThat(ControlCharacters.escape("a\nb\r\tc\u0000d\u001b[31m\u007f\u0085\u2028e"))
                .isEqualTo("a\\nb\\r\\tc\\u0000d\\u001b[31m\\u007f\\u0085\\u2028e");
        assertThat(ControlCharacters.escape("bücher.example")).isEqualTo("bücher.example");
    }
}
