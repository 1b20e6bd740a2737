package io.picotunnel.server.tls;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the HTTPS listener says when it cannot bind its address. */
class HttpsBindFailureTest {

    @Test
    void aPortInUseSaysSoAndNotThatItMayBeUnavailable() throws Exception {
        EventLoopGroup group = Transport.newEventLoopGroup(1, "https-bind-test");
        try (ServerSocket holder = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            InetSocketAddress taken = (InetSocketAddress) holder.getLocalSocketAddress();
            HttpsListener listener = new HttpsListener(taken, group, null, null, (ctx, route) -> ctx.close());

            assertThatThrownBy(listener::start).isInstanceOf(IOException.class)
                    .hasMessage("cannot listen for HTTPS on " + taken + ": port " + taken.getPort()
                            + " is already in use by another program");
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }
}
