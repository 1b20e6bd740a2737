package io.picotunnel.protocol.config;

import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What is wrong with a command line, said without the arguments that match no flag: picocli prints them whole, and
 * such an argument is often a secret (a token given without its flag, after a flag that takes no value, or after a
 * misspelt flag), which would end up in the terminal, the journal or the container's log.
 */
public final class UsageErrors {

    private UsageErrors() {
    }

    /**
     * The problem with the command line in {@code e}. Arguments that match no flag are told by position (counted
     * from 1, after {@code before} arguments the parser did not see, such as a subcommand's name) and never shown;
     * one that starts with -- is named up to its '=' as an unknown flag, with the flag it most likely meant (a
     * {@link #TYPOS} edit away, as git's "did you mean", or else the one flag it shortens or lengthens by whole words,
     * as --listen or --listen-address for --listen-addr). {@code example} shows a flag with its value,
     * as in {@code --token TOKEN}. Other problems are picocli's message, which names flags only.
     */
    public static String describe(CommandLine.ParameterException e, int before, String example) {
        if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched) || unmatched.getUnmatched().isEmpty()) {
            return e.getMessage();
        }
        List<String> arguments = unmatched.getUnmatched();
        int[] positions = positions(arguments, e.getCommandLine().getParseResult());
        List<String> parts = new ArrayList<>();
        boolean hidden = false;
        for (int i = 0; i < arguments.size(); i++) {
            String argument = arguments.get(i);
            String at = positions[i] < 0 ? "" : "argument " + (positions[i] + 1 + before);
            if (argument.startsWith("--") && argument.length() > 2) {
                int equals = argument.indexOf('=');
                String flag = equals < 0 ? argument : argument.substring(0, equals);
                List<String> notes = new ArrayList<>();
                if (!at.isEmpty()) {
                    notes.add(at);
                }
                meant(flag, e.getCommandLine().getCommandSpec()).ifPresent(m -> notes.add("did you mean " + m + "?"));
                parts.add("unknown flag " + flag + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")"));
            } else {
                hidden = true;
                parts.add(positions[i] < 0 ? "an argument that belongs to no flag"
                        : "argument " + (positions[i] + 1 + before) + " belongs to no flag");
            }
        }
        String count = arguments.size() == 1 ? "1 argument" : arguments.size() + " arguments";
        return count + " not understood: " + String.join("; ", parts)
                + (hidden ? " (not shown: it may be a secret; a value goes right after its flag, as in " + example + ")"
                        : "");
    }

    /** At most this many edits (a letter left out, added, changed, or two swapped) make a flag a likely typo. */
    static final int TYPOS = 2;

    /**
     * The one visible flag of {@code spec} nearest to {@code flag} within {@link #TYPOS} edits, else the one that
     * {@code flag} shortens or lengthens by whole words; empty on a tie.
     */
    private static Optional<String> meant(String flag, CommandLine.Model.CommandSpec spec) {
        return nearest(flag, visibleFlags(spec)).or(() -> wordsApart(flag, visibleFlags(spec)));
    }

    private static List<String> visibleFlags(CommandLine.Model.CommandSpec spec) {
        List<String> flags = new ArrayList<>();
        for (CommandLine.Model.OptionSpec option : spec.options()) {
            for (String name : option.names()) {
                if (!option.hidden() && name.startsWith("--")) {
                    flags.add(name);
                }
            }
        }
        return flags;
    }

    private static Optional<String> nearest(String flag, List<String> flags) {
        String best = null;
        int bestDistance = TYPOS + 1;
        boolean tie = false;
        for (String name : flags) {
            int distance = distance(flag, name);
            if (distance < bestDistance) {
                best = name;
                bestDistance = distance;
                tie = false;
            } else if (distance == bestDistance && !name.equals(best)) {
                tie = true;
            }
        }
        return tie ? Optional.empty() : Optional.ofNullable(best);
    }

    /**
     * The one flag that {@code flag} is the first words of (--listen, --tunnel for --listen-addr, --tunnel-addr) or
     * that is the start of {@code flag} (--listen-address, --data-directory); words are split at '-'. Too far for
     * {@link #distance} to find, yet what flags of other tools (frp's, ngrok's) or the settings' variable names lead
     * to.
     */
    private static Optional<String> wordsApart(String flag, List<String> flags) {
        List<String> found = flags.stream()
                .filter(name -> name.startsWith(flag + "-") || lengthensLastWord(flag, name))
                .distinct()
                .toList();
        return found.size() == 1 ? Optional.of(found.get(0)) : Optional.empty();
    }

    /** Whether {@code flag} is {@code name} with more letters to its last word (--listen-address, --listen-addr). */
    private static boolean lengthensLastWord(String flag, String name) {
        return flag.length() > name.length() && flag.startsWith(name) && flag.charAt(name.length()) != '-';
    }

    /** Edits from {@code a} to {@code b}: optimal string alignment (Damerau-Levenshtein without repeated edits). */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /**
     * Where each of {@code arguments} is on the command line, -1 where unknown. Matched from the end: the parser
     * gives a command's own parameters the first arguments, so an argument left over is the last of equal ones.
     */
    private static int[] positions(List<String> arguments, CommandLine.ParseResult parsed) {
        int[] positions = new int[arguments.size()];
        List<String> original = parsed == null ? List.of() : parsed.originalArgs();
        int from = original.size() - 1;
        for (int i = arguments.size() - 1; i >= 0; i--) {
            int found = from;
            while (found >= 0 && !original.get(found).equals(arguments.get(i))) {
                found--;
            }
            positions[i] = found;
            from = found < 0 ? from : found - 1;
        }
        return positions;
    }
}
