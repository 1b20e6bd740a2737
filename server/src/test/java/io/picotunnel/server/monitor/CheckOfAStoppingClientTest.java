package io.picotunnel.server.monitor;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A check whose stream is refused by the session because the client's GoAway came after the client was chosen
 * says that the client is stopping and no other client could take the stream, not the yamux session's own
 * "going away (GoAway received)", which tells a reader nothing of what happened to the stream.
 */
class CheckOfAStoppingClientTest {

    /** GoAway(normal): version 0, type 3, no flags, stream 0, code 0. */
    private static final byte[] GO_AWAY = {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    @Test
    void aClientWhoseGoAwayCameAfterItWasChosenIsNamedStoppingInTheCheck() throws Exception {
        try (SilentClient client = new SilentClient("stopping-client")) {
            // The client's GoAway is read before the stream's open runs.
            Channel parent = client.parent;
            CompletableFuture<Check> check = client.checkWhileTheLoopIsHeld(() -> {
                parent.pipeline().fireChannelRead(Unpooled.wrappedBuffer(GO_AWAY));
                parent.pipeline().fireChannelReadComplete();
            });

            assertThat(check.get(10, TimeUnit.SECONDS).error()).isEqualTo("could not open a stream to the client: "
                    + "the client of tunnel t1 is stopping and no other client could take the stream");
        }
    }
}
