package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The reads that LazyTrailers hands to its headers answer as Netty's own trailers do, before and after a write. */
class LazyTrailersTest {

    private static final AsciiString CHECKSUM = AsciiString.cached("x-checksum");

    private static HttpHeaders written(HttpHeaders trailers) {
        return trailers.add("X-Checksum", "4711").add("x-checksum", "a, B").add("X-Other", "1");
    }

    @Test
    void readsOfWrittenTrailersAnswerAsNettysTrailers() {
        HttpHeaders lazy = written(LazyTrailers.FACTORY.newHeaders());
        HttpHeaders netty = written(DefaultHttpHeadersFactory.trailersFactory().newHeaders());

        assertThat(lazy.get(CHECKSUM)).isEqualTo(netty.get(CHECKSUM)).isEqualTo("4711");
        assertThat(lazy.getAll(CHECKSUM)).isEqualTo(netty.getAll(CHECKSUM)).containsExactlyInAnyOrder("4711", "a, B");
        assertThat(values(lazy.valueStringIterator(CHECKSUM))).isEqualTo(values(netty.valueStringIterator(CHECKSUM)))
                .containsExactlyInAnyOrder("4711", "a, B");
        assertThat(values(lazy.valueCharSequenceIterator(CHECKSUM)))
                .isEqualTo(values(netty.valueCharSequenceIterator(CHECKSUM))).containsExactlyInAnyOrder("4711", "a, B");
        assertThat(lazy.contains(CHECKSUM)).isTrue();
        assertThat(lazy.contains("X-CHECKSUM", "A, b", true)).isEqualTo(netty.contains("X-CHECKSUM", "A, b", true))
                .isTrue();
        assertThat(lazy.contains("x-checksum", "A, b", false)).isEqualTo(netty.contains("x-checksum", "A, b", false))
                .isFalse();
        assertThat(lazy.contains(CHECKSUM, "4711", false)).isTrue();
        assertThat(lazy.containsValue(CHECKSUM, "b", true)).isEqualTo(netty.containsValue(CHECKSUM, "b", true))
                .isTrue();
        assertThat(lazy.containsValue(CHECKSUM, "b", false)).isEqualTo(netty.containsValue(CHECKSUM, "b", false))
                .isFalse();
    }

    @Test
    void everyReadAnswersAsNettysTrailersForNamesPresentOrNotAndEachCaseOfValues() {
        HttpHeaders lazy = written(LazyTrailers.FACTORY.newHeaders()).add("X-Other", "1");
        HttpHeaders netty = written(DefaultHttpHeadersFactory.trailersFactory().newHeaders()).add("X-Other", "1");

        List<String> answers = answers(netty);
        assertThat(answers(lazy)).isEqualTo(answers);
        // Not vacuous: the probes get both answers from the matches that differ in case and comma-splitting.
        assertThat(answers).contains("contains(cs x-checksum, A, b, true)=true",
                "contains(cs x-checksum, A, b, false)=false", "contains(cs x-checksum, b, true)=false",
                "containsValue(x-checksum, b, true)=true", "contains(cs x-absent)=false", "getAll(cs X-Other)=[1, 1]");
    }

    /** Every CharSequence and String read of {@code trailers}, for names and values present or not. */
    private static List<String> answers(HttpHeaders trailers) {
        List<String> answers = new ArrayList<>();
        for (String name : List.of("x-checksum", "X-CHECKSUM", "X-Other", "x-absent")) {
            CharSequence cs = AsciiString.of(name);
            answers.add("get(cs " + name + ")=" + trailers.get(cs));
            answers.add("get(" + name + ")=" + trailers.get(name));
            answers.add("getAll(cs " + name + ")=" + trailers.getAll(cs));
            answers.add("valueStringIterator(" + name + ")=" + values(trailers.valueStringIterator(cs)));
            answers.add("valueCharSequenceIterator(" + name + ")=" + values(trailers.valueCharSequenceIterator(cs)));
            answers.add("contains(cs " + name + ")=" + trailers.contains(cs));
            answers.add("contains(" + name + ")=" + trailers.contains(name));
            for (String value : List.of("4711", "a, B", "A, b", "b", "1", "nope")) {
                for (boolean ignoreCase : new boolean[] {true, false}) {
                    String probe = name + ", " + value + ", " + ignoreCase + ")=";
                    answers.add("contains(cs " + probe + trailers.contains(cs, AsciiString.of(value), ignoreCase));
                    answers.add("contains(" + probe + trailers.contains(name, value, ignoreCase));
                    answers.add("containsValue(" + probe + trailers.containsValue(cs, value, ignoreCase));
                }
            }
        }
        return answers;
    }

    @Test
    void aCopyOfTrailersNeverWrittenIsLazyTooAndItsWritesAreItsOwnAndValidated() {
        HttpHeaders original = LazyTrailers.FACTORY.newHeaders();
        HttpHeaders copy = original.copy();

        assertThat(copy).isInstanceOf(LazyTrailers.class).isEmpty();
        copy.add("X-Checksum", "4711");
        assertThat(copy.get(CHECKSUM)).isEqualTo("4711");
        assertThat(original.isEmpty()).isTrue();
        assertThatThrownBy(() -> copy.add("Bad Name", "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readsOfTrailersNeverWrittenAnswerAsEmptyHeaders() {
        HttpHeaders lazy = LazyTrailers.FACTORY.newHeaders();

        assertThat(lazy.get(CHECKSUM)).isNull();
        assertThat(lazy.getAll(CHECKSUM)).isEmpty();
        assertThat(lazy.valueStringIterator(CHECKSUM)).isExhausted();
        assertThat(lazy.valueCharSequenceIterator(CHECKSUM)).isExhausted();
        assertThat(lazy.contains(CHECKSUM)).isFalse();
        assertThat(lazy.contains("x-checksum", "4711", true)).isFalse();
        assertThat(lazy.containsValue(CHECKSUM, "4711", true)).isFalse();
        assertThat(lazy.isEmpty()).isTrue();
    }

    @Test
    void writesAreValidatedAsNettysTrailersAre() {
        assertThatThrownBy(() -> LazyTrailers.FACTORY.newHeaders().add("Bad Name", "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> values(Iterator<? extends CharSequence> iterator) {
        List<String> values = new ArrayList<>();
        iterator.forEachRemaining(v -> values.add(v.toString()));
        return values;
    }
}
