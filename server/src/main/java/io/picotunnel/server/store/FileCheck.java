package io.picotunnel.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What SQLite's {@code PRAGMA quick_check} or {@code integrity_check} says of a file, told apart: damage to the file
 * (pages, b-trees, indexes), or rows that break a rule of their table (a NULL in a NOT NULL column, a failed CHECK), the
 * file itself sound. Such rows come from a change made by hand ({@code sqlite3} with {@code ignore_check_constraints},
 * or the schema edited): the check reports them as {@code NULL value in T.C} and {@code CHECK constraint failed in T},
 * one line per row, which this finds again by rowid (read-only) so that the operator can fix exactly those.
 */
final class FileCheck {

    /** Lines asked of the check: enough to see whether any of them is damage. */
    private static final int MOST_FINDINGS = 100;
    /** Rowids named per broken rule. */
    private static final int MOST_ROWS = 5;
    private static final Pattern NULL_VALUE = Pattern.compile("NULL value in ([^.\\s]+)\\.(\\S+)");
    private static final Pattern CHECK_FAILED = Pattern.compile("CHECK constraint failed in (\\S+)");
    private static final Pattern DATABASE_HEADER = Pattern.compile("\\*\\*\\* in database \\S+ \\*\\*\\*");

    /**
     * The check's verdict: empty when the file is sound and every row keeps its table's rules; a {@link Damage} when
     * any line is not a broken rule; else the broken rules, each with the rows that break it (for a sentence).
     */
    sealed interface Verdict permits Sound, Damaged, BrokenRules {
    }

    record Sound() implements Verdict {
    }

    /** @param finding the first line of the check that is damage */
    record Damaged(String finding) implements Verdict {
    }

    /** @param rules each rule broken, with the rows that break it: "services rowid 3 failing CHECK (...)" */
    record BrokenRules(List<String> rules) implements Verdict {
    }

    private FileCheck() {
    }

    /** Runs {@code pragma} ({@code quick_check} or {@code integrity_check}) on {@code connection}; reads only. */
    static Verdict run(Connection connection, String pragma) throws SQLException {
        List<String> findings = new ArrayList<>();
        try (Statement statement = connection.createStatement();
             ResultSet check = statement.executeQuery("PRAGMA " + pragma + "(" + MOST_FINDINGS + ")")) {
            while (check.next()) {
                findings.add(check.getString(1));
            }
        }
        if (findings.equals(List.of("ok"))) {
            return new Sound();
        }
        if (findings.isEmpty()) {
            return new Damaged("no answer");
        }
        Optional<String> damage = findings.stream()
                .filter(f -> !NULL_VALUE.matcher(f).matches() && !CHECK_FAILED.matcher(f).matches()).findFirst();
        if (damage.isPresent()) {
            // SQLite puts "*** in database main ***" on a line of its own before the first damage it found
            return new Damaged(damage.get().lines().map(String::strip)
                    .filter(line -> !line.isEmpty() && !DATABASE_HEADER.matcher(line).matches()).findFirst()
                    .orElse(damage.get().strip()));
        }
        List<String> rules = new ArrayList<>();
        for (String finding : new LinkedHashSet<>(findings)) {
            rules.addAll(describe(connection, finding));
        }
        return new BrokenRules(rules);
    }

    /** The rule a finding names, with its rows; the finding as SQLite said it when they cannot be found. */
    private static List<String> describe(Connection connection, String finding) {
        try {
            Matcher nullValue = NULL_VALUE.matcher(finding);
            if (nullValue.matches()) {
                String table = nullValue.group(1);
                String column = nullValue.group(2);
                // Not "IS NULL": SQLite takes that to be false in a NOT NULL column and finds nothing.
                String rows = rows(connection, table, "typeof(" + quote(column) + ") = 'null'");
                return List.of(rows.isEmpty() ? finding
                        : table + " " + rows + " without a " + column + " (NULL in a NOT NULL column)");
            }
            Matcher checkFailed = CHECK_FAILED.matcher(finding);
            checkFailed.matches();
            String table = checkFailed.group(1);
            List<String> rules = new ArrayList<>();
            for (String check : checks(connection, table)) {
                String rows = rows(connection, table, "NOT (" + check + ")");
                if (!rows.isEmpty()) {
                    rules.add(table + " " + rows + " failing CHECK (" + check + ")");
                }
            }
            return rules.isEmpty() ? List.of(finding) : rules;
        } catch (SQLException e) {
            return List.of(finding);
        }
    }

    /** "rowid 3" or "rowids 3, 7" (and "and more" past {@link #MOST_ROWS}); empty when no row matches. */
    private static String rows(Connection connection, String table, String condition) throws SQLException {
        List<Long> rowids = new ArrayList<>();
        try (PreparedStatement select = connection.prepareStatement(
                "SELECT rowid FROM " + quote(table) + " WHERE " + condition + " ORDER BY rowid LIMIT " + (MOST_ROWS + 1));
             ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                rowids.add(rows.getLong(1));
            }
        }
        if (rowids.isEmpty()) {
            return "";
        }
        String listed = String.join(", ", rowids.stream().limit(MOST_ROWS).map(String::valueOf).toList());
        return (rowids.size() == 1 ? "rowid " : "rowids ") + listed + (rowids.size() > MOST_ROWS ? " and more" : "");
    }

    /** The CHECK expressions of {@code table}, as its CREATE TABLE (with columns added since) states them. */
    static List<String> checks(Connection connection, String table) throws SQLException {
        String sql;
        try (PreparedStatement select = connection.prepareStatement(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?")) {
            select.setString(1, table);
            try (ResultSet row = select.executeQuery()) {
                sql = row.next() ? row.getString(1) : null;
            }
        }
        Set<String> checks = new LinkedHashSet<>();
        if (sql == null) {
            return List.of();
        }
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"' || c == '`') {
                i = sql.indexOf(c, i + 1);
                if (i < 0) {
                    break;
                }
            } else if (sql.regionMatches(true, i, "CHECK", 0, 5) && (i == 0 || !isWordChar(sql.charAt(i - 1)))
                    && (i + 5 >= sql.length() || !isWordChar(sql.charAt(i + 5)))) {
                int open = sql.indexOf('(', i + 5);
                int close = open < 0 || !sql.substring(i + 5, open).isBlank() ? -1 : closing(sql, open);
                if (close < 0) {
                    continue;
                }
                checks.add(sql.substring(open + 1, close).strip());
                i = close;
            }
        }
        return List.copyOf(checks);
    }

    /** The index of the parenthesis that closes the one at {@code open}, quotes skipped; -1 if there is none. */
    private static int closing(String sql, int open) {
        int depth = 0;
        for (int i = open; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"' || c == '`') {
                i = sql.indexOf(c, i + 1);
                if (i < 0) {
                    return -1;
                }
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    private static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
