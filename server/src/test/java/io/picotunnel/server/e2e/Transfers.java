package io.picotunnel.server.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Moves known bytes through a TCP port and hashes both ends, on blocking sockets with timeouts. */
final class Transfers {

    /** What went out and what came back of one connection. */
    record Result(long sentBytes, String sentSha256, long receivedBytes, String receivedSha256) {
    }

    private Transfers() {
    }

    /**
     * Writes {@code bytes} seeded random bytes to 127.0.0.1:{@code port} while reading everything that comes
     * back, shuts the output down after the last byte and reads on to EOF.
     */
    static Result roundTrip(int port, long bytes, long seed) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(60_000);
            CompletableFuture<String> sent = writeRandomInBackground(socket, bytes, seed, new AtomicLong());
            AtomicLong received = new AtomicLong();
            String receivedSha = readToEnd(socket.getInputStream(), received);
            return new Result(bytes, sent.get(60, TimeUnit.SECONDS), received.get(), receivedSha);
        }
    }

    /**
     * Writes {@code bytes} seeded random bytes to {@code socket} on a virtual thread, counting them in {@code written},
     * and shuts its output down after the last; completes with their SHA-256 (hex), or with what failed.
     */
    static CompletableFuture<String> writeRandomInBackground(Socket socket, long bytes, long seed, AtomicLong written) {
        CompletableFuture<String> sent = new CompletableFuture<>();
        Thread.ofVirtual().name("transfer-writer").start(() -> {
            try {
                sent.complete(writeRandom(socket.getOutputStream(), bytes, seed, written));
                socket.shutdownOutput();
            } catch (Throwable e) {
                sent.completeExceptionally(e);
            }
        });
        return sent;
    }

    /** SHA-256 (hex) of {@code bytes} random bytes from {@code seed}, as {@link #writeRandom} writes them. */
    static String sha256OfRandom(long bytes, long seed) {
        try {
            return writeRandom(OutputStream.nullOutputStream(), bytes, seed, new AtomicLong());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes seeded random bytes, counting them in {@code written}; returns their SHA-256 (hex). */
    static String writeRandom(OutputStream out, long bytes, long seed, AtomicLong written) throws IOException {
        MessageDigest digest = sha256();
        Random random = new Random(seed);
        byte[] chunk = new byte[64 * 1024];
        long left = bytes;
        while (left > 0) {
            int n = (int) Math.min(chunk.length, left);
            random.nextBytes(chunk);
            out.write(chunk, 0, n);
            digest.update(chunk, 0, n);
            written.addAndGet(n);
            left -= n;
        }
        out.flush();
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Reads to EOF, counting in {@code received}; returns the SHA-256 (hex) of what was read. */
    static String readToEnd(InputStream in, AtomicLong received) throws IOException {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) >= 0) {
            digest.update(buffer, 0, n);
            received.addAndGet(n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Sends {@code message}, shuts the output and returns everything read back until EOF. */
    static String echo(int port, String message) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            socket.shutdownOutput();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
