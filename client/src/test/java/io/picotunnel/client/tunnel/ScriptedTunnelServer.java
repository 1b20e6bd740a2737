package io.picotunnel.client.tunnel;

import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.WebSocketFrameReader;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/** A tunnel server on 127.0.0.1 played by a script, one run per accepted connection: for servers that misbehave. */
final class ScriptedTunnelServer implements AutoCloseable {

    /** What the server does on one connection; {@code connection} is its number in accept order, 1 for the first. */
    interface Script {
        void run(Socket socket, String wsKey, int connection) throws Exception;
    }

    /** The server's GoAway (normal), as the WebSocket message that carries it. */
    static final byte[] GO_AWAY = wsFrame(0x2, true, false, yamux(3, 0, 0, 0, null));
    /** The server's refusal of the token: a 401 with its JSON error, which alone stops the client for good. */
    static final byte[] TOKEN_REFUSAL = ("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            + "WWW-Authenticate: Bearer realm=\"picotunnel\"\r\nContent-Length: 68\r\nConnection: close\r\n\r\n"
            + "{\"error\":\"unauthorized\",\"message\":\"missing or invalid tunnel token\"}")
            .getBytes(StandardCharsets.US_ASCII);
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private volatile ServerSocket server;
    private final int port;
    private volatile Thread acceptLoop;
    private final Script script;
    final List<Long> connectionsNanos = new CopyOnWriteArrayList<>();
    final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final List<String> events = new CopyOnWriteArrayList<>();

