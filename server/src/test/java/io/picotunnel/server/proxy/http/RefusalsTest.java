package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RefusalsTest {

    @Test
    void aRequestNoClientRefusedHasNothingToTellButAResetsReason() {
        Refusals refusals = new Refusals();

        assertThat(refusals.tell(ResetReason.NONE)).isNull();
        assertThat(refusals.tell(ResetReason.TARGET_REFUSED))
                .isEqualTo("the tunnel's client could not connect to the target: the target refused the connection");
    }

    @Test
    void refusalsAreToldOnceWithTheirCountAndTheLastReason() {
        Refusals refusals = new Refusals();
        refusals.add(session(), ResetReason.REFUSED_GOING_AWAY);
        refusals.add(session(), ResetReason.REFUSED_STREAM_LIMIT);

        assertThat(refusals.tell(ResetReason.NONE)).startsWith("2 clients of the tunnel refused the stream in turn; the"
                + " last refused the stream: it had as many streams open as its --max-streams allows");
        assertThat(refusals.tell(ResetReason.NONE)).as("told once").isNull();
        assertThat(refusals.tell(ResetReason.TARGET_REFUSED)).as("a later reset, on its own")
                .isEqualTo("the tunnel's client could not connect to the target: the target refused the connection");
    }

    @Test
    void aResetAfterRefusalsSaysItsReasonFirst() {
        Refusals refusals = new Refusals();
        refusals.add(session(), ResetReason.REFUSED_STREAM_LIMIT);

        assertThat(refusals.tell(ResetReason.TARGET_REFUSED)).isEqualTo("the tunnel's client could not connect to the"
                + " target: the target refused the connection, after another refused the stream");
        assertThat(refusals.exhausted()).isFalse();
    }

    /** A session of its own (never started): the refusals only tell clients apart. */
    private static YamuxSession session() {
        return new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(), null);
    }
}
