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
