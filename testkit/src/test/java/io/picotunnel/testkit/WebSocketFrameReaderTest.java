package io.picotunnel.testkit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The frame reader over a real loopback connection, against frames written byte by byte as RFC 6455 lays them out. */
class WebSocketFrameReaderTest {

    private ServerSocket listener;
    private Socket writer;
    private Socket reading;

    @BeforeEach
    void connect() throws IOException {
        listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        writer = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        reading = listener.accept();
    }

    @AfterEach
    void close() throws IOException {
        writer.close();
        reading.close();
        listener.close();
    }

    private static byte[] frame(int first, boolean masked, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(first);
        int m = masked ? 0x80 : 0;
        if (payload.length < 126) {
            out.write(m | payload.length);
        } else if (payload.length < 65536) {
            out.write(m | 126);
            out.write(payload.length >> 8);
            out.write(payload.length);
        } else {
            out.write(m | 127);
            for (int i = 7; i >= 0; i--) {
                out.write((int) ((long) payload.length >> (8 * i)));
            }
        }
        byte[] mask = {0x11, 0x22, 0x33, 0x44};
        if (masked) {
            out.writeBytes(mask);
        }
        for (int i = 0; i < payload.length; i++) {
            out.write(masked ? payload[i] ^ mask[i & 3] : payload[i]);
        }
        return out.toByteArray();
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7);
        }
        return b;
    }

    @Test
    void readsMaskedAndUnmaskedFramesOfEveryLengthEncoding() throws IOException {
        byte[] small = bytes(5);
        byte[] medium = bytes(300);
        byte[] large = bytes(70_000);
        writer.getOutputStream().write(frame(0x82, true, small));
        writer.getOutputStream().write(frame(0x02, false, medium));
        writer.getOutputStream().write(frame(0x80, true, large));
        writer.getOutputStream().write(frame(0x89, false, new byte[0]));
        WebSocketFrameReader frames = new WebSocketFrameReader(reading, 1 << 20, Duration.ofSeconds(10));

        WebSocketFrameReader.Frame first = frames.next();
        assertThat(first.fin()).isTrue();
        assertThat(first.opcode()).isEqualTo(WebSocketFrameReader.BINARY);
        assertThat(first.masked()).isTrue();
        assertThat(first.payload()).isEqualTo(small);
        WebSocketFrameReader.Frame second = frames.next();
        assertThat(second.fin()).isFalse();
        assertThat(second.masked()).isFalse();
        assertThat(second.payload()).isEqualTo(medium);
        WebSocketFrameReader.Frame third = frames.next();
        assertThat(third.opcode()).isEqualTo(WebSocketFrameReader.CONTINUATION);
        assertThat(third.payload()).isEqualTo(large);
        assertThat(frames.next().opcode()).isEqualTo(WebSocketFrameReader.PING);
        assertThat(frames.bytesRead()).isEqualTo((2 + 4 + 5) + (4 + 300) + (10 + 4 + 70_000) + 2);
    }

    @Test
    void aFrameOverTheLimitFailsBeforeItsPayloadIsRead() throws IOException {
        writer.getOutputStream().write(frame(0x82, false, bytes(2000)));
        WebSocketFrameReader frames = new WebSocketFrameReader(reading, 1024, Duration.ofSeconds(10));

        assertThatThrownBy(frames::next).isInstanceOf(IOException.class)
                .hasMessage("WebSocket frame of 2000 bytes, over the limit of 1024");
    }

    @Test
    void aLengthWithTheTopBitSetIsOverTheLimitNotNegative() throws IOException {
        byte[] header = {(byte) 0x82, 127, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0};
        writer.getOutputStream().write(header);
        WebSocketFrameReader frames = new WebSocketFrameReader(reading, 1024, Duration.ofSeconds(10));

        assertThatThrownBy(frames::next).isInstanceOf(IOException.class)
                .hasMessage("WebSocket frame of 9223372036854775808 bytes, over the limit of 1024");
    }

    @Test
    void nothingWithinTheTimeoutFailsTheRead() throws IOException {
        WebSocketFrameReader frames = new WebSocketFrameReader(reading, 1024, Duration.ofMillis(200));

        long start = System.nanoTime();
        assertThatThrownBy(frames::next).isInstanceOf(SocketTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void theEndOfTheStreamIsAnEofException() throws IOException {
        writer.getOutputStream().write(frame(0x82, false, bytes(3)));
        writer.shutdownOutput();
        WebSocketFrameReader frames = new WebSocketFrameReader(reading, 1024, Duration.ofSeconds(10));

        assertThat(frames.next().payload()).isEqualTo(bytes(3));
        assertThatThrownBy(frames::next).isInstanceOf(EOFException.class);
    }
}
