package io.picotunnel.server;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.HostPort;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.BindException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sentence for a listener that may not bind a port (below 1024: the capability; above: a security policy), with
 * either transport. The tests run as root on CI, where such a bind succeeds, so they hand cannotBind what each
 * transport throws: epoll's errno 13 (EACCES) and the JDK's "Permission denied".
 */
class StartupExceptionTest {

    private static final String LOW_PORT_ADVICE = "ports below 1024 need root or CAP_NET_BIND_SERVICE (under systemd:"
            + " AmbientCapabilities=CAP_NET_BIND_SERVICE), or choose another port with ";

    @Test
    void aLowPortEpollMayNotBindIsASentenceNamingTheCapability() {
        Errors.NativeIoException denied = epollBindFailure(13);
        IOException failure = new IOException("cannot listen for HTTPS on /0.0.0.0:443: " + denied.getMessage(), denied);

        StartupException startup = StartupException.cannotBind(Setting.HTTPS_ADDR,
                HostPort.parse(":443", HostPort.Rules.SERVER_LISTEN), failure);

        assertThat(startup.getMessage()).startsWith("Not allowed to listen on port 443 (--https-addr ")
                .contains(LOW_PORT_ADVICE + "--https-addr or PICOTUNNEL_HTTPS_ADDR.")
                .doesNotContain("error(-13)");
    }

    @Test
    void aLowPortTheJdkMayNotBindIsTheSameSentence() {
        StartupException startup = StartupException.cannotBind(Setting.HTTP_ADDR,
                HostPort.parse(":80", HostPort.Rules.SERVER_LISTEN), new BindException("Permission denied"));

        assertThat(startup.getMessage()).startsWith("Not allowed to listen on port 80 (--http-addr ")
                .contains(LOW_PORT_ADVICE + "--http-addr or PICOTUNNEL_HTTP_ADDR.");
    }

    @Test
    void aHighPortEpollMayNotBindNamesASecurityPolicy() {
        StartupException startup = StartupException.cannotBind(Setting.HTTP_ADDR,
                HostPort.parse(":8080", HostPort.Rules.SERVER_LISTEN), epollBindFailure(13));

        assertThat(startup.getMessage()).startsWith("Not allowed to listen on port 8080 (--http-addr ")
                .endsWith("); a security policy such as SELinux may forbid it: allow the port, or choose another port"
                        + " with --http-addr or PICOTUNNEL_HTTP_ADDR.");
    }

    @Test
    void aHighPortTheJdkMayNotBindIsTheSameSentence() {
        StartupException startup = StartupException.cannotBind(Setting.HTTP_ADDR,
                HostPort.parse(":8080", HostPort.Rules.SERVER_LISTEN), new BindException("Permission denied"));

        assertThat(startup.getMessage()).startsWith("Not allowed to listen on port 8080 (--http-addr ")
                .contains("a security policy such as SELinux may forbid it");
    }

    @Test
    void anotherErrnoIsNotTakenForAMissingPermission() {
        StartupException startup = StartupException.cannotBind(Setting.HTTP_ADDR,
                HostPort.parse(":80", HostPort.Rules.SERVER_LISTEN),
                epollBindFailure(99));

        assertThat(startup.getMessage()).startsWith("Cannot listen on ").contains("Cannot assign requested address");
    }

    /** What epoll's bind throws for {@code errno}, message included; its text comes from the native library. */
    private static Errors.NativeIoException epollBindFailure(int errno) {
        assumeTrue(Epoll.isAvailable(), "epoll, Linux only");
        return Errors.newIOException("bind", -errno);
    }
}
