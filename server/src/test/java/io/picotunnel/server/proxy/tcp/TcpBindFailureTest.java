package io.picotunnel.server.proxy.tcp;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import org.junit.jupiter.api.Test;

import java.net.BindException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the API's 409 says after "cannot listen on ADDRESS: " when a tcp service's port may not be bound. The tests
 * run as root on CI, where a bind below 1024 succeeds, so they hand the listener what each transport throws: epoll's
 * errno 13 (EACCES) and the JDK's "Permission denied".
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
    void aPortInUseKeepsItsOwnFailure() {
        Errors.NativeIoException inUse = epollBindFailure(98);

        assertThat(TcpListener.bindFailure(80, inUse)).isSameAs(inUse);
    }

    /** What epoll's bind throws for {@code errno}, message included; its text comes from the native library. */
    private static Errors.NativeIoException epollBindFailure(int errno) {
        assumeTrue(Epoll.isAvailable(), "epoll, Linux only");
        return Errors.newIOException("bind", -errno);
    }
}
