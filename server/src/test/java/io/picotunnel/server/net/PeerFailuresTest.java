package io.picotunnel.server.net;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.SocketException;

import static org.assertj.core.api.Assertions.assertThat;

class PeerFailuresTest {

    @Test
    void resetsAndTlsErrorsComeFromThePeer() {
        assertThat(PeerFailures.fromPeer(new SocketException("Connection reset"))).isTrue();
        assertThat(PeerFailures.fromPeer(new IOException("Broken pipe"))).isTrue();
        assertThat(PeerFailures.fromPeer(new SSLHandshakeException("no cipher suites in common"))).isTrue();
        assertThat(PeerFailures.fromPeer(new DecoderException(new SSLHandshakeException("bad record")))).isTrue();
        assertThat(PeerFailures.fromPeer(new NotSslRecordException("not an SSL/TLS record"))).isTrue();
    }

    @Test
    void ourOwnErrorsDoNot() {
        assertThat(PeerFailures.fromPeer(new IllegalStateException("duplicate handler name"))).isFalse();
        assertThat(PeerFailures.fromPeer(new NullPointerException())).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException(new IllegalArgumentException("bug")))).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException("no cause"))).isFalse();
    }
}