    ScriptedTunnelServer(Script script) {
        this.script = script;
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        port = server.getLocalPort();
        acceptLoop = Thread.ofVirtual().start(this::acceptLoop);
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    int connections() {
        return connectionsNanos.size();
    }

    private void acceptLoop() {
        ServerSocket server = this.server;
        for (int i = 0; i < 500 && !server.isClosed(); i++) {
            try {
                Socket s = server.accept();
                connectionsNanos.add(System.nanoTime());
                int connection = connectionsNanos.size();
                sockets.add(s);
                Thread.ofVirtual().start(() -> {
                    try {
                        s.setSoTimeout(60_000);
                        String key = key(HttpHead.read(s.getInputStream()));
                        script.run(s, key, connection);
                    } catch (Exception e) {
                        events.add("script: " + e);
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    static String key(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("sec-websocket-key")) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    static String accept(String key) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The answer of a server that accepts the upgrade, with the tunnel's subprotocol. */
    static void answer101(Socket s, String key) throws IOException {
        String answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept(key) + "\r\nSec-WebSocket-Protocol: tunnel\r\n\r\n";
        s.getOutputStream().write(answer.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    /** One WebSocket frame (FIN set unless told), optionally masked. */
    static byte[] wsFrame(int opcode, boolean fin, boolean masked, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write((fin ? 0x80 : 0) | opcode);
        int m = masked ? 0x80 : 0;
        if (payload.length < 126) {
            out.write(m | payload.length);
        } else if (payload.length < 65536) {
            out.write(m | 126);
            out.write(payload.length >> 8);
            out.write(payload.length & 0xFF);
        } else {
            out.write(m | 127);
            for (int i = 7; i >= 0; i--) {
                out.write((int) (((long) payload.length >> (8 * i)) & 0xFF));
            }
        }
        byte[] mask = {1, 2, 3, 4};
        if (masked) {
            out.write(mask, 0, 4);
        }
        for (int i = 0; i < payload.length; i++) {
            out.write(masked ? payload[i] ^ mask[i & 3] : payload[i]);
        }
        return out.toByteArray();
    }

    static byte[] yamux(int type, int flags, int streamId, long length, byte[] payload) {
        byte[] b = new byte[12 + (payload == null ? 0 : payload.length)];
        b[0] = 0;
        b[1] = (byte) type;
        b[2] = (byte) (flags >> 8);
        b[3] = (byte) flags;
        for (int i = 0; i < 4; i++) {
            b[4 + i] = (byte) (streamId >> (24 - 8 * i));
            b[8 + i] = (byte) (length >> (24 - 8 * i));
        }
        if (payload != null) {
            System.arraycopy(payload, 0, b, 12, payload.length);
        }
        return b;
    }

    /**
     * Opens stream 2 with one byte of a stream header that never ends, so the stream stays open; answers the reader of
     * the client's frames, made before, to wait for the client's answers.
     */
    static ClientFrames openStreamThatStaysOpen(Socket s) throws IOException {
        ClientFrames frames = new ClientFrames(s);
        write(s, wsFrame(0x2, true, false, yamux(1, 1, 2, 0, null)));
        write(s, wsFrame(0x2, true, false, yamux(0, 0, 2, 1, new byte[] {0})));
        return frames;
    }

    /** The WebSocket close frame of the server saying {@code why}. */
    static byte[] closeFrame(TunnelCloseStatus why) {
        byte[] reason = why.reason().getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[2 + reason.length];
        payload[0] = (byte) (why.code() >> 8);
        payload[1] = (byte) why.code();
        System.arraycopy(reason, 0, payload, 2, reason.length);
        return wsFrame(0x8, true, false, payload);
    }

    /** Reads until EOF or the socket's timeout; true when EOF (the client closed). */
    static boolean drainUntilEof(Socket s) {
        try {
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            for (int i = 0; i < 100_000; i++) {
                if (in.read(buf) < 0) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return e.getMessage() != null && e.getMessage().toLowerCase(Locale.ROOT).contains("reset");
        }
    }

    static void write(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    /**
     * Closes the listening socket only: a new connection is refused, those accepted go on. Returns once the accept loop
     * has ended: a socket closed while a thread accepts on it is released by that thread, and took a connection meanwhile.
     */
    void stopListening() throws IOException {
        server.close();
        try {
            if (!acceptLoop.join(Duration.ofSeconds(10))) {
                throw new IOException("the accept loop did not end");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** After {@link #stopListening}: listens on the same port again, as a server started anew. */
    void listenAgain() throws IOException {
        ServerSocket again = new ServerSocket();
        again.setReuseAddress(true);
        again.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        server = again;
        acceptLoop = Thread.ofVirtual().start(this::acceptLoop);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    /** The client's yamux frames, read from the masked WebSocket messages that carry them. */
    static final class ClientFrames {
        private final WebSocketFrameReader frames;
        private byte[] message = new byte[0];
        private int position;

        ClientFrames(Socket s) throws IOException {
            frames = new WebSocketFrameReader(s, 64 * 1024 * 1024, Duration.ofSeconds(60));
        }

        /** The next frame's type, flags, stream id and length (a Data frame's payload is skipped). */
        long[] next() throws IOException {
            byte[] h = take(12);
            long[] frame = {h[1] & 0xFF, ((h[2] & 0xFF) << 8) | (h[3] & 0xFF), unsigned(h, 4), unsigned(h, 8)};
            if (frame[0] == 0) {
                take((int) frame[3]);
            }
            return frame;
        }

        /** Reads frames until one of this type, with these flags, on this stream. */
        void awaitFrame(int type, int flags, int streamId) throws IOException {
            for (int i = 0; i < 1000; i++) {
                long[] frame = next();
                if (frame[0] == type && (frame[1] & flags) == flags && frame[2] == streamId) {
                    return;
                }
            }
            throw new IOException("no frame of type " + type + " on stream " + streamId);
        }

        private static long unsigned(byte[] b, int at) {
            return ((b[at] & 0xFFL) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
        }

        private byte[] take(int n) throws IOException {
            byte[] out = new byte[n];
            int got = 0;
            while (got < n) {
                if (position == message.length) {
                    readMessage();
                    continue;
                }
                int k = Math.min(n - got, message.length - position);
                System.arraycopy(message, position, out, got, k);
                position += k;
                got += k;
            }
            return out;
        }

        private void readMessage() throws IOException {
            WebSocketFrameReader.Frame frame = frames.next();
            if (frame.opcode() == WebSocketFrameReader.CLOSE) {
                throw new EOFException("the client sent a close frame");
            }
            if (frame.opcode() == WebSocketFrameReader.CONTINUATION || frame.opcode() == WebSocketFrameReader.BINARY) {
                message = frame.payload();
                position = 0;
            }
        }
    }

    static List<Long> gapsMillis(List<Long> nanos) {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < nanos.size(); i++) {
            gaps.add((nanos.get(i) - nanos.get(i - 1)) / 1_000_000);
        }
        return gaps;
    }
}
