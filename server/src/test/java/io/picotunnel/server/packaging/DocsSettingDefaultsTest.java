package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.DeclaredSetting;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.config.Limits;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A default the docs give in passing, "(`PICOTUNNEL_HEADER_TIMEOUT`, default 20s", "`--max-connections` (default
 * 10000" or "`--check-interval`, default `60s`", is the one a program declares for that setting, so a new default
 * cannot leave docs/*.md saying the old one. A name both programs declare (`--shutdown-grace`) is checked against the
 * program the doc speaks of: the one its section's heading names ("Client shutdown") or "the client's" right before
 * the name; where neither is named, the default must be both programs'.
 */
class DocsSettingDefaultsTest {

    private static final Pattern BY_VARIABLE = Pattern.compile("`(PICOTUNNEL_[A-Z0-9_]+)`, default `?([^`,;) ]+(?: [KMG]iB)?)");
    private static final Pattern BY_FLAG = Pattern.compile("`(--[a-z0-9-]+)`(?: \\(|, )default `?([^`,;) ]+(?: [KMG]iB)?)");
    private static final Pattern HEADING = Pattern.compile("^#+ ");

    private enum Program {
        SERVER(io.picotunnel.server.config.Setting.values()),
        CLIENT(io.picotunnel.client.config.Setting.values());

        final List<DeclaredSetting> settings;
        final String word;

        Program(DeclaredSetting[] settings) {
            this.settings = List.of(settings);
            this.word = name().toLowerCase(Locale.ROOT);
        }

        /** The program a doc's section is about: the one its heading names, or (null) neither or both. */
        static Program ofHeading(String heading) {
            List<Program> named = Stream.of(values())
                    .filter(p -> Pattern.compile("\\b" + p.word + "\\b", Pattern.CASE_INSENSITIVE).matcher(heading).find())
                    .toList();
            return named.size() == 1 ? named.get(0) : null;
        }
    }

    @Test
    void everyDefaultTheDocsGiveInPassingIsTheDeclaredOne() throws IOException {
        List<String> checked = new ArrayList<>();
        try (Stream<Path> docs = Files.list(DeploymentFilesTest.ROOT.resolve("docs"))) {
            for (Path doc : docs.filter(path -> path.toString().endsWith(".md")).sorted().toList()) {
                checked.addAll(checkDoc(doc, Files.readAllLines(doc)));
            }
        }
        assertThat(checked).as("the defaults docs/*.md give in passing").hasSizeGreaterThan(10);
    }

    @Test
    void aSettingBothProgramsDeclareIsCheckedAgainstTheProgramItsSectionNames() {
        Path doc = Path.of("example.md");

        assertThat(checkDoc(doc, List.of("### Server shutdown", "up to `--shutdown-grace` (default `30s`;",
                "### Client shutdown", "up to `--shutdown-grace` (default `10s`;",
                "## Windows", "up to `--max-stream-window` (default 16 MiB;",
                "## Both", "the client's `--shutdown-grace` (default `10s`;")))
                .containsExactly("--shutdown-grace=30s", "--shutdown-grace=10s", "--max-stream-window=16MiB",
                        "--shutdown-grace=10s");
        assertThatThrownBy(() -> checkDoc(doc, List.of("### Server shutdown", "`--shutdown-grace` (default `10s`;")))
                .hasMessageContaining("the default example.md gives --shutdown-grace (for the server)");
        assertThatThrownBy(() -> checkDoc(doc, List.of("## Both", "`--shutdown-grace` (default `10s`;")))
                .hasMessageContaining("the default example.md gives --shutdown-grace (for both programs)");
    }

    @Test
    void theClientsDialTimeoutDefaultIsTheDeclaredOne() throws IOException {
        String doc = Files.readString(DeploymentFilesTest.ROOT.resolve("docs/protocol.md")).replaceAll("\\s+", " ");
        String dialTimeout = Durations.format(Durations.parse(
                io.picotunnel.client.config.Setting.DIAL_TIMEOUT.declaration().defaultValue()));

        assertThat(doc).contains("(the client's `--dial-timeout`, " + dialTimeout + " by default,")
                .contains("(`--dial-timeout`, " + dialTimeout + " by default, which bounds");
    }

