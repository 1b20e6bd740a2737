package io.picotunnel.server.proxy.http;

import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.HttpHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bodies streamed through the whole path (proxy, tunnel, client, target): large uploads and downloads, chunked,
 * Expect: 100-continue, SSE. Runs in a JVM of its own with a 96 MiB heap (see the server pom), so 256 MiB
 * each way only pass if nothing on the way buffers a whole body.
 */
class StreamingThroughProxyTest {

    private static final long SIZE = 256L * 1024 * 1024;

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private TargetServer target;

    @BeforeEach
    void start() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of(Setting.PROXY_TIMEOUT, "30s"));
        target = new TargetServer("big");
        tunnel.addService("big.test", "/", target.address(), false);
    }

    @AfterEach
    void stop() {
        tunnel.close();
        target.close();
    }

    @Test
    void largeChunkedUploadArrivesByteExact() throws Exception {
        uploadArrivesByteExact("/upload");
    }

    /**
     * The target stops reading for 100 ms after each 16 MiB: the proxy must stop reading the visitor meanwhile. It
     * went on reading and queued the body for the stream, and ran out of direct memory within the first pause.
     */
    @Test
    void largeChunkedUploadToATargetThatPausesArrivesByteExact() throws Exception {
        uploadArrivesByteExact("/upload?pause=" + (16 * 1024 * 1024));
    }

    private void uploadArrivesByteExact(String path) throws Exception {
        MessageDigest sent = TargetServer.sha256();
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("POST " + path + " HTTP/1.1\r\nHost: big.test\r\nTransfer-Encoding: chunked\r\n"
                    + "Expect: 100-continue\r\n\r\n");
            assertThat(http.read().status()).isEqualTo(100);
            OutputStream out = http.out();
            byte[] chunk = new byte[256 * 1024];
            for (long offset = 0; offset < SIZE; offset += chunk.length) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = TargetServer.patternByte(offset + i);
                }
                sent.update(chunk);
                out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(chunk);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();

            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.text()).isEqualTo("bytes=" + SIZE + " sha256=" + HexFormat.of().formatHex(sent.digest()));
        }
    }

    @Test
    void largeDownloadArrivesByteExact() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /download?" + SIZE + " HTTP/1.1\r\nHost: big.test\r\n\r\n");
            String status = http.line();
            assertThat(status).startsWith("HTTP/1.1 200");
            String header;
            long length = -1;
            while (!(header = http.line()).isEmpty()) {
                if (header.toLowerCase().startsWith("content-length:")) {
                    length = Long.parseLong(header.substring(15).trim());
                }
            }
            assertThat(length).isEqualTo(SIZE);
            InputStream in = http.in();
            byte[] buffer = new byte[256 * 1024];
            long received = 0;
            long mismatches = 0;
            while (received < SIZE) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, SIZE - received));
                if (n < 0) {
                    break;
                }
                for (int i = 0; i < n; i++) {
                    if (buffer[i] != TargetServer.patternByte(received + i)) {
                        mismatches++;
                    }
                }
                received += n;
            }
            assertThat(received).isEqualTo(SIZE);
            assertThat(mismatches).isZero();
        }
    }

    @Test
    void serverSentEventsArriveOneByOne() throws Exception {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            http.send("GET /sse HTTP/1.1\r\nHost: big.test\r\nAccept: text/event-stream\r\n\r\n");
            // The JDK target sends its headers with the first event.
            target.sseEvents.add("event 1");
            assertThat(HttpHead.read(http.in())).startsWith("HTTP/1.1 200");
            for (int i = 1; i <= 3; i++) {
                // The next event is written only after this one has been seen at the client.
                assertThat(readChunkData(http)).isEqualTo("data: event " + i + "\n\n");
                if (i < 3) {
                    target.sseEvents.add("event " + (i + 1));
                }
            }
            target.sseEvents.add("END");
        }
    }

    /** One chunk of a chunked body (the JDK target flushes each event as one chunk). */
    private static String readChunkData(RawHttp http) throws IOException {
        int size = Integer.parseInt(http.line().trim(), 16);
        byte[] data = http.in().readNBytes(size);
        http.line();
        return new String(data, StandardCharsets.UTF_8);
    }
}
