package io.picotunnel.protocol.idna;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class PunycodeTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        RFC 3492 7.1 (A) Arabic (Egyptian) | \u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F | egbpdaj6bu4bxfgehfvwxn
        RFC 3492 7.1 (B) Chinese (simplified) | \u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587 | ihqwcrb4cv8a8dqg056pqjye
        RFC 3492 7.1 (D) Czech | Pro\u010Dprost\u011Bnemluv\u00ED\u010Desky | Proprostnemluvesky-uyb24dma41a
        RFC 3492 7.1 (L) 3<nen>B<gumi><kinpachi><sensei> | 3\u5E74B\u7D44\u91D1\u516B\u5148\u751F | 3B-ww4c5e180e575a65lsy2b
        RFC 3492 7.1 (R) <sono><supiido><de> | \u305D\u306E\u30B9\u30D4\u30FC\u30C9\u3067 | d9juau41awczczp
        RFC 3492 7.1 (S) -> $1.00 <- | -> $1.00 <- | -> $1.00 <--
        German sharp s | straße | strae-oqa
        German umlaut | bücher | bcher-kva
        Greek final sigma | βόλος | nxasmm1c
        Greek sigma | βόλοσ | nxasmq6b
        only sharp s | ß | zca
        """)
    void encodesAsRfc3492Does(String sample, String label, String encoded) {
        assertThat(Punycode.encode(label)).isEqualTo(encoded);
    }
}
