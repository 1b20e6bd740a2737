package io.picotunnel.server.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.PreparedStatement;
import java.util.Arrays;

/** A database with pages that neither a start nor a backup reads first, and one of them damaged as a bad disk would. */
public final class DamagedDatabases {

    private static final int PAGE = 4096;

    private DamagedDatabases() {
    }

    /** Adds 2,000 events of some 400 bytes each: the pages in the middle of the file hold events only. */
    public static void addManyEvents(Store store) {
        store.database().inTransaction(connection -> {
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO events"
                    + " (type, message, created_at) VALUES ('note', ?, ?)")) {
                for (int i = 0; i < 2_000; i++) {
                    insert.setString(1, "event " + i + " " + "x".repeat(400));
                    insert.setLong(2, i);
                    insert.executeUpdate();
                }
            }
            return null;
        });
    }

    /** Overwrites the page in the middle of a closed database file with 0xA5 bytes (a bad disk, a torn write). */
    public static void damageTheMiddlePage(Path database) throws IOException {
        try (FileChannel file = FileChannel.open(database, StandardOpenOption.WRITE)) {
            byte[] garbage = new byte[PAGE];
            Arrays.fill(garbage, (byte) 0xA5);
            file.write(ByteBuffer.wrap(garbage), file.size() / PAGE / 2 * PAGE);
        }
    }
}
