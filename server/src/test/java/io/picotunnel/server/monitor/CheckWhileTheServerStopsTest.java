package io.picotunnel.server.monitor;

import io.picotunnel.server.tunnel.StoppingServerGoAway;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A check whose stream is refused because the stopping server sent its GoAway to the client after the client was
 * chosen says that the server is stopping, not that the client was lost: the client is still connected.
 */
class CheckWhileTheServerStopsTest {

    @Test
    void aCheckWhoseClientGotTheStoppingServersGoAwayAfterItWasChosenSaysTheServerIsStopping() throws Exception {
        try (SilentClient client = new SilentClient("stopping-server")) {
            // The server's GoAway, as its drain sends it, goes out before the stream's open runs.
            CompletableFuture<Check> check = client.checkWhileTheLoopIsHeld(() -> {
                client.registry.serverStopping();
                StoppingServerGoAway.send(client.session);
            });

            assertThat(check.get(10, TimeUnit.SECONDS).error()).isEqualTo("could not open a stream to the client: "
                    + "the server is stopping: it sent GoAway to the client of tunnel t1 chosen for the stream before"
                    + " the stream opened, and takes no new streams");
        }
    }
}
