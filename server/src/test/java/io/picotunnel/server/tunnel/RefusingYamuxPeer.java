package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.yamux.ResetReason;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

/**
 * A yamux client by hand on 127.0.0.1, for one connection: it answers every SYN with WindowUpdate|RST and reason 9, as
 * a client at its --max-streams does, and nothing else (docs/protocol.md section 3).
 */
final class RefusingYamuxPeer implements AutoCloseable {

    private static final int TYPE_DATA = 0;
    private static final int TYPE_WINDOW_UPDATE = 1;
    private static final int FLAG_SYN = 1;
    private static final int FLAG_RST = 8;
    /** Frames read at most: a test asks for a few streams. */
    private static final int MAX_FRAMES = 1_000;

    private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final ExecutorService thread = Executors.newVirtualThreadPerTaskExecutor();

    RefusingYamuxPeer() throws IOException {
        thread.execute(this::refuseEveryStream);
    }

    InetSocketAddress socketAddress() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    private void refuseEveryStream() {
        try (Socket socket = listener.accept()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            for (int i = 0; i < MAX_FRAMES; i++) {
                in.readByte();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedShort();
                int streamId = in.readInt();
                int length = in.readInt();
                if (type == TYPE_DATA) {
                    in.skipNBytes(length);
                }
                if ((flags & FLAG_SYN) != 0) {
                    out.write(ByteBuffer.allocate(12).put((byte) 0).put((byte) TYPE_WINDOW_UPDATE)
                            .putShort((short) FLAG_RST).putInt(streamId).putInt(ResetReason.REFUSED_STREAM_LIMIT.code())
                            .array());
                    out.flush();
                }
            }
        } catch (IOException e) {
            // Closed: the test is over.
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        thread.shutdownNow();
    }
}
