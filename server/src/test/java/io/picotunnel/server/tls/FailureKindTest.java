package io.picotunnel.server.tls;

import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** What makes two failures of our own one kind for the rate-limited warning, and what does not. */
class FailureKindTest {

    @Test
    void theSameSiteWithAnotherMessageIsTheSameKind() {
        assertThat(FailureKind.of(thrownHere("connection 1"))).isEqualTo(FailureKind.of(thrownHere("connection 2")));
    }

    @Test
    void anotherSiteIsAnotherKind() {
        assertThat(FailureKind.of(thrownHere("x"))).isNotEqualTo(FailureKind.of(new IllegalStateException("x")));
    }

    @Test
    void nettysDecoderExceptionIsTheKindOfItsCause() {
        IllegalStateException cause = thrownHere("bug");
        assertThat(FailureKind.of(new DecoderException(cause))).isEqualTo(FailureKind.of(cause));
    }

    @Test
    void aCauseCycleAndALongChainEndTheSearch() {
        IllegalStateException first = thrownHere("first");
        IllegalStateException second = thrownHere("second");
        first.initCause(second);
        second.initCause(first);
        Throwable chain = thrownHere("innermost");
        for (int i = 0; i < 20; i++) {
            chain = new RuntimeException(chain);
        }
        Throwable deep = chain;
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(5), () -> {
            assertThat(FailureKind.of(first).exception()).isEqualTo(IllegalStateException.class.getName());
            assertThat(FailureKind.of(deep).exception()).as("16 causes in, not the innermost")
                    .isEqualTo(RuntimeException.class.getName());
        });
    }

    @Test
    void aFailureWithoutAStackTraceIsAKindWithoutASite() {
        IllegalStateException bare = new IllegalStateException("bare");
        bare.setStackTrace(new StackTraceElement[0]);
        assertThat(FailureKind.of(bare)).isEqualTo(new FailureKind(IllegalStateException.class.getName(), null));
    }

    private static IllegalStateException thrownHere(String message) {
        return new IllegalStateException(message);
    }
}
