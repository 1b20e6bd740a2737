package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamStateTest {

    @Test
    void outboundStreamSendsSynOnceThenNothing() {
        StreamState s = StreamState.outbound();
        assertThat(s.takeSendFlags()).isEqualTo(FLAG_SYN);
        assertThat(s.takeSendFlags()).isZero();
        assertThat(s.awaitingAck()).isTrue();
    }

    @Test
    void inboundStreamSendsAckOnceThenNothing() {
        StreamState s = StreamState.inbound();
        assertThat(s.takeSendFlags()).isEqualTo(FLAG_ACK);
        assertThat(s.takeSendFlags()).isZero();
        assertThat(s.awaitingAck()).isFalse();
    }

    @Test
    void ackWithFinIsRecognisedByBitTest() {
        StreamState s = StreamState.outbound();
        s.takeSendFlags();
        StreamState.Transition t = s.onFrame(FLAG_ACK | FLAG_FIN, true, 1);
        assertThat(t.acknowledged()).isTrue();
        assertThat(t.remoteFinished()).isTrue();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.REMOTE_CLOSE);
        assertThat(s.awaitingAck()).isFalse();
    }

    @Test
    void finBothWaysCloses() {
        StreamState s = StreamState.inbound();
        s.onLocalFin();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.LOCAL_CLOSE);
        assertThat(s.inputOpen()).isTrue();
        assertThat(s.outputOpen()).isFalse();
        s.onFrame(FLAG_FIN, false, 2);
        assertThat(s.phase()).isEqualTo(StreamState.Phase.CLOSED);
        assertThat(s.isTerminal()).isTrue();
    }

    @Test
    void secondFinIsProtocolError() {
        StreamState s = StreamState.inbound();
        s.onFrame(FLAG_FIN, false, 2);
        assertThatThrownBy(() -> s.onFrame(FLAG_FIN, false, 2))
                .isInstanceOf(YamuxProtocolException.class).hasMessageContaining("unexpected FIN");
    }

    @Test
    void dataAfterFinIsToldForAResetOfTheStreamNotAProtocolError() {
        StreamState s = StreamState.inbound();
        s.onFrame(FLAG_FIN, true, 2);
        StreamState.Transition t = s.onFrame(0, true, 2);
        assertThat(t.dataAfterFin()).isTrue();
        assertThat(t.remoteFinished()).isFalse();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.REMOTE_CLOSE);
    }

    @Test
    void dataWithASecondFinIsProtocolError() {
        StreamState s = StreamState.inbound();
        s.onFrame(FLAG_FIN, false, 2);
        assertThatThrownBy(() -> s.onFrame(FLAG_FIN, true, 2))
                .isInstanceOf(YamuxProtocolException.class).hasMessageContaining("unexpected FIN");
    }

    @Test
    void synOnExistingStreamIsProtocolError() {
        StreamState s = StreamState.inbound();
        assertThatThrownBy(() -> s.onFrame(FLAG_SYN | FLAG_ACK, false, 2))
                .isInstanceOf(YamuxProtocolException.class).hasMessageContaining("duplicate SYN");
    }

    @Test
    void rstWinsOverOtherFlags() {
        StreamState s = StreamState.outbound();
        s.takeSendFlags();
        StreamState.Transition t = s.onFrame(FLAG_ACK | FLAG_FIN | FLAG_RST, false, 1);
        assertThat(t.reset()).isTrue();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.RESET);
    }

    @Test
    void unexpectedAckIsIgnoredAsHashicorpDoes() {
        StreamState s = StreamState.inbound();
        StreamState.Transition t = s.onFrame(FLAG_ACK, false, 2);
        assertThat(t.acknowledged()).isFalse();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.OPEN);
    }

    @Test
    void ackAfterLocalCloseStillCompletesHandshake() {
        StreamState s = StreamState.outbound();
        s.takeSendFlags();
        s.onLocalFin();
        StreamState.Transition t = s.onFrame(FLAG_ACK, false, 1);
        assertThat(t.acknowledged()).isTrue();
        assertThat(s.phase()).isEqualTo(StreamState.Phase.LOCAL_CLOSE);
    }

    @Test
    void localFinTwiceIsRejected() {
        StreamState s = StreamState.outbound();
        s.onLocalFin();
        assertThatThrownBy(s::onLocalFin).isInstanceOf(IllegalStateException.class);
    }
}
