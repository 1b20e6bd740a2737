package io.picotunnel.server.acme;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;

/**
 * A tiny DNS server for pebble's validation lookups: every A query is answered with 127.0.0.1, every other
 * query with an empty NOERROR answer. UDP on an ephemeral loopback port.
 */
final class LoopbackDnsServer implements AutoCloseable {

    private static final int TYPE_A = 1;

    private final DatagramSocket socket;
    private final Thread thread;

    LoopbackDnsServer() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = Thread.ofPlatform().daemon().name("test-dns").start(this::serve);
    }

    String address() {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    private void serve() {
        byte[] buffer = new byte[512];
        while (!socket.isClosed()) {
            DatagramPacket query = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(query);
                byte[] answer = answer(ByteBuffer.wrap(query.getData(), 0, query.getLength()));
                if (answer != null) {
                    socket.send(new DatagramPacket(answer, answer.length, query.getSocketAddress()));
                }
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    private static byte[] answer(ByteBuffer query) {
        if (query.remaining() < 12) {
            return null;
        }
        int id = query.getShort(0) & 0xffff;
        int questions = query.getShort(4) & 0xffff;
        if (questions != 1) {
            return null;
        }
        int position = 12;
        while (position < query.limit() && query.get(position) != 0) {
            position += (query.get(position) & 0xff) + 1;
        }
        int questionEnd = position + 1 + 4;
        if (questionEnd > query.limit()) {
            return null;
        }
        int type = query.getShort(position + 1) & 0xffff;
        boolean a = type == TYPE_A;
        ByteBuffer out = ByteBuffer.allocate(512);
        out.putShort((short) id);
        out.putShort((short) 0x8580); // response, authoritative, recursion desired and available, NOERROR
        out.putShort((short) 1);
        out.putShort((short) (a ? 1 : 0));
        out.putShort((short) 0);
        out.putShort((short) 0);
        out.put(query.array(), query.arrayOffset() + 12, questionEnd - 12);
        if (a) {
            out.putShort((short) 0xc00c); // the name in the question
            out.putShort((short) TYPE_A);
            out.putShort((short) 1); // IN
            out.putInt(0);
            out.putShort((short) 4);
            out.put(new byte[] {127, 0, 0, 1});
        }
        byte[] answer = new byte[out.position()];
        out.flip().get(answer);
        return answer;
    }

    @Override
    public void close() {
        socket.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
