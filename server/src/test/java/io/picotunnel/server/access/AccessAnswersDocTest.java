package io.picotunnel.server.access;

import io.picotunnel.protocol.ws.TunnelErrorCodes;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 * or {@link AccessErrorCodes} constant, so an answer added there is checked without this test naming it; one written
 * otherwise (its status or error in a variable) fails the test, as it could not be checked.
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
    /** Where an answer or a page that asks first is made: each must be read by {@link #ANSWER} or {@link #CONFIRM}. */
    private static final Pattern MADE = Pattern.compile("new\\s+(?:HttpVerdict\\.)?(Answer|Confirm)\\s*\\(|Answer\\.of\\s*\\(");
    /** The one answer made with its caller's status and error: {@link HttpVerdict.Answer#of}'s, in its file. */
    private static final String FORWARDED = "new Answer(status, error,";
    private static final String FORWARDED_IN = "HttpVerdict.java";
    private static final Pattern ROW = Pattern.compile("\\| (\\d{3}) \\| `([a-z_]+)` \\|");
    private static final String HEADER = "| status | error |";
    private static final String RULE = "| --- |";

    @Test
    void everyAnswerOfTheGatesIsInTheDocsTableWithItsStatusAndError() throws Exception {
        Set<String> answers = answers();
        assertThat(answers).as("answers read from %s", SOURCES).hasSizeGreaterThan(10);
        assertThat(documentedAnswers()).as("status and error of each row of docs/access-control.md's table")
                .isEqualTo(answers);
    }

    /**
     * Fails when an answer of the sources would not be read (its status or error not written as {@link #ANSWER}
     * reads them): it would be missing from the answers compared with the table, unchecked.
     */
    @Test
    void everyAnswerOfTheGatesHasAStatusAndAnErrorThisTestReads() throws IOException {
        assertThat(unreadAnswers(sources())).as("answers whose status or error this test cannot read").isEmpty();
    }

    /** {@link #unreadAnswers} finds an answer whose error is a variable, as it finds one the table would miss. */
    @Test
    void anAnswerWithItsErrorInAVariableIsNotRead() {
        assertThat(unreadAnswers(Map.of(Path.of("Gate.java"), """
                return HttpVerdict.Answer.of(403, "forbidden", "No.");
                return new HttpVerdict.Answer(429, code, "Wait.", Map.of(), List.of());
                """))).containsExactly("Gate.java:2: new HttpVerdict.Answer(429, code, \"Wait.\", Map.of(), List.of());");
    }

    /**
     * Only {@link HttpVerdict.Answer#of} may forward its caller's status and error: a helper of a gate written the same
     * way would make answers the table is never compared with.
     */
    @Test
    void anAnswerForwardingItsStatusAndErrorIsReadOnlyInHttpVerdict() {
        String forwarding = """
                return new Answer(status, error, message, Map.of(), List.of());
                """;
        assertThat(unreadAnswers(Map.of(Path.of("HttpVerdict.java"), forwarding))).as("Answer.of's own").isEmpty();
        assertThat(unreadAnswers(Map.of(Path.of("Gate.java"), forwarding)))
                .containsExactly("Gate.java:1: new Answer(status, error, message, Map.of(), List.of());");
    }

    private static Set<String> answers() throws Exception {
        Set<String> answers = new TreeSet<>();
        for (String source : sources().values()) {
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

    /** The sources that make the gates' answers, by path. */
    private static Map<Path, String> sources() throws IOException {
        Set<Path> paths = new TreeSet<>(PROXY_SOURCES);
        try (Stream<Path> files = Files.list(SOURCES)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(paths::add);
        }
        Map<Path, String> sources = new TreeMap<>();
        for (Path path : paths) {
            sources.put(path, Files.readString(path));
        }
        return sources;
    }

    /** Each answer or page that asks first made in {@code sources} that {@link #answers} would not read, with its line. */
    private static List<String> unreadAnswers(Map<Path, String> sources) {
        List<String> unread = new ArrayList<>();
        sources.forEach((path, source) -> {
            Matcher made = MADE.matcher(source);
            while (made.find()) {
                boolean confirm = "Confirm".equals(made.group(1));
                int from = source.indexOf(confirm ? "Confirm" : "Answer", made.start());
                if (!(confirm ? CONFIRM : ANSWER).matcher(source).region(from, source.length()).lookingAt()
                        && !(path.endsWith(FORWARDED_IN) && source.startsWith(FORWARDED, made.start()))) {
                    int line = 1 + (int) source.substring(0, made.start()).chars().filter(c -> c == '\n').count();
                    int lineEnd = source.indexOf('\n', made.start());
                    unread.add(path.getFileName() + ":" + line + ": "
                            + source.substring(made.start(), lineEnd < 0 ? source.length() : lineEnd).strip());
                }
            }
        });
        return unread;
    }

    /** The status and error of each row of the table; fails on a row whose status or error it cannot read. */
    private static Set<String> documentedAnswers() throws IOException {
        String doc = Files.readString(MODULE.getParent().resolve("docs/access-control.md"));
        int start = doc.indexOf("\n## Answers to refused visitors");
        assertThat(start).as("the section of the gates' answers in docs/access-control.md").isPositive();
        int end = doc.indexOf("\n## ", start + 1);
        Set<String> answers = new TreeSet<>();
        List<String> unread = new ArrayList<>();
        doc.substring(start, end < 0 ? doc.length() : end).lines()
                .filter(line -> line.startsWith("|") && !line.startsWith(HEADER) && !line.startsWith(RULE))
                .forEach(line -> {
                    Matcher row = ROW.matcher(line);
                    if (row.lookingAt()) {
                        answers.add(row.group(1) + " " + row.group(2));
                    } else {
                        unread.add(line.length() > 80 ? line.substring(0, 80) + "…" : line);
                    }
                });
        assertThat(unread).as("rows of docs/access-control.md's table without a status and an `error`").isEmpty();
        return answers;
    }
}
