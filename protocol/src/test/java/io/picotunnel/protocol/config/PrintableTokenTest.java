package io.picotunnel.protocol.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PrintableTokenTest {

    @Test
    void printableIsFromExclamationMarkToTildeWithoutSpaces() {
        assertThat(PrintableToken.isPrintable('!')).isTrue();
        assertThat(PrintableToken.isPrintable('~')).isTrue();
        for (int c : new int[] {' ', '\t', '\n', 0, 0x7f, 0xa0, 'é', '\u2028'}) {
            assertThat(PrintableToken.isPrintable(c)).as("0x%x", c).isFalse();
        }
    }

    @Test
    void aTokenIsPrintableAndWithinItsLengthsBothIncluded() {
        assertThat(PrintableToken.isToken("abcd", 4, 4)).isTrue();
        assertThat(PrintableToken.isToken("", 0, 4)).isTrue();
        assertThat(PrintableToken.isToken("abc", 4, 8)).as("too short").isFalse();
        assertThat(PrintableToken.isToken("abcdefghi", 4, 8)).as("too long").isFalse();
        assertThat(PrintableToken.isToken("ab cd", 4, 8)).as("a space").isFalse();
        assertThat(PrintableToken.isToken("abcdé", 4, 8)).as("not ASCII").isFalse();
    }

    /** Each caller words its refusal from the flaw: the lengths come first, a token short and unprintable is short. */
    @Test
    void aFlawIsTheLengthBeforeTheCharacters() {
        assertThat(PrintableToken.flaw("ab c", 5, 8)).isEqualTo(PrintableToken.Flaw.TOO_SHORT);
        assertThat(PrintableToken.flaw("abcdef hi", 4, 8)).isEqualTo(PrintableToken.Flaw.TOO_LONG);
        assertThat(PrintableToken.flaw("ab cd", 4, 8)).isEqualTo(PrintableToken.Flaw.NOT_PRINTABLE);
        assertThat(PrintableToken.flaw("abcd", 4, 8)).isNull();
    }
}
