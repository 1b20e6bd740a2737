package io.picotunnel.server.files;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Makes the names in a directory durable: a rename (or a new file) is an entry of its directory, which an fsync of the
 * file itself does not write, so after a crash of the machine the directory could still hold the old entry.
 */
public final class DirectorySync {

    private DirectorySync() {
    }

    /**
     * An fsync of {@code dir}: true once done; false where the file system cannot open or sync a directory (some
     * cannot, and say so with an IOException; Windows cannot open one), where the entries are then as durable as it
     * makes them; false at once too for what is not a directory: opened as {@code dir/.}, a FIFO put in its place fails
     * with ENOTDIR, where an open of the path itself (no O_NONBLOCK) would wait for a writer for good. Done on a thread
     * interrupted before the call (the ACME thread, interrupted by the server's shutdown, still saves its certificate):
     * a directory opens only as a channel, which an interrupt set would close at once, so that interrupt is set aside
     * and set again after. An interrupt that comes during the sync still closes the channel: false then, the interrupt
     * kept.
     */
    public static boolean sync(Path dir) {
        boolean interrupted = Thread.interrupted();
        try (FileChannel channel = FileChannel.open(dir.resolve("."), StandardOpenOption.READ)) {
            channel.force(true);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
