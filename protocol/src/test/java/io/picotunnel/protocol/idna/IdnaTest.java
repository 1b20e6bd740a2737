package io.picotunnel.protocol.idna;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdnaTest {

    @Test
    void anAsciiNameIsLeftAsItIs() {
        assertThat(Idna.toAscii("App.Example.com")).isEqualTo("App.Example.com");
        assertThat(Idna.toAscii("xn--bcher-kva.example")).isEqualTo("xn--bcher-kva.example");
    }

    @Test
    void aNameBeyondAsciiIsItsIdna2008PunycodeForm() {
        assertThat(Idna.toAscii("Bücher.example")).isEqualTo("xn--bcher-kva.example");
        assertThat(Idna.toAscii("straße.example")).isEqualTo("xn--strae-oqa.example");
        assertThat(Idna.toAscii("βόλος.example")).isEqualTo("xn--nxasmm1c.example");
        assertThat(Idna.toAscii("bücher\u3002example")).isEqualTo("xn--bcher-kva.example");
    }

    @Test
    void aJoinerOrACharacterNewerThanUnicode32AsksForTheXnForm() {
        assertThatThrownBy(() -> Idna.toAscii("a\u200db.example")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("it has U+200D ZERO WIDTH JOINER, which PicoTunnel does not convert; give the name in its xn-- form");
        assertThatThrownBy(() -> Idna.toAscii("\u1e9e.example")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Unicode 3.2").hasMessageContaining("xn-- form");
    }

    @Test
    void aControlCharacterInARefusedLabelIsWrittenOutNotQuotedAsItIs() {
        assertThatThrownBy(() -> Idna.toAscii("b\u00fc\u001b[2Jcher.example"))
                .hasMessageStartingWith("its label 'b\u00fc\\u001b[2Jcher' has U+001B")
                .hasMessageNotContaining("\u001b");
        assertThatThrownBy(() -> Idna.toAscii("b\u00fc\r\ncher.example"))
                .hasMessageContaining("'b\u00fc\\r\\ncher'").hasMessageNotContaining("\n").hasMessageNotContaining("\r");
        assertThatThrownBy(() -> Idna.toAscii("b\u00fc\u0085cher.example"))
                .hasMessageContaining("refuses 'b\u00fc\\u0085cher.example'").hasMessageNotContaining("\u0085");
    }

    @Test
    void aSpaceOrUnderscoreInALabelBeyondAsciiIsRefusedNamingIt() {
        assertThatThrownBy(() -> Idna.toAscii("bü cher.example")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("its label 'bü cher' has U+0020 SPACE: a label beyond ASCII may have no ASCII"
                        + " characters but letters, digits and hyphens");
        assertThatThrownBy(() -> Idna.toAscii("bü_cher.example")).hasMessageStartingWith(
                "its label 'bü_cher' has '_' (U+005F LOW LINE):");
        assertThatThrownBy(() -> Idna.toAscii("straße_1.example")).hasMessageContaining("'_' (U+005F LOW LINE)");
        assertThatThrownBy(() -> Idna.toAscii("bü＿cher.example")).hasMessageStartingWith(
                "its label 'bü＿cher' has '＿' (U+FF3F FULLWIDTH LOW LINE), which stands for '_':");
        // A label all ASCII is left as it is, as in a name all ASCII.
        assertThat(Idna.toAscii("_srv.bücher.example")).isEqualTo("_srv.xn--bcher-kva.example");
    }
}
