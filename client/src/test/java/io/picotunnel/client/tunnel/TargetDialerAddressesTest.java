package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target whose name has several addresses (an A and an AAAA record, as {@code localhost} has): the client dials
 * them in turn until one takes the connection. Names under {@code .dual.test} resolve to 127.0.0.1 then ::1
 * ({@link SlowDnsResolverProvider}).
 */
class TargetDialerAddressesTest {

    private static final int STREAM = 2;

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("addresses");

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    @Test
    void aTargetListeningOnlyOnItsIpv6AddressIsReachedByANameWhoseFirstAddressIsIpv4() throws Exception {
        // As a Node or Vite dev server on "localhost" listens on ::1 alone, while the name resolves to 127.0.0.1 first.
        try (ServerSocket target = new ServerSocket()) {
            target.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            target.setSoTimeout(20_000);
            String name = "app.dual.test:" + target.getLocalPort();
            int port = client.listen(AllowList.parse(name), Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, name, 0);
                try (Socket accepted = target.accept()) {
                    accepted.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                    assertThat(readData(server.getInputStream())).isEqualTo("hello");
                }
            }
        }
    }

    @Test
    void aTargetRefusingOnEveryAddressIsResetAsRefused() throws Exception {
        String name = "app.dual.test:" + Ports.freePort();
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, name, 0);
            DataInputStream in = new DataInputStream(server.getInputStream());
            for (int i = 0; i < 1000; i++) {
                in.readUnsignedByte();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedShort();
                int streamId = in.readInt();
                long length = Integer.toUnsignedLong(in.readInt());
                if (type == TYPE_DATA) {
                    in.skipNBytes(length);
                }
                if (streamId == STREAM && (flags & FLAG_RST) != 0) {
                    assertThat(length).as("the reason: refused").isEqualTo((long) ResetReason.TARGET_REFUSED.code());
                    return;
                }
            }
            throw new AssertionError("no RST for stream " + STREAM + " within 1000 frames");
        }
    }

    /** Reads frames up to the first Data frame with a payload on our stream; fails on its RST. */
    private static String readData(InputStream input) throws Exception {
        DataInputStream in = new DataInputStream(input);
        for (int i = 0; i < 1000; i++) {
            in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedShort();
            int streamId = in.readInt();
            int length = in.readInt();
            assertThat(streamId == STREAM && (flags & FLAG_RST) != 0).as("stream %d reset", STREAM).isFalse();
            if (type == TYPE_DATA) {
                byte[] payload = in.readNBytes(length);
                if (streamId == STREAM && length > 0) {
                    return new String(payload, StandardCharsets.US_ASCII);
                }
            }
        }
        throw new AssertionError("no data for stream " + STREAM + " within 1000 frames");
    }
}
