package io.picotunnel.server.proxy.tcp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.net.BindFailures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the API's 409 says after "cannot listen on ADDRESS: " when a tcp service's port may not be bound. The tests
 * run as root on CI, where any bind is permitted, so they hand the listener what each transport throws: epoll's
 * errno 13 (EACCES) and the JDK's "Permission denied". A port in use is real: another socket holds it.
 */
class TcpBindFailureTest {

    @Test
    void aLowPortEpollMayNotBindSaysWhatTheServerNeeds() {
        Errors.NativeIoException denied = epollBindFailure(13);

        assertThat(TcpListener.bindFailure(80, denied).getMessage()).isEqualTo("the server may not listen on port 80:"
                + " ports below 1024 need it to run as root or with CAP_NET_BIND_SERVICE");
    }

    @Test
    void aLowPortTheJdkMayNotBindSaysTheSame() {
        assertThat(TcpListener.bindFailure(22, new BindException("Permission denied")).getMessage())
                .isEqualTo("the server may not listen on port 22: ports below 1024 need it to run as root or with"
                        + " CAP_NET_BIND_SERVICE");
    }

    @Test
    void aHighPortEpollMayNotBindNamesASecurityPolicy() {
        Errors.NativeIoException denied = epollBindFailure(13);

        assertThat(TcpListener.bindFailure(2222, denied).getMessage()).isEqualTo("the server is not allowed to listen"
                + " on port 2222 (a security policy such as SELinux may forbid it)");
    }

    @Test
    void aHighPortTheJdkMayNotBindSaysTheSame() {
        assertThat(TcpListener.bindFailure(2222, new BindException("Permission denied")).getMessage())
                .isEqualTo("the server is not allowed to listen on port 2222 (a security policy such as SELinux may"
                        + " forbid it)");
    }

    @Test
    void aPortInUseIsASentenceWithEitherTransport() throws Exception {
        try (ServerSocket holder = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            InetSocketAddress taken = (InetSocketAddress) holder.getLocalSocketAddress();
            Throwable failure = bindFailureOf(taken);

            IOException refusal = TcpListener.bindFailure(taken.getPort(), failure);

            assertThat(refusal.getMessage())
                    .isEqualTo("port " + taken.getPort() + " is already in use by another program");
            // TcpServices still tells it from other conflicts, for a PortInUseException.
            assertThat(BindFailures.inUse(refusal)).isTrue();
        }
    }

    /** What the transport in use throws binding {@code address}: epoll's errno 98 on Linux. */
    private static Throwable bindFailureOf(InetSocketAddress address) throws InterruptedException {
        EventLoopGroup group = Transport.newEventLoopGroup(1, "bind-failure-test");
        try {
            ChannelFuture bind = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                    .childHandler(new ChannelInboundHandlerAdapter()).bind(address);
            assertThat(bind.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(bind.isSuccess()).isFalse();
            return bind.cause();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /** What epoll's bind throws for {@code errno}, message included; its text comes from the native library. */
    private static Errors.NativeIoException epollBindFailure(int errno) {
        assumeTrue(Epoll.isAvailable(), "epoll, Linux only");
        return Errors.newIOException("bind", -errno);
    }
}
