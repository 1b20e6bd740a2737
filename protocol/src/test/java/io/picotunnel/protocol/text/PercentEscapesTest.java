package io.picotunnel.protocol.text;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PercentEscapesTest {

    @Test
    void escapesAreDecodedAsUtf8() {
        assertThat(PercentEscapes.decode("p%41ss%c3%a9")).isEqualTo("pAssé");
        assertThat(PercentEscapes.decode("a+b")).isEqualTo("a+b");
        assertThat(PercentEscapes.decodeForm("a+b%2B")).isEqualTo("a b+");
        assertThat(PercentEscapes.decode("%ff")).isEqualTo("\uFFFD");
    }

    /** URLDecoder up to Java 21 read these with Character.digit: "%٤١" as "A", "%ＡＡ" as byte 0xAA. */
    @Test
    void hexInOtherScriptsIsNoEscape() {
        for (String text : new String[] {"%\u0664\u0661", "%\uFF21\uFF21", "%4\u0661", "%zz", "%4", "%"}) {
            assertThatThrownBy(() -> PercentEscapes.decode(text)).as(text)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a '%' not followed by two hex digits");
            assertThatThrownBy(() -> PercentEscapes.decodeForm(text)).as(text)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
