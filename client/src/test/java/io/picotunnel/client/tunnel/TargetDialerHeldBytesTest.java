package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.client.tunnel.TargetDialerBehindYamux.frame;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a stream sends while the client dials its target is held ({@link TargetDialer}'s hold) and counts toward the
 * client session's buffer limit; when the target refuses or does not answer and the stream is reset, none of it may
 * stay counted, or the session's total drifts up until every stream is reset. The client's real stream handlers
 * behind a yamux session in the client role, a raw socket playing the server.
 */
class TargetDialerHeldBytesTest {

    private static final int PAYLOAD = 100 * 1024;
    private static final int STREAMS_EACH = 4;

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("held");

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    @Test
    void bytesHeldWhileDiallingTargetsThatRefuseOrDoNotAnswerAreNoLongerCountedOnceTheirStreamsAreReset()
            throws Exception {
        try (SilentListener silent = new SilentListener(); Socket server = new Socket()) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(3));
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            Set<Integer> opened = new HashSet<>();
            for (int i = 0; i < 2 * STREAMS_EACH; i++) {
                int id = 2 + 2 * i;
                String target = i % 2 == 0 ? silent.address() : "127.0.0.1:" + Ports.freePort();
                open(out, id, target);
                opened.add(id);
            }
            YamuxSession session = client.session();

            // The targets that do not answer are still being dialled: what their streams sent is held, and counted.
            await().atMost(Duration.ofSeconds(20)).until(() -> held(session) >= (long) STREAMS_EACH * PAYLOAD);

            awaitFrames(new DataInputStream(server.getInputStream()), opened, FLAG_RST);
            await().atMost(Duration.ofSeconds(5)).until(() -> session.activeStreams() == 0);
            // Hold's own release (when its handler leaves the closed stream) runs after the reset: let it.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(held(session)).as("bytes the client's session counts as held").isZero());
        }
    }

    @Test
    void bytesHeldWhileDiallingATargetThatAnswersArePassedOnAndNoLongerCounted() throws Exception {
        try (EchoServer echo = new EchoServer(); Socket server = new Socket()) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(3));
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            Set<Integer> opened = new HashSet<>();
            for (int i = 0; i < STREAMS_EACH; i++) {
                int id = 2 + 2 * i;
                open(out, id, "127.0.0.1:" + echo.port());
                out.write(frame(TYPE_WINDOW_UPDATE, FLAG_FIN, id, 0));
                opened.add(id);
            }
            out.flush();
            YamuxSession session = client.session();

            // Echoed whole, then the target's end passed on as FIN: every byte went through the hold to the target.
            long echoed = awaitFrames(new DataInputStream(server.getInputStream()), opened, FLAG_FIN);
            assertThat(echoed).isEqualTo((long) STREAMS_EACH * PAYLOAD);
            await().atMost(Duration.ofSeconds(5)).until(() -> session.activeStreams() == 0);
            assertThat(held(session)).as("bytes the client's session counts as held").isZero();
        }
    }

    private static long held(YamuxSession session) throws Exception {
        return session.parent().eventLoop().submit(session::inboundHeld).get(5, TimeUnit.SECONDS);
    }

    /** As the server does, the first bytes for the target in the same Data frame as the stream header. */
    private static void open(OutputStream out, int id, String target) throws IOException {
        TargetDialerBehindYamux.open(out, id, target, PAYLOAD);
    }

    /**
     * Reads frames (skipping pings, ACKs and payloads) until every stream in {@code streams} sent a frame with
     * {@code flag}; answers the bytes of Data frames on them.
     */
    private static long awaitFrames(DataInputStream in, Set<Integer> streams, int flag) throws IOException {
        Set<Integer> waiting = new HashSet<>(streams);
        long data = 0;
        for (int i = 0; i < 10_000 && !waiting.isEmpty(); i++) {
            TargetDialerBehindYamux.Frame frame = TargetDialerBehindYamux.readFrame(in);
            if (streams.contains(frame.streamId())) {
                data += frame.payload().length;
            }
            assertThat(flag == FLAG_FIN && (frame.flags() & FLAG_RST) != 0)
                    .as("RST for stream %d", frame.streamId()).isFalse();
            if ((frame.flags() & flag) != 0) {
                waiting.remove(frame.streamId());
            }
        }
        assertThat(waiting).as("streams without that frame").isEmpty();
        return data;
    }
}
