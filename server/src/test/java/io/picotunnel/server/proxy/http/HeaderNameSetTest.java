package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HeaderNameSetTest {

    private static final HeaderNameSet SET = HeaderNameSet.of(
            List.of("keep-alive", HttpHeaderNames.CONNECTION, "x-real-ip", "forwarded"), "x-forwarded-");

    @Test
    void matchesNamesIgnoringCaseAndWhateverKindOfCharSequence() {
        assertThat(SET.contains("Keep-Alive")).isTrue();
        assertThat(SET.contains(AsciiString.of("CONNECTION"))).isTrue();
        assertThat(SET.contains(new StringBuilder("X-Real-IP"))).isTrue();
        assertThat(SET.contains("X-Forwarded-For")).isTrue();
        assertThat(SET.contains("x-forwarded-")).isTrue();
        assertThat(SET.contains("keep-aliv")).isFalse();
        assertThat(SET.contains("keep-alives")).isFalse();
        assertThat(SET.contains("x-forwarded")).isFalse();
        assertThat(SET.contains("forwarded-for")).isFalse();
        assertThat(SET.contains("")).isFalse();
    }

    @Test
    void anUnderscoreMatchesAHyphenAsCgiTargetsReadIt() {
        assertThat(SET.contains("Keep_Alive")).isTrue();
        assertThat(SET.contains("X_Real_IP")).isTrue();
        assertThat(SET.contains("x_forwarded_for")).isTrue();
        assertThat(SET.contains(new StringBuilder("X-Forwarded_Host"))).isTrue();
        assertThat(SET.contains("keep_aliv")).isFalse();
        assertThat(SET.contains("x_forwarded")).isFalse();
    }

    @Test
    void everyNameOfALargeSetIsFoundAndNoOther() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            names.add("h-" + i);
        }
        HeaderNameSet large = HeaderNameSet.of(names);
        for (int i = 0; i < 200; i++) {
            assertThat(large.contains("H-" + i)).as("h-%d", i).isTrue();
        }
        for (int i = 200; i < 400; i++) {
            assertThat(large.contains("h-" + i)).as("h-%d", i).isFalse();
        }
    }

    @Test
    void removesEveryHeaderInTheSetAndKeepsTheOthersInOrder() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Host", "a.test")
                .add("Keep-Alive", "timeout=5")
                .add("X-Forwarded-For", "1.2.3.4")
                .add("Accept", "*/*")
                .add("x-forwarded-for", "5.6.7.8")
                .add("X-FORWARDED-PROTO", "https")
                .add("Forwarded", "for=1.2.3.4")
                .add("Cookie", "a=1");
        SET.removeFrom(headers);
        List<String> left = new ArrayList<>();
        for (Map.Entry<String, String> header : headers) {
            left.add(header.getKey() + ": " + header.getValue());
        }
        assertThat(left).containsExactly("Host: a.test", "Accept: */*", "Cookie: a=1");
    }

    @Test
    void headersWithoutAnyNameOfTheSetStayAsTheyAre() {
        HttpHeaders headers = new DefaultHttpHeaders().add("Host", "a.test").add("Accept", "*/*");
        SET.removeFrom(headers);
        assertThat(headers.names()).containsExactly("Host", "Accept");
    }

    @Test
    void removesTheNamesOfEitherOfTwoSetsInOnePass() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Host", "a.test")
                .add("X-Forwarded-For", "1.2.3.4")
                .add("TE", "trailers")
                .add("Accept", "*/*")
                .add("te", "gzip")
                .add("Keep-Alive", "timeout=5");
        SET.removeFrom(headers, HeaderNameSet.of(List.of("te")));
        assertThat(headers.names()).containsExactly("Host", "Accept");

        HttpHeaders one = new DefaultHttpHeaders().add("Host", "a.test").add("TE", "trailers");
        SET.removeFrom(one, HeaderNameSet.of(List.of("te")));
        assertThat(one.names()).containsExactly("Host");
    }
}
