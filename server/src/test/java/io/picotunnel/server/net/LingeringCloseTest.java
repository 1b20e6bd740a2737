package io.picotunnel.server.net;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The lingering close after a last answer, over real sockets. */
class LingeringCloseTest {

    /** Far more than the socket buffers on the way hold while the visitor does not read. */
    private static final int ANSWER = 8 * 1024 * 1024;
    private static final LingeringClose.Bounds SHORT = new LingeringClose.Bounds(Duration.ofMillis(200),
            Duration.ofMillis(500), 1024 * 1024);

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "lingering-close-test");

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aLongLastAnswerThatTheVisitorTakesInSlowlyIsNotCutByTheLingerBounds() throws Exception {
        try (LoopbackVisitor visitor = LoopbackVisitor.connect(group, channel ->
                LingeringClose.after(channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER])), SHORT))) {
            Channel answering = visitor.answering();

            // The visitor reads nothing for several times the bounds: the answer is still being written.
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10)).until(answering::isActive);

            InputStream in = visitor.in();
            byte[] buffer = new byte[64 * 1024];
            long read = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                read += n;
            }
            assertThat(read).as("bytes of the answer read before its end").isEqualTo(ANSWER);
        }
    }
}
