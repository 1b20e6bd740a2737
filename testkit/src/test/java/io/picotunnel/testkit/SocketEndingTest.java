package io.picotunnel.testkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class SocketEndingTest {

    @Test
    void aPeerThatKeepsSendingIsReadForTheBoundOnlyAndSaidToBeStillOpen() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket reader = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
             Socket sender = listener.accept()) {
            reader.setSoTimeout(10_000);
            Thread.ofVirtual().start(() -> sendUntilClosed(sender));

            SocketEnding end = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> SocketEnding.readToEndOrReset(reader.getInputStream(), Duration.ofMillis(300)));

            assertThat(end.how()).isEqualTo("still open after 300 ms");
            assertThat(end.bytes()).isPositive();
        }
    }

    @Test
    void anInputThatEndsIsReadWholeAndResetsAreToldWithTheBytesBefore() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 2, InetAddress.getLoopbackAddress());
             Socket ended = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
             Socket reset = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
            ended.setSoTimeout(10_000);
            reset.setSoTimeout(10_000);
            try (Socket peer = listener.accept()) {
                peer.getOutputStream().write(new byte[100_000]);
            }
            try (Socket peer = listener.accept()) {
                peer.getOutputStream().write(new byte[10]);
                assertThat(reset.getInputStream().readNBytes(10)).hasSize(10);
                peer.setSoLinger(true, 0);
            }

            assertThat(SocketEnding.readToEndOrReset(ended.getInputStream())).isEqualTo(new SocketEnding(100_000, "eof"));
            assertThat(SocketEnding.readToEndOrReset(reset.getInputStream()))
                    .isEqualTo(new SocketEnding(0, "reset: Connection reset"));
        }
    }

    /** Writes 16 KiB at a time until the socket is closed (a write blocked meanwhile fails then), for 60 s at most. */
    private static void sendUntilClosed(Socket sender) {
        byte[] piece = new byte[16 * 1024];
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try {
            OutputStream out = sender.getOutputStream();
            for (int i = 0; i < 10_000_000 && System.nanoTime() - until < 0; i++) {
                out.write(piece);
            }
        } catch (IOException e) {
            // the test closed the sockets
        }
    }
}
