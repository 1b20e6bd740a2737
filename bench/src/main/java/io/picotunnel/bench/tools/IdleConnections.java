package io.picotunnel.bench.tools;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Measures what idle connections cost the processes they pass through: opens connections to a tcp service whose
 * target is a holder in this process (it accepts and keeps every connection, reading nothing), waits until each
 * one has reached the holder, and reads the resident memory ({@code VmRSS} of {@code /proc/<pid>/status}) of the
 * watched processes before and after. A warm-up batch is opened first and kept, so that classes loaded and code
 * compiled for the first connections are not counted. Before each reading the watched JVMs may be asked for a full
 * garbage collection ({@link #collectGarbage}): what is left resident is what the connections hold, not the garbage
 * made while opening them, and the figure no longer swings with when the collector last ran.
 */
public final class IdleConnections implements Closeable {

    /** Connections opened before the holder must catch up: bounds the accept backlog the tunnel sees. */
    private static final int BATCH = 100;

    private final ServerSocketChannel holder;
    private final ConcurrentLinkedQueue<SocketChannel> held = new ConcurrentLinkedQueue<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<SocketChannel> opened = new ArrayList<>();
    private final InetSocketAddress service;
    private final Duration timeout;

    /**
     * @param holderPort the tcp service's target port on loopback: this process accepts and holds there
     * @param service    the tcp service's listening address
     * @param timeout    the longest one {@link #open} may take
     */
    public IdleConnections(int holderPort, InetSocketAddress service, Duration timeout) throws IOException {
        this.service = service;
        this.timeout = timeout;
        holder = ServerSocketChannel.open();
        holder.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        holder.bind(new InetSocketAddress("127.0.0.1", holderPort), 4096);
        Thread acceptor = new Thread(this::acceptLoop, "idle-holder");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        while (holder.isOpen()) {
            try {
                held.add(holder.accept());
                accepted.incrementAndGet();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /**
     * Opens {@code count} more connections through the service, {@value #BATCH} at a time, and waits until all have
     * reached the holder; fails when that takes longer than the timeout.
     */
    public void open(int count) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int target = opened.size() + count;
        while (opened.size() < target) {
            int batchEnd = Math.min(target, opened.size() + BATCH);
            while (opened.size() < batchEnd) {
                opened.add(SocketChannel.open(service));
            }
            awaitHeld(batchEnd, deadline);
        }
    }

    private void awaitHeld(int expected, long deadline) throws IOException {
        while (accepted.get() < expected) {
            if (System.nanoTime() > deadline) {
                throw new IOException(accepted.get() + " of " + expected + " connections reached the target within "
                        + timeout.toMillis() + " ms: the tunnel did not carry them all (see the server's and the"
                        + " client's logs)");
            }
            LockSupport.parkNanos(2_000_000);
        }
    }

    public int openCount() {
        return opened.size();
    }

    /**
     * The resident memory of each process once it has settled: read every 250 ms until two readings in a row
     * differ by less than 1 % for all processes, or {@code limit} has passed.
     */
    public static Map<Long, Long> settledRssKiB(List<Long> pids, Duration limit) throws IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        Map<Long, Long> previous = rssKiB(pids);
        while (System.nanoTime() < deadline) {
            LockSupport.parkNanos(250_000_000);
            Map<Long, Long> now = rssKiB(pids);
            boolean settled = pids.stream().allMatch(p -> Math.abs(now.get(p) - previous.get(p)) * 100 < now.get(p));
            previous.putAll(now);
            if (settled) {
                break;
            }
        }
        return previous;
    }

    /**
     * Asks each JVM for a full collection with {@code jcmd PID GC.run} (the jcmd of the JDK running this tool) and
     * waits for it, at most a minute each.
     */
    public static void collectGarbage(List<Long> pids) throws IOException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        for (long pid : pids) {
            Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.run")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                if (!gc.waitFor(1, TimeUnit.MINUTES)) {
                    gc.destroyForcibly();
                    throw new IOException("jcmd " + pid + " GC.run did not finish within a minute");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for jcmd " + pid + " GC.run", e);
            }
            if (gc.exitValue() != 0) {
                throw new IOException("jcmd " + pid + " GC.run failed (exit " + gc.exitValue() + "): is " + pid
                        + " a JVM of this user?");
            }
        }
    }

    static Map<Long, Long> rssKiB(List<Long> pids) throws IOException {
        Map<Long, Long> rss = new LinkedHashMap<>();
        for (long pid : pids) {
            rss.put(pid, rssFromStatus(Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))));
        }
        return rss;
    }

    /** The {@code VmRSS} line of a {@code /proc/<pid>/status}, in KiB. */
    static long rssFromStatus(List<String> status) {
        for (String line : status) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+");
                if (parts.length == 2 && parts[1].equals("kB")) {
                    return Long.parseLong(parts[0]);
                }
            }
        }
        throw new IllegalArgumentException("no VmRSS line in kB in the process status");
    }

    @Override
    public void close() {
        for (SocketChannel c : opened) {
            closeQuietly(c);
        }
        closeQuietly(holder);
        for (SocketChannel c : held) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
