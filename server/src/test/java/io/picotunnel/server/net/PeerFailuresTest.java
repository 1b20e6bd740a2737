package io.picotunnel.server.net;

import io.netty.channel.ChannelException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.io.UncheckedIOException;
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
    void anIoErrorWrappedUncheckedComesFromThePeer() {
        assertThat(PeerFailures.fromPeer(new UncheckedIOException(new SocketException("Connection reset")))).isTrue();
        assertThat(PeerFailures.fromPeer(new ChannelException(new SocketException("Broken pipe")))).isTrue();
        assertThat(PeerFailures.fromPeer(new DecoderException(new UncheckedIOException(new IOException("reset")))))
                .isTrue();
    }

    @Test
    void ourOwnErrorsDoNot() {
        assertThat(PeerFailures.fromPeer(new IllegalStateException("duplicate handler name"))).isFalse();
        assertThat(PeerFailures.fromPeer(new NullPointerException())).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException(new IllegalArgumentException("bug")))).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException("no cause"))).isFalse();
    }

    @Test
    void anIoErrorBeyondTheBoundedDepthDoesNot() {
        Throwable deep = new SocketException("Connection reset");
        for (int i = 0; i < 20; i++) {
            deep = new IllegalStateException("layer " + i, deep);
        }
        assertThat(PeerFailures.fromPeer(deep)).isFalse();
    }
}
