package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.LogWatch;
import io.picotunnel.testkit.StallingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our client under a hashicorp/yamux server (the Go peer's tunnel-server mode) that writes 1 MiB as 16-byte
 * Data frames ({@code -write-chunk 16}) on a stream whose target reads only 2 s after accepting. While the
 * target waits, a window of tiny frames queues up in the client; then the client must relay all of it, in
 * order, without overflowing the stack (issue 8: the delivery used to recurse once per queued frame).
 */
class TunnelClientSmallFramesInteropTest {

    private static final String TOKEN = "6b1e3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b";
    private static final long SIZE = 1024 * 1024;
    /** The target's delay before it reads: part of the scenario (a slow reader), not a wait for a result. */
    private static final Duration TARGET_READ_DELAY = Duration.ofSeconds(2);

    private final LogWatch overflows = LogWatch.forThrowable(StackOverflowError.class);
    private GoPeer server;
    private TunnelClient client;
    private StallingServer target;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).get(30, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.close();
        }
        if (target != null) {
            target.close();
        }
        overflows.close();
    }

    @Test
    void sixteenByteFramesReachATargetThatReadsLateByteExactThenEof() throws Exception {
        target = StallingServer.readingAfter(TARGET_READ_DELAY);
        server = GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN, "-write-chunk", "16");
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.awaitListening()), TOKEN));
        client.start();
        server.awaitLine("CONNECTED");
        assertThat(client.awaitConnected(Duration.ofSeconds(30))).isTrue();

        server.send("OPEN tiny " + SIZE + " " + target.address() + " send");

        try {
            await().atMost(Duration.ofSeconds(60))
                    .failFast("a StackOverflowError was logged", overflows::sawAny)
                    .until(target::reachedEof);
        } catch (Throwable e) {
            throw new AssertionError("the target read no EOF (" + target.receivedBytes() + " of " + SIZE
                    + " bytes); logged StackOverflowErrors: " + overflows.seen() + "\nGo server stderr:\n"
                    + server.stderr(), e);
        }
        GoPeer.StreamResult sent = server.awaitResult("tiny");
        assertThat(sent.end()).as("the Go writer's end (%s)", sent).isEqualTo("eof");
        assertThat(sent.sent()).isEqualTo(SIZE);
        assertThat(target.receivedBytes()).isEqualTo(SIZE);
        assertThat(target.awaitSha256(1)).isEqualTo(sent.shaSent());
        assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
        overflows.assertNone();
    }
}
