package io.picotunnel.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * Lines of a {@code --help} as printed that end early: picocli wraps every text to the width, so a text broken by
 * hand is wrapped again and leaves a short line ("the server") before a word that would have fitted on it.
 */
public final class HelpLayout {

    /** Picocli's wrapping leaves a column or two free at the end of a line; only a clear gap counts. */
    private static final int SLACK = 4;

    private HelpLayout() {
    }

    /** The pairs of lines of {@code help} where the first ends though the next line's first word fits on it. */
    public static List<String> linesEndingEarly(String help, int width) {
        List<String> lines = help.lines().map(String::stripTrailing).toList();
        List<String> flaws = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String before = lines.get(i - 1);
            String line = lines.get(i);
            if (before.isBlank() || line.isBlank()) {
                continue;
            }
            String first = line.strip().split("\\s+")[0];
            if (!endsItem(before) && !startsItem(line, first)
                    && before.length() + 1 + first.length() <= width - SLACK) {
                flaws.add("\"" + before + "\" / \"" + line + "\"");
            }
        }
        return flaws;
    }

    /**
     * The pairs of lines of {@code help} where the first ends inside a URL or a host:port: picocli breaks a line after
     * a dot or a colon within a word ("wss://host:" / "port"), which leaves an address no one can copy.
     */
    public static List<String> linesBreakingAnAddress(String help) {
        List<String> lines = help.lines().map(String::strip).toList();
        List<String> flaws = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String before = lines.get(i - 1);
            String line = lines.get(i);
            if (before.isEmpty() || line.isEmpty()) {
                continue;
            }
            String[] words = before.split("\\s+");
            String last = words[words.length - 1];
            String first = line.split("\\s+")[0];
            boolean inUrl = last.contains("://") && last.matches(".*[:/.@\\[]");
            // "host:" / "8443" or "example.com:" / "443", not "Default:" / "256." nor "Exit codes:" / "0   stopped".
            boolean inHostPort = last.matches("(?i)(host|localhost|[\\w-]+(\\.[\\w-]+)+|\\[[\\p{XDigit}:.]+]):")
                    && first.matches("(\\d|port|PORT).*") && !line.matches("\\d+\\s{2,}.*");
            if (inUrl || inHostPort) {
                flaws.add("\"" + before + "\" / \"" + line + "\"");
            }
        }
        return flaws;
    }

    /**
     * The pairs of lines of {@code help} where the first ends at a dot inside a dotted name, "tunnel." / "example.com"
     * or "registry.example." / "com/team/": the JDK's line breaking, which picocli wraps with, allows a break there.
     */
    public static List<String> linesBreakingAHostName(String help) {
        List<String> lines = help.lines().map(String::strip).toList();
        List<String> flaws = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String before = lines.get(i - 1);
            String line = lines.get(i);
            if (before.isEmpty() || line.isEmpty()) {
                continue;
            }
            String[] words = before.split("\\s+");
            String last = words[words.length - 1];
            String first = line.split("\\s+")[0];
            // "example." / "com." but not "the same." / "none:" nor "Default: 10s." / "Env:".
            if (last.matches("[a-z0-9-]+(\\.[a-z0-9-]+)*\\.") && first.matches("[a-z0-9][a-z0-9-]*(\\.[a-z0-9-]+)*(/\\S*)?[.,;)]*")) {
                flaws.add("\"" + before + "\" / \"" + line + "\"");
            }
        }
        return flaws;
    }

    /** The end of a sentence, an option's name alone on its line (options are indented), or a piece of the synopsis. */
    private static boolean endsItem(String line) {
        String text = line.strip();
        return text.endsWith(".") || text.endsWith(":") || line.matches("\\s{2,}-\\S*") || text.endsWith("]");
    }

    /** An option, a piece of the synopsis or an exit code. */
    private static boolean startsItem(String line, String first) {
        return line.matches("\\s{2,}-.*") || first.startsWith("[") || line.matches("\\s*\\d+\\s{2,}.*");
    }
}
