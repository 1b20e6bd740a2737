package io.picotunnel.server;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Deletes the {@link SqliteTempDirectory} directories that killed servers (SIGKILL, the OOM killer: no hook ran) left
 * beside this server's own, about 1 MB each. Only through a {@link SecureDirectoryStream} of the parent (Linux; none
 * elsewhere, so no deletion there), never following a link: a directory is taken when its name is {@code
 * picotunnel-sqlite-<pid>-<digits>} for a pid no process has, or for this process's own pid where it is not the one
 * just made (a container's server is pid 1 at every start); when it is a directory of this process's user, opened
 * without following a link and checked again as opened; when it holds nothing but regular files named as sqlite-jdbc
 * names its library and the library's lock, at most {@value SqliteTempDirectory#MAX_FILES} with the server's {@value
 * SqliteTempDirectory#LOCK}; and when no process holds that file's lock (held while the deletion goes on). Whatever
 * else is left, with one DEBUG line (WARN where a deletion fails).
 * Every state a halt (kill -9) can leave is one a later start takes. A server makes its directory, then the lock file,
 * which it locks before sqlite-jdbc writes anything there; a stop and this clean-up delete the lock file last (this
 * one holding its lock), then the directory. So a directory holding sqlite-jdbc's files holds the lock file too, and is
 * taken once unlocked; one holding the lock file alone, or nothing, is what a halt in a start or in the last of a
 * deletion leaves, and also what a start under way elsewhere holds between two calls (the lock file made, not yet
 * locked): taken only once unchanged for {@link #START_UNDER_WAY} (its lock too must be free; a start held longer
 * than that before it locks finds its lock file gone and makes another directory). Sqlite-jdbc's files
 * without the lock file are an older version's: left, as whose they are cannot be told.
 * Nothing is taken where users other than this process's and root may rename the parent's entries (their directory,
 * or one they may write without the sticky bit /tmp has): a name checked there could be swapped before it is opened,
 * for a FIFO whose open would hang the start. A server in another pid namespace sharing the parent looks gone, or
 * bears this process's pid, but holds its lock from the moment it has locked it until it ends: its directory is
 * left, by that lock, and in the moments of its start before it locks, by their age.
 * The lock alone decides, so the pid rules are not needed for safety: they stay as a first filter that leaves a live
 * server of this pid namespace without opening its directory (fewer opens of what others may swap), and cost nothing.
 * Runs on {@link SqliteTempDirectory}'s own thread, which the start does not wait for: an open here may block.
 */
final class SqliteLeftovers {

    private static final Logger log = LoggerFactory.getLogger(SqliteLeftovers.class);
    /** A server's directory: its pid, then {@link Files#createTempDirectory}'s random digits. */
    private static final Pattern DIRECTORY =
            Pattern.compile(Pattern.quote(SqliteTempDirectory.PREFIX) + "(\\d{1,10})-\\d{1,20}");
    /** sqlite-jdbc's library and its lock, as its loader names them: {@code sqlite-<version>-<uuid>-<library>}. */
    private static final Pattern SQLITE_FILE = Pattern.compile("sqlite-[0-9A-Za-z.]{1,40}-"
            + "\\p{XDigit}{8}(-\\p{XDigit}{4}){3}-\\p{XDigit}{12}-"
            + Pattern.quote(System.mapLibraryName("sqlitejdbc")) + "(\\.lck)?");
    /** Longer than a start stays between making its directory and locking the lock file in it. */
    static final Duration START_UNDER_WAY = Duration.ofMinutes(1);
    /** How many entries of the parent, and of them how many servers' directories, one start looks at. */
    private static final int MAX_ENTRIES = 100_000;
    private static final int MAX_DIRECTORIES = 100;
    private static final Path LOCK = Path.of(SqliteTempDirectory.LOCK);
    private static final int STICKY = 01000;
    private static final int GROUP_OR_OTHERS_WRITE = 0022;

    private SqliteLeftovers() {
    }

    /** Deletes the directories killed servers left in {@code own}'s parent, as the class says; never throws. */
    static void deleteBeside(Path own) {
        Path parent = own.getParent();
        try (DirectoryStream<Path> opened = Files.newDirectoryStream(parent)) {
            if (!(opened instanceof SecureDirectoryStream<Path> listing)) {
                log.debug("Not looking for killed servers' sqlite directories in {}: no secure directory stream here",
                        parent);
                return;
            }
            UserPrincipal ours = attributes(listing, own.getFileName()).owner();
            if (!onlyTrustedUsersRename(parent, listing, ours)) {
                log.debug("Not looking for killed servers' sqlite directories in {}: other users may rename its"
                        + " entries", parent);
                return;
            }
            int entries = 0;
            int directories = 0;
            for (Path entry : listing) {
                Path name = entry.getFileName();
                Matcher named = DIRECTORY.matcher(name.toString());
                if (++entries > MAX_ENTRIES || named.matches() && ++directories > MAX_DIRECTORIES) {
                    break;
                }
                if (named.matches() && !name.equals(own.getFileName()) && gone(Long.parseLong(named.group(1)))) {
                    deleteIfSqlites(listing, entry, ours);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("Not looking for killed servers' sqlite directories in {}: {}", parent, e.toString());
        }
    }

    /** No process has {@code pid}, or it is this process's own and so not that of the server that made it. */
    private static boolean gone(long pid) {
        return pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).isEmpty();
    }

    /**
     * The parent, as opened, is this user's or root's and no one else may rename its entries, or the sticky bit
     * keeps each to their own (/tmp). Its mode (for the sticky bit) is read by path: taken only when that path still
     * names the directory opened.
     */
    private static boolean onlyTrustedUsersRename(Path parent, SecureDirectoryStream<Path> listing, UserPrincipal ours)
            throws IOException {
        PosixFileAttributes opened = listing.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
        Map<String, Object> byPath = Files.readAttributes(parent, "unix:mode,uid,fileKey");
        int mode = (Integer) byPath.get("mode");
        return opened.fileKey() != null && opened.fileKey().equals(byPath.get("fileKey"))
                && (opened.owner().equals(ours) || (Integer) byPath.get("uid") == 0)
                && ((mode & GROUP_OR_OTHERS_WRITE) == 0 || (mode & STICKY) != 0);
    }

    /** Deletes the directory {@code entry} of {@code listing} if it is ours and holds only sqlite-jdbc's files. */
    private static void deleteIfSqlites(SecureDirectoryStream<Path> listing, Path entry, UserPrincipal ours) {
        Path name = entry.getFileName();
        try {
            PosixFileAttributes named = attributes(listing, name);
            if (!named.isDirectory() || !named.owner().equals(ours)) {
                log.debug("Left {}: not a directory of this process's user", entry);
                return;
            }
            try (SecureDirectoryStream<Path> directory = listing.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                PosixFileAttributes opened = directory.getFileAttributeView(PosixFileAttributeView.class)
                        .readAttributes();
                if (!opened.owner().equals(ours) || writableByOthers(opened)) {
                    log.debug("Left {}: as opened, not a directory only this process's user may change", entry);
                    return;
                }
                Optional<List<Path>> files = sqliteFiles(directory);
                if (files.isEmpty()) {
                    log.debug("Left {}: it holds more than sqlite-jdbc's files", entry);
                    return;
                }
                List<Path> held = files.get();
                boolean sqliteJdbcWroteThere = held.stream().anyMatch(file -> !file.equals(LOCK));
                if (sqliteJdbcWroteThere && !held.contains(LOCK)) {
                    log.debug("Left {}: sqlite-jdbc's files without a server's lock (an older version's)", entry);
                    return;
                }
                if (!sqliteJdbcWroteThere && changedWithin(opened, START_UNDER_WAY)) {
                    log.debug("Left {}: only a server's lock or nothing, changed in the last {} (a start under way?)",
                            entry, Durations.format(START_UNDER_WAY));
                    return;
                }
                if (!held.isEmpty() && !deletedUnlocked(directory, held)) {
                    log.debug("Left {}: a process holds its lock, its server runs", entry);
                    return;
                }
            }
            listing.deleteDirectory(name);
            log.info("Deleted {}, the sqlite-jdbc directory of a server that was killed", entry);
        } catch (NoSuchFileException e) {
            log.debug("Left {}: {} (another start took it)", entry, e.toString());
        } catch (IOException | RuntimeException e) {
            log.warn("Left {}, or part of it: the sqlite-jdbc directory (about 1 MB) of a server that was killed,"
                    + " which this start could not delete ({}); the next start tries again", entry, e.toString());
        }
    }

    /**
     * Deletes {@code files}, the lock file last, while holding the lock no live server lets go of; false, deleting
     * none, where one holds it.
     */
    private static boolean deletedUnlocked(SecureDirectoryStream<Path> directory, List<Path> files) throws IOException {
        try (FileChannel channel = (FileChannel) directory.newByteChannel(LOCK,
                Set.of(StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS))) {
            FileLock held = channel.tryLock();
            if (held == null) {
                return false;
            }
            for (Path file : files) {
                if (!file.equals(LOCK)) {
                    directory.deleteFile(file);
                }
            }
            directory.deleteFile(LOCK);
            return true;
        } catch (OverlappingFileLockException e) {
            return false;
        }
    }

    /**
     * The names in {@code directory}, if there are at most {@value SqliteTempDirectory#MAX_FILES} and each is a regular
     * file named as sqlite-jdbc names its library and the library's lock, or the server's lock file.
     */
    private static Optional<List<Path>> sqliteFiles(SecureDirectoryStream<Path> directory) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path entry : directory) {
            Path file = entry.getFileName();
            boolean named = file.equals(LOCK) || SQLITE_FILE.matcher(file.toString()).matches();
            if (files.size() == SqliteTempDirectory.MAX_FILES || !named
                    || !attributes(directory, file).isRegularFile()) {
                return Optional.empty();
            }
            files.add(file);
        }
        return Optional.of(files);
    }

    private static boolean changedWithin(PosixFileAttributes attributes, Duration age) {
        return attributes.lastModifiedTime().toInstant().isAfter(Instant.now().minus(age));
    }

    private static boolean writableByOthers(PosixFileAttributes attributes) {
        return attributes.permissions().contains(PosixFilePermission.GROUP_WRITE)
                || attributes.permissions().contains(PosixFilePermission.OTHERS_WRITE);
    }

    /** {@code name}'s attributes in {@code directory}, of a link itself where it is one. */
    private static PosixFileAttributes attributes(SecureDirectoryStream<Path> directory, Path name)
            throws IOException {
        return directory.getFileAttributeView(name, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .readAttributes();
    }
}
