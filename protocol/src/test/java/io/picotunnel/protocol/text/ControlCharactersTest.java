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

    /** Bidi overrides and isolates reorder the text around them, zero-width characters hide text (Trojan Source). */
    @Test
    void formattingCharactersAreWrittenOutSoThatNoneReordersOrHidesTheText() {
        assertThat(ControlCharacters.escape("invoice\u202Efdp.exe"))
                .isEqualTo("invoice\\u202efdp.exe");
        assertThat(ControlCharacters.escape("a\u202Ab\u202Bc\u202Cd\u202De\u2066f\u2067g\u2068h\u2069i"))
                .isEqualTo("a\\u202ab\\u202bc\\u202cd\\u202de\\u2066f\\u2067g\\u2068h\\u2069i");
        assertThat(ControlCharacters.escape("\u200Ba\u200Cb\u200Dc\u200Ed\u200Fe\u2060f\uFEFFg\u00ADh\u061Ci"))
                .isEqualTo("\\u200ba\\u200cb\\u200dc\\u200ed\\u200fe\\u2060f\\ufeffg\\u00adh\\u061ci");
    }

    @Test
    void formattingCharactersBeyondTheBasicPlaneAndUnpairedSurrogatesAreWrittenOut() {
        assertThat(ControlCharacters.escape("a\uDB40\uDC01b")).isEqualTo("a\\udb40\\udc01b"); // U+E0001 LANGUAGE TAG
        assertThat(ControlCharacters.escape("a\uD83Db\uDE00")).isEqualTo("a\\ud83db\\ude00");
    }

    @Test
    void emojiAndCombiningMarksAreLeftAsTheyAre() {
        assertThat(ControlCharacters.escape("ok \uD83D\uDE00 \u2764\uFE0F e\u0301"))
                .isEqualTo("ok \uD83D\uDE00 \u2764\uFE0F e\u0301");
    }

    @Test
    void aQuotedTextIsWrittenOutAndCutAfterItsLimitWithoutSplittingACharacter() {
        assertThat(ControlCharacters.quoted("a\nb\u202Ec")).isEqualTo("'a\\nb\\u202ec'");
        assertThat(ControlCharacters.quoted("x".repeat(ControlCharacters.MAX_SHOWN)))
                .isEqualTo("'" + "x".repeat(ControlCharacters.MAX_SHOWN) + "'");
        assertThat(ControlCharacters.quoted("x".repeat(5000) + "\n"))
                .isEqualTo("'" + "x".repeat(ControlCharacters.MAX_SHOWN) + "...(5001 chars)'");
        assertThat(ControlCharacters.bounded("x".repeat(ControlCharacters.MAX_SHOWN - 1) + "\uD83D\uDE00"))
                .isEqualTo("x".repeat(ControlCharacters.MAX_SHOWN - 1) + "...(201 chars)");
    }

    @Test
    void aValueForALogLineIsItsTextAndNullIsNull() {
        assertThat(ControlCharacters.bounded(8080)).isEqualTo("8080");
        assertThat(ControlCharacters.bounded(null)).isEqualTo("null");
    }
}
