package io.picotunnel.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

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
        return breaksWhere(help, pair -> {
            boolean inUrl = pair.last().contains("://") && pair.last().matches(".*[:/.@\\[]");
            // "host:" / "8443" or "example.com:" / "443", not "Default:" / "256." nor "Exit codes:" / "0   stopped".
            boolean inHostPort = pair.last().matches("(?i)(host|localhost|[\\w-]+(\\.[\\w-]+)+|\\[[\\p{XDigit}:.]+]):")
                    && pair.first().matches("(\\d|port|PORT).*") && !pair.line().matches("\\d+\\s{2,}.*");
            return inUrl || inHostPort;
        });
    }

    /**
     * The pairs of lines of {@code help} where the first ends at a dot inside a dotted name, "tunnel." / "example.com"
     * or "registry.example." / "com/team/": the JDK's line breaking, which picocli wraps with, allows a break there.
     */
    public static List<String> linesBreakingAHostName(String help) {
        // "example." / "com." but not "the same." / "none:" nor "Default: 10s." / "Env:".
        return breaksWhere(help, pair -> pair.last().matches("[a-z0-9-]+(\\.[a-z0-9-]+)*\\.")
                && pair.first().matches("[a-z0-9][a-z0-9-]*(\\.[a-z0-9-]+)*(/\\S*)?[.,;)]*"));
    }

    /** Two lines in a row, stripped and neither empty, with the last word of the first and the first of the next. */
    private record LineBreak(String line, String last, String first) {
    }

    /** The pairs of lines of {@code help}, each line stripped, where the break between them is {@code flawed}. */
    private static List<String> breaksWhere(String help, Predicate<LineBreak> flawed) {
        List<String> lines = help.lines().map(String::strip).toList();
        List<String> flaws = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String before = lines.get(i - 1);
            String line = lines.get(i);
            if (before.isEmpty() || line.isEmpty()) {
                continue;
            }
            String[] words = before.split("\\s+");
            if (flawed.test(new LineBreak(line, words[words.length - 1], line.split("\\s+")[0]))) {
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
