package io.picotunnel.server;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.FileErrors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One server per data directory: two would share one SQLite database and its certificates, both run uptime
 * checks and ACME orders for the same names, and each would answer for tunnels the other holds. A lock on
 * {@code picotunnel.lock}, held while the server runs, and while a restore replaces the database; the operating system
 * lets it go when the process ends, however it ends. The backup command reads the database without it, as it may while
 * the server runs.
 */
final class DataDirectoryLock implements AutoCloseable {

    static final String FILE_NAME = "picotunnel.lock";
    private static final int MAX_HOLDER_LENGTH = 32;
    private static final Pattern HOLDER = Pattern.compile("(\\d{1,19})( restore)?");

    /** Who holds the lock: the lock file says so after the PID, and each is refused in its own words. */
    enum Role {
        SERVER,
        RESTORE
    }

    /**
     * Lock files held by servers in this JVM (tests run several), which the operating system does not tell apart: by
     * the file's identity (device and inode), so that a symbolic link, bind mount or hard link to a directory in use
     * is one too.
     */
    private static final Map<Object, Role> HELD_HERE = new ConcurrentHashMap<>();

    /**
     * Channels on a lock file that something else in this JVM locked, kept open for good: closing one, or letting it
     * be collected (which closes it too), would close a descriptor of the locked file, and with it let go of this
     * process's lock on it.
     */
    private static final List<FileChannel> NEVER_CLOSED = new CopyOnWriteArrayList<>();

    private final Object key;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectoryLock(Object key, FileChannel channel, FileLock lock) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** The lock of a server. */
    static DataDirectoryLock acquire(Path dataDir) {
        return acquire(dataDir, Role.SERVER);
    }

    static DataDirectoryLock acquire(Path dataDir, Role role) {
        Path file = dataDir.resolve(FILE_NAME);
        // Checked before opening the file: closing any descriptor of a locked file would let go of this process's lock.
        Object key = identity(file);
        Role holder = HELD_HERE.putIfAbsent(key, role);
        if (holder != null) {
            throw inUse(dataDir, role, new Holder(Long.toString(ProcessHandle.current().pid()), holder));
        }
        try {
            return lock(dataDir, file, key, role);
        } catch (RuntimeException e) {
            HELD_HERE.remove(key);
            throw e;
        }
    }

    /**
     * The lock file's identity, found without opening it (created first if missing, with nothing open on it). A
     * symbolic link there is refused, not followed: locking truncates the file and writes the PID into it, so a link
     * would have that done to whatever it names, or the file created wherever it points.
     */
    private static Object identity(Path file) {
        try {
            try {
                Files.createFile(file); // O_EXCL: never through a link
            } catch (FileAlreadyExistsException exists) {
                // as it should be after the first start
            }
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (attributes.isSymbolicLink()) {
                throw new StartupException("The lock file " + file + " is a symbolic link (to "
                        + Files.readSymbolicLink(file) + "), which PicoTunnel does not follow: it locks the data"
                        + " directory with a regular file of its own there, so remove the link and try again.");
            }
            if (!attributes.isRegularFile()) {
                throw new StartupException("The lock file " + file + " is " + (attributes.isDirectory()
                        ? "a directory" : "not a regular file") + ": PicoTunnel locks the data directory with a"
                        + " regular file of its own there, so move it away and try again.");
            }
            Object fileKey = attributes.fileKey();
            return fileKey != null ? fileKey : file.toRealPath();
        } catch (IOException e) {
            throw new StartupException("Cannot open " + file + " to lock the data directory (" + FileErrors.describe(e) + ").", e);
        }
    }

    private static DataDirectoryLock lock(Path dataDir, Path file, Object key, Role role) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new StartupException("Cannot open " + file + " to lock the data directory (" + FileErrors.describe(e) + ").", e);
        }
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException lockedHere) {
                NEVER_CLOSED.add(channel);
                throw inUse(dataDir, role, new Holder(Long.toString(ProcessHandle.current().pid()), Role.SERVER));
            }
            if (lock == null) {
                throw inUse(dataDir, role, holder(channel));
            }
            channel.truncate(0);
            String holder = ProcessHandle.current().pid() + (role == Role.RESTORE ? " restore" : "") + "\n";
            channel.write(ByteBuffer.wrap(holder.getBytes(StandardCharsets.US_ASCII)), 0);
            return new DataDirectoryLock(key, channel, lock);
        } catch (IOException | RuntimeException e) {
            if (!NEVER_CLOSED.contains(channel)) {
                closeQuietly(channel);
            }
            if (e instanceof StartupException startup) {
                throw startup;
            }
            throw new StartupException("Cannot lock the data directory " + dataDir + " (" + (e instanceof IOException io
                    ? FileErrors.describe(io) : e.getMessage()) + ").", e);
        }
    }

    /** The process holding the lock ({@code pid} empty when the file does not say) and what it is. */
    private record Holder(String pid, Role role) {
        String process() {
            return pid.isEmpty() ? "" : " (process " + pid + ")";
        }
    }

    private static StartupException inUse(Path dataDir, Role role, Holder holder) {
        String directory = "The data directory " + dataDir;
        return new StartupException(switch (role) {
            case SERVER -> holder.role() == Role.RESTORE
                    ? directory + " is being restored" + holder.process()
                            + ": start the server once the restore has finished."
                    : directory + " is in use by another PicoTunnel server" + holder.process() + ": stop it first, or"
                            + " give this one another directory with " + Setting.DATA_DIR.flag() + " or "
                            + Setting.DATA_DIR.envVar() + ".";
            case RESTORE -> holder.role() == Role.RESTORE
                    ? directory + " is being restored by another restore" + holder.process()
                            + ": let it finish first, then restore again if you still need to."
                    : directory + " is in use by a PicoTunnel server" + holder.process() + ": a restore replaces the"
                            + " database of a stopped server only, so stop the server, then run the restore again.";
        });
    }

    private static Holder holder(FileChannel channel) throws IOException {
        ByteBuffer content = ByteBuffer.allocate(MAX_HOLDER_LENGTH);
        channel.read(content, 0);
        Matcher matcher = HOLDER.matcher(new String(content.array(), 0, content.position(), StandardCharsets.US_ASCII)
                .strip());
        if (!matcher.matches()) {
            return new Holder("", Role.SERVER);
        }
        return new Holder(matcher.group(1), matcher.group(2) == null ? Role.SERVER : Role.RESTORE);
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
            HELD_HERE.remove(key);
        }
    }
}