    @Test
    void theReadmeGivesBothShutdownGraces() throws IOException {
        String readme = Files.readString(DeploymentFilesTest.ROOT.resolve("README.md")).replaceAll("\\s+", " ");

        assertThat(readme).contains("must wait longer than that grace ("
                + grace(io.picotunnel.server.config.Setting.SHUTDOWN_GRACE) + "; the client's is "
                + grace(io.picotunnel.client.config.Setting.SHUTDOWN_GRACE) + ")");
    }

    /** The declared default, or the one worked out in code when the declaration gives it in words. */
    private static String defaultValue(DeclaredSetting setting) {
        if (setting == io.picotunnel.server.config.Setting.MAX_TUNNEL_REQUESTS) {
            return Integer.toString(Limits.DEFAULTS.maxTunnelRequests());
        }
        return setting.declaration().defaultValue();
    }

    private static String grace(DeclaredSetting setting) {
        return Durations.format(Durations.parse(setting.declaration().defaultValue()));
    }

    /** Checks {@code lines} section by section; the defaults checked, as name=value. */
    private static List<String> checkDoc(Path doc, List<String> lines) {
        List<String> checked = new ArrayList<>();
        String heading = "";
        StringBuilder section = new StringBuilder();
        boolean fenced = false;
        for (String line : lines) {
            if (line.startsWith("```")) {
                fenced = !fenced;
            }
            if (!fenced && HEADING.matcher(line).find()) {
                checked.addAll(checkSection(doc, Program.ofHeading(heading), section.toString()));
                heading = line;
                section.setLength(0);
            } else {
                section.append(line).append('\n');
            }
        }
        checked.addAll(checkSection(doc, Program.ofHeading(heading), section.toString()));
        return checked;
    }

    private static List<String> checkSection(Path doc, Program program, String section) {
        String text = section.replaceAll("\\s+", " ");
        List<String> checked = new ArrayList<>();
        checked.addAll(check(doc, program, text, BY_VARIABLE, name -> setting -> setting.envVar().equals(name)));
        checked.addAll(check(doc, program, text, BY_FLAG, name -> setting -> Objects.equals(setting.flag(), name)));
        return checked;
    }

    private static List<String> check(Path doc, Program sectionProgram, String text, Pattern pattern,
                                      Function<String, Predicate<DeclaredSetting>> named) {
        List<String> checked = new ArrayList<>();
        Matcher match = pattern.matcher(text);
        while (match.find()) {
            String name = match.group(1);
            String shown = match.group(2).replace(" ", ""); // 16 MiB as declared: 16MiB
            Program program = namedRightBefore(text, match.start()).orElse(sectionProgram);
            List<Program> declaring = Stream.of(Program.values())
                    .filter(p -> p.settings.stream().anyMatch(named.apply(name))).toList();
            assertThat(declaring).as("%s in %s: a setting a program declares", name, doc.getFileName()).isNotEmpty();
            List<Program> meant = declaring.size() > 1 && program != null ? List.of(program) : declaring;
            List<String> declared = meant.stream()
                    .flatMap(p -> p.settings.stream().filter(named.apply(name)))
                    .map(DocsSettingDefaultsTest::defaultValue).filter(Objects::nonNull).toList();
            if (declared.isEmpty()) {
                continue; // a default the program gives in words (--session-buffer-limit: a share of the heap)
            }
            assertThat(declared).as("the default %s gives %s (for %s)", doc.getFileName(), name,
                    meant.size() > 1 ? "both programs" : "the " + meant.get(0).word).containsOnly(shown);
            checked.add(name + "=" + shown);
        }
        return checked;
    }

    /** "the client's `--shutdown-grace`": the program named just before the setting, if any. */
    private static Optional<Program> namedRightBefore(String text, int start) {
        String before = text.substring(Math.max(0, start - 16), start);
        return Stream.of(Program.values()).filter(p -> before.endsWith("the " + p.word + "'s ")).findFirst();
    }
}
