package io.picotunnel.server.store;

import io.picotunnel.server.ClasspathFiles;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Applies the schema migrations {@code db/migration/V<N>__<name>.sql} from the class path: every version not yet
 * recorded in {@code schema_version}, in ascending order, each in its own transaction. Statements in a file are
 * separated by a {@code ;} at the end of a line; lines starting with {@code --} are comments.
 */
final class Migrations {

    private static final Logger log = LoggerFactory.getLogger(Migrations.class);
    static final String LOCATION = "db/migration";
    private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__([A-Za-z0-9_]+)\\.sql");

    record Migration(int version, String name, String resource) {
    }

    private final Database database;

    Migrations(Database database) {
        this.database = database;
    }

    void apply() {
        database.inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("CREATE TABLE IF NOT EXISTS schema_version ("
                        + "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
            }
            return null;
        });
        Set<Integer> applied = database.inTransaction(Migrations::appliedVersions);
        List<Migration> available = available();
        int newest = available.isEmpty() ? 0 : available.getLast().version();
        for (int version : applied) {
            if (version > newest) {
                throw new StoreException("The database " + database.file() + " has schema version " + version
                        + ", newer than this PicoTunnel knows (" + newest + "); run a newer PicoTunnel.", null, true);
            }
        }
        int from = applied.stream().mapToInt(Integer::intValue).max().orElse(0);
        int ran = 0;
        for (Migration migration : available) {
            if (!applied.contains(migration.version())) {
                run(migration);
                ran++;
            }
        }
        if (ran > 0) {
            // One line: a new data directory ran every migration, a line each at INFO.
            log.info("Database migrated from version {} to {} ({})", from, newest,
                    ran == 1 ? "1 migration" : ran + " migrations");
        }
    }

    private static Set<Integer> appliedVersions(Connection connection) throws SQLException {
        Set<Integer> versions = new HashSet<>();
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT version FROM schema_version")) {
            while (rows.next()) {
                versions.add(rows.getInt(1));
            }
        }
        return versions;
    }

    private void run(Migration migration) {
        String sql = read(migration.resource());
        database.inTransaction(connection -> {
            try (Statement statement = connection.createStatement()) {
                for (String part : statements(sql)) {
                    statement.executeUpdate(part);
                }
            }
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)")) {
                insert.setInt(1, migration.version());
                insert.setString(2, migration.name());
                insert.setString(3, Rfc3339.format(Rfc3339.now()));
                insert.executeUpdate();
            }
            return null;
        });
        log.debug("Database migrated to version {} ({})", migration.version(), migration.name());
    }

    static List<String> statements(String sql) {
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : sql.split("\n")) {
            String trimmed = line.strip();
            if (trimmed.startsWith("--") || trimmed.isEmpty()) {
                continue;
            }
            current.append(line).append('\n');
            if (trimmed.endsWith(";")) {
                statements.add(current.toString().strip());
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) {
            statements.add(current.toString().strip());
        }
        return statements;
    }

    private static String read(String resource) {
        try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("migration " + resource + " vanished from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every migration on the class path, by version; two files with one version number are a build error. */
    static List<Migration> available() {
        TreeMap<Integer, Migration> byVersion = new TreeMap<>();
        for (String fileName : fileNames()) {
            Matcher matcher = FILE_NAME.matcher(fileName);
            if (!matcher.matches()) {
                continue;
            }
            Migration migration = new Migration(Integer.parseInt(matcher.group(1)), matcher.group(2),
                    LOCATION + "/" + fileName);
            Migration clash = byVersion.put(migration.version(), migration);
            if (clash != null && !clash.resource().equals(migration.resource())) {
                throw new IllegalStateException("two migrations have version " + migration.version() + ": "
                        + clash.resource() + " and " + migration.resource());
            }
        }
        return List.copyOf(byVersion.values());
    }

    /** The migration files: those directly in {@link #LOCATION}. */
    private static Set<String> fileNames() {
        Set<String> names = new HashSet<>();
        for (String name : ClasspathFiles.under(LOCATION)) {
            if (!name.contains("/")) {
                names.add(name);
            }
        }
        return names;
    }
}
