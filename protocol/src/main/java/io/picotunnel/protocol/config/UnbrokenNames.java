package io.picotunnel.protocol.config;

import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Model.UsageMessageSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A {@code --help} that never breaks a line inside a dotted name ("tunnel." / "example.com"): picocli wraps with the
 * JDK's line BreakIterator, which allows a break after a '.' followed by a letter. Before wrapping, such a dot becomes
 * {@link #HELD_DOT}, which the iterator keeps inside its word and which is as wide; each section of the help, once
 * wrapped, has its '.' back, so what is printed can be copied.
 */
public final class UnbrokenNames {

    /** U+2024 ONE DOT LEADER: one column, and no line break on either side of it between letters. */
    public static final char HELD_DOT = '\u2024';

    private static final Pattern INNER_DOT = Pattern.compile("(?<=\\w)\\.(?=\\w)");

    private UnbrokenNames() {
    }

    /** Makes the help of {@code cmd} (its description, options, exit codes and footer) keep dotted names whole. */
    public static void applyTo(CommandLine cmd) {
        UsageMessageSpec usage = cmd.getCommandSpec().usageMessage();
        usage.header(hold(usage.header()));
        usage.description(hold(usage.description()));
        usage.footer(hold(usage.footer()));
        Map<String, String> exitCodes = new LinkedHashMap<>();
        usage.exitCodeList().forEach((code, meaning) -> exitCodes.put(code, hold(meaning)));
        usage.exitCodeList(exitCodes);
        cmd.setHelpFactory((spec, colors) -> new Help(spec, colors) {
            @Override
            public IOptionRenderer createDefaultOptionRenderer() {
                IOptionRenderer rendered = super.createDefaultOptionRenderer();
                return (option, labels, scheme) -> held(rendered.render(option, labels, scheme), scheme);
            }
        });
        Map<String, CommandLine.IHelpSectionRenderer> sections = new LinkedHashMap<>();
        cmd.getHelpSectionMap().forEach((key, section) ->
                sections.put(key, help -> section.render(help).replace(HELD_DOT, '.')));
        cmd.setHelpSectionMap(sections);
    }

    /** An option's rows with the dots of its description (the last column) held. */
    private static Text[][] held(Text[][] rows, Help.ColorScheme scheme) {
        for (Text[] row : rows) {
            int last = row.length - 1;
            row[last] = scheme.text(hold(row[last].plainString()));
        }
        return rows;
    }

    private static String[] hold(String[] texts) {
        String[] held = new String[texts.length];
        for (int i = 0; i < texts.length; i++) {
            held[i] = hold(texts[i]);
        }
        return held;
    }

    private static String hold(String text) {
        return INNER_DOT.matcher(text).replaceAll(String.valueOf(HELD_DOT));
    }
}
