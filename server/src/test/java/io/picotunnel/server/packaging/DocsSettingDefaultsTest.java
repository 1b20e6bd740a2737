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
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A default the docs give in passing, "(`PICOTUNNEL_HEADER_TIMEOUT`, default 20s", "`--max-connections` (default
 * 10000" or "`--check-interval`, default `60s`", is the one a program declares for that setting, so a new default
 * cannot leave docs/*.md saying the old one. A name both programs declare (`--shutdown-grace`) may give either
 * program's default.
 */
class DocsSettingDefaultsTest {

    private static final Pattern BY_VARIABLE = Pattern.compile("`(PICOTUNNEL_[A-Z0-9_]+)`, default `?([^`,;) ]+(?: [KMG]iB)?)");
    private static final Pattern BY_FLAG = Pattern.compile("`(--[a-z0-9-]+)`(?: \\(|, )default `?([^`,;) ]+(?: [KMG]iB)?)");

    private static final List<DeclaredSetting> SETTINGS = Stream.concat(
            Stream.of(io.picotunnel.server.config.Setting.values()),
            Stream.of(io.picotunnel.client.config.Setting.values())).map(DeclaredSetting.class::cast).toList();

    @Test
    void everyDefaultTheDocsGiveInPassingIsTheDeclaredOne() throws IOException {
        List<String> checked = new ArrayList<>();
        try (Stream<Path> docs = Files.list(DeploymentFilesTest.ROOT.resolve("docs"))) {
            for (Path doc : docs.filter(path -> path.toString().endsWith(".md")).sorted().toList()) {
                String text = Files.readString(doc).replaceAll("\\s+", " ");
                checked.addAll(check(doc, text, BY_VARIABLE, name -> setting -> setting.envVar().equals(name)));
                checked.addAll(check(doc, text, BY_FLAG, name -> setting -> Objects.equals(setting.flag(), name)));
            }
        }
        assertThat(checked).as("the defaults docs/*.md give in passing").hasSizeGreaterThan(10);
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

    private static List<String> check(Path doc, String text, Pattern pattern,
                                      Function<String, Predicate<DeclaredSetting>> named) {
        List<String> checked = new ArrayList<>();
        Matcher match = pattern.matcher(text);
        while (match.find()) {
            String name = match.group(1);
            String shown = match.group(2).replace(" ", ""); // 16 MiB as declared: 16MiB
            List<DeclaredSetting> settings = SETTINGS.stream().filter(named.apply(name)).toList();
            assertThat(settings).as("%s in %s: a setting a program declares", name, doc.getFileName()).isNotEmpty();
            List<String> declared = settings.stream().map(DocsSettingDefaultsTest::defaultValue)
                    .filter(Objects::nonNull).toList();
            if (declared.isEmpty()) {
                continue; // a default the program gives in words (--session-buffer-limit: a share of the heap)
            }
            assertThat(declared).as("the default %s gives %s", doc.getFileName(), name).contains(shown);
            checked.add(name + "=" + shown);
        }
        return checked;
    }
}
