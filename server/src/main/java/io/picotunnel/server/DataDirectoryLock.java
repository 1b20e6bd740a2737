package io.picotunnel.server;

import io.picotunnel.server.config.Setting;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One server per data directory: two would share one SQLite database and its certificates, both run uptime
 * checks and ACME orders for the same names, and each would answer for tunnels the other holds. A lock on
 * {@code picotunnel.lock}, held while the server runs; the operating system lets it go when the process ends, however
 * it ends. The backup command reads the database without it, as it may while the server runs.
 */
final class DataDirectoryLock implements AutoCloseable {

    static final String FILE_NAME = "picotunnel.lock";
    private static final int MAX_PID_LENGTH = 32;

    /** Lock files held by servers in this JVM (tests run several), which the operating system does not tell apart. */
    private static final Set<Path> HELD_HERE = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectoryLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    static DataDirectoryLock acquire(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME);
        // Checked before opening the file: closing any descriptor of a locked file would let go of this process's lock.
        if (!HELD_HERE.add(file)) {
            throw inUse(dataDir, Long.toString(ProcessHandle.current().pid()));
        }
        try {
            return lock(dataDir, file);
        } catch (RuntimeException e) {
            HELD_HERE.remove(file);
            throw e;
        }
    }

    private static DataDirectoryLock lock(Path dataDir, Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StartupException("Cannot open " + file + " to lock the data directory (" + e.getMessage() + ").", e);
        }
        try {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw inUse(dataDir, holder(channel));
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new DataDirectoryLock(file, channel, lock);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (e instanceof StartupException startup) {
                throw startup;
            }
            throw new StartupException("Cannot lock the data directory " + dataDir + " (" + e.getMessage() + ").", e);
        }
    }

    private static StartupException inUse(Path dataDir, String holder) {
        return new StartupException("The data directory " + dataDir + " is in use by another PicoTunnel server"
                + (holder.isEmpty() ? "" : " (process " + holder + ")") + ": stop it first, or give this one another"
                + " directory with " + Setting.DATA_DIR.flag() + " or " + Setting.DATA_DIR.envVar() + ".");
    }

    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer pid = ByteBuffer.allocate(MAX_PID_LENGTH);
        channel.read(pid, 0);
        String text = new String(pid.array(), 0, pid.position(), StandardCharsets.US_ASCII).strip();
        return text.matches("\\d{1,19}") ? text : "";
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing held
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
            HELD_HERE.remove(file);
        }
    }
}
