package io.picotunnel.server.tunnel;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket peer that speaks yamux by hand (JDK WebSocket client, hand-built frames), to see exactly what
 * the tunnel endpoint sends. It never answers anything on its own, not even yamux pings.
 */
final class RawTunnelClient implements WebSocket.Listener, AutoCloseable {

    static final int TYPE_DATA = 0;
    static final int TYPE_WINDOW_UPDATE = 1;
    static final int TYPE_PING = 2;
    static final int TYPE_GO_AWAY = 3;
    static final int FLAG_SYN = 1;
    static final int FLAG_ACK = 2;
    static final int FLAG_RST = 8;

    record Frame(int type, int flags, int streamId, int length) {
    }

    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private final WebSocket webSocket;
    private volatile boolean closed;
    private volatile int closeStatus = -1;
    private volatile boolean holdCloseAnswer;

    private RawTunnelClient(HttpClient http, URI uri) {
        this.webSocket = http.newWebSocketBuilder()
                .subprotocols("tunnel")
                .connectTimeout(Duration.ofSeconds(10))
                .buildAsync(uri, this)
                .orTimeout(10, TimeUnit.SECONDS)
                .join();
    }

    static RawTunnelClient connect(HttpClient http, int port, String token) {
        return new RawTunnelClient(http, URI.create("ws://127.0.0.1:" + port + "/tunnel?token=" + token));
    }

    void send(byte[] bytes) {
        webSocket.sendBinary(ByteBuffer.wrap(bytes), true).orTimeout(10, TimeUnit.SECONDS).join();
    }

    /** Sends without waiting for the outcome: the server may close the connection while the frame is going out. */
    void sendAndForget(byte[] bytes) {
        webSocket.sendBinary(ByteBuffer.wrap(bytes), true);
    }

    static byte[] header(int type, int flags, int streamId, int length) {
        return ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN)
                .put((byte) 0).put((byte) type).putShort((short) flags).putInt(streamId).putInt(length)
                .array();
    }

    /** The yamux frame headers received so far (data frame bodies skipped). */
    synchronized List<Frame> frames() {
        ByteBuffer in = ByteBuffer.wrap(received.toByteArray());
        List<Frame> frames = new ArrayList<>();
        while (in.remaining() >= 12) {
            in.get();
            Frame frame = new Frame(in.get() & 0xff, in.getShort() & 0xffff, in.getInt(), in.getInt());
            frames.add(frame);
            if (frame.type() == TYPE_DATA) {
                if (in.remaining() < frame.length()) {
                    break;
                }
                in.position(in.position() + frame.length());
            }
        }
        return frames;
    }

    /**
     * From now on, a close frame from the server is not answered, and the connection stays open: a client still busy
     * sending (stream data its targets keep sending) that has not read the close frame yet.
     */
    void holdCloseAnswer() {
        holdCloseAnswer = true;
    }

    boolean isClosed() {
        return closed;
    }

    int closeStatus() {
        return closeStatus;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
        synchronized (this) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            received.writeBytes(bytes);
        }
        ws.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
        closeStatus = statusCode;
        closed = true;
        // The JDK answers the close frame, then ends the connection, once the stage returned completes.
        return holdCloseAnswer ? new CompletableFuture<>() : null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
        closed = true;
    }

    @Override
    public void close() {
        webSocket.abort();
    }
}
