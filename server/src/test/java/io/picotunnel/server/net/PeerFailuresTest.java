package io.picotunnel.server.net;

import io.netty.channel.ChannelException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.AccessDeniedException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PeerFailuresTest {

    @Test
    void resetsAndTlsErrorsComeFromThePeer() {
        assertThat(PeerFailures.fromPeer(new SocketException("Connection reset"))).isTrue();
        assertThat(PeerFailures.fromPeer(new IOException("Broken pipe"))).isTrue();
        assertThat(PeerFailures.fromPeer(new SSLHandshakeException("no cipher suites in common"))).isTrue();
        assertThat(PeerFailures.fromPeer(new DecoderException(new SSLHandshakeException("bad record")))).isTrue();
        assertThat(PeerFailures.fromPeer(new NotSslRecordException("not an SSL/TLS record"))).isTrue();
        assertThat(PeerFailures.fromPeer(new ClosedChannelException())).isTrue();
        assertThat(PeerFailures.fromPeer(new IOException("Connection reset by peer"))).isTrue();
    }

    /** Epoll's reset ("recvAddress(..) failed: Connection reset by peer"), where epoll is there to make one. */
    @Test
    void aResetFromEpollComesFromThePeer() {
        assumeTrue(Epoll.isAvailable(), "epoll, whose native library its errors need");
        assertThat(PeerFailures.fromPeer(new Errors.NativeIoException("recvAddress(..) failed", -104))).isTrue();
        assertThat(PeerFailures.fromPeer(new ChannelException(new Errors.NativeIoException("writev(..) failed", -32))))
                .isTrue();
    }

    @Test
    void anIoErrorWrappedUncheckedComesFromThePeer() {
        assertThat(PeerFailures.fromPeer(new UncheckedIOException(new SocketException("Connection reset")))).isTrue();
        assertThat(PeerFailures.fromPeer(new ChannelException(new SocketException("Broken pipe")))).isTrue();
        assertThat(PeerFailures.fromPeer(new DecoderException(new UncheckedIOException(new IOException("Broken pipe")))))
                .isTrue();
    }

    @Test
    void ourOwnErrorsDoNot() {
        assertThat(PeerFailures.fromPeer(new IllegalStateException("duplicate handler name"))).isFalse();
        assertThat(PeerFailures.fromPeer(new NullPointerException())).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException(new IllegalArgumentException("bug")))).isFalse();
        assertThat(PeerFailures.fromPeer(new DecoderException("no cause"))).isFalse();
    }

    /** An I/O error is the socket's only when it says so: our store's or a file's, wrapped or not, is ours. */
    @Test
    void ourOwnIoErrorsDoNot() {
        assertThat(PeerFailures.fromPeer(new IOException("database disk image is malformed"))).isFalse();
        assertThat(PeerFailures.fromPeer(new UncheckedIOException(new AccessDeniedException("/data/store.db"))))
                .isFalse();
        assertThat(PeerFailures.fromPeer(new ChannelException(new IOException("setOption failed")))).isFalse();
        assertThat(PeerFailures.fromPeer(new IllegalStateException(new SocketException("Connection reset"))))
                .as("only in what Netty and we wrap them in").isFalse();
    }

    @Test
    void anIoErrorBeyondTheBoundedDepthDoesNot() {
        Throwable deep = new SocketException("Connection reset");
        for (int i = 0; i < 20; i++) {
            deep = new DecoderException("layer " + i, deep);
        }
        assertThat(PeerFailures.fromPeer(deep)).isFalse();
    }
}
