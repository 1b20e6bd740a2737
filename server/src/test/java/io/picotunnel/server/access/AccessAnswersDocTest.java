package io.picotunnel.server.access;

import io.picotunnel.protocol.ws.TunnelErrorCodes;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/access-control.md's table of the gates' answers ("## Answers to refused visitors") against the code: every
 * {@link HttpVerdict.Answer} and {@link HttpVerdict.Confirm} (a 200 page) that this package and the proxy's access
 * hook make is a row with its status and {@code error}, and every row is one of them. The answers are read from the
 * sources, where each is written with its status as a literal and its error as one or as a {@link TunnelErrorCodes}
 * or {@link AccessErrorCodes} constant, so an answer added there is checked without this test naming it.
 */
class AccessAnswersDocTest {

    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path SOURCES = MODULE.resolve("src/main/java/io/picotunnel/server/access");
    /** Where the proxy makes an answer of its own when the access check cannot give one. */
    private static final Set<Path> PROXY_SOURCES = Set.of(
            MODULE.resolve("src/main/java/io/picotunnel/server/proxy/http/AccessHook.java"),
            MODULE.resolve("src/main/java/io/picotunnel/server/proxy/http/ProxyHandler.java"));
    private static final Pattern ANSWER = Pattern.compile(
            "Answer(?:\\.of)?\\(\\s*(\\d{3}),\\s*(?:\"([a-z_]+)\"|(TunnelErrorCodes|AccessErrorCodes)\\.([A-Z_]+))");
    private static final Pattern CONFIRM = Pattern.compile("Confirm\\(\\s*\"([a-z_]+)\"");
    private static final Pattern ROW = Pattern.compile("(?m)^\\| (\\d{3}) \\| `([a-z_]+)` \\|");

    @Test
    void everyAnswerOfTheGatesIsInTheDocsTableWithItsStatusAndError() throws Exception {
        Set<String> answers = answers();
        assertThat(answers).as("answers read from %s", SOURCES).hasSizeGreaterThan(10);
        assertThat(documentedAnswers()).as("status and error of each row of docs/access-control.md's table")
                .isEqualTo(answers);
    }

    private static Set<String> answers() throws Exception {
        Set<String> answers = new TreeSet<>();
        Set<Path> sources = new TreeSet<>(PROXY_SOURCES);
        try (Stream<Path> files = Files.list(SOURCES)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(sources::add);
        }
        for (Path file : sources) {
            String source = Files.readString(file);
            Matcher answer = ANSWER.matcher(source);
            while (answer.find()) {
                Class<?> codes = "TunnelErrorCodes".equals(answer.group(3)) ? TunnelErrorCodes.class
                        : AccessErrorCodes.class;
                String error = answer.group(2) != null ? answer.group(2)
                        : (String) codes.getField(answer.group(4)).get(null);
                answers.add(answer.group(1) + " " + error);
            }
            Matcher confirm = CONFIRM.matcher(source);
            while (confirm.find()) {
                answers.add("200 " + confirm.group(1));
            }
        }
        return answers;
    }

    private static Set<String> documentedAnswers() throws IOException {
        String doc = Files.readString(MODULE.getParent().resolve("docs/access-control.md"));
        int start = doc.indexOf("\n## Answers to refused visitors");
        assertThat(start).as("the section of the gates' answers in docs/access-control.md").isPositive();
        int end = doc.indexOf("\n## ", start + 1);
        Set<String> answers = new TreeSet<>();
        Matcher row = ROW.matcher(doc.substring(start, end < 0 ? doc.length() : end));
        while (row.find()) {
            answers.add(row.group(1) + " " + row.group(2));
        }
        return answers;
    }
}
