package io.picotunnel.protocol.net;

import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs in the default test execution and again in the NIO one (protocol/pom.xml, {@code -Dpicotunnel.epoll=false}). */
class TransportTest {

    @Test
    void epollOnLinuxUnlessSwitchedOff() {
        boolean switchedOff = "false".equals(System.getProperty("picotunnel.epoll"));
        boolean linuxX64 = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64");
        boolean expectEpoll = linuxX64 && !switchedOff;
        assertThat(Transport.isEpoll()).isEqualTo(expectEpoll);
        assertThat(Transport.socketChannel()).isEqualTo(expectEpoll ? EpollSocketChannel.class : NioSocketChannel.class);
    }
}
