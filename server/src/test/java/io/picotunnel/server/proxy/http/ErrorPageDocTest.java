package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.server.net.ConnectionLimits;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/http-proxy.md's table of the proxy's own answers ("## Errors") against the code: every page of {@link
 * ErrorPage} and answer of a connection limit ({@link ConnectionLimits}) is in the table, its {@code error} in a row
 * of its status; and every status and {@code error} of the table is one of theirs. The pages are made by calling each
 * of ErrorPage's factories (with every reset reason), so a page added there is checked without this test naming it.
 */
class ErrorPageDocTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern ROW_TEXT = Pattern.compile("(?m)^\\| ([0-9 /]+) \\|(.*)\\|$");
    private static final Pattern STATUS = Pattern.compile("\\d{3}");
    /** An {@code error} of the JSON form in a row: a code span in lower case right after a parenthesis. */
    private static final Pattern ERROR = Pattern.compile("\\(`([a-z]+(?:_[a-z]+)*)`");

    @Test
    void everyAnswerOfTheProxyIsInTheDocsTableWithItsStatusAndError() throws Exception {
        assertThat(documentedAnswers()).as("status and error of each answer of the Errors table of docs/http-proxy.md")
                .isEqualTo(answers());
    }

    /**
     * The answers of the table: each status of a row with each error of the row, as {@code "502 tunnel_offline"}; in
     * a row of several statuses ({@code 414 / 431}) its errors are in the same order.
     */
    private static Set<String> documentedAnswers() throws Exception {
        String doc = Files.readString(ROOT.resolve("docs/http-proxy.md"));
        int start = doc.indexOf("\n## Errors");
        assertThat(start).as("the Errors section of docs/http-proxy.md").isPositive();
        int end = doc.indexOf("\n## ", start + 1);
        Set<String> answers = new TreeSet<>();
        Matcher row = ROW_TEXT.matcher(doc.substring(start, end < 0 ? doc.length() : end));
        while (row.find()) {
            List<String> statuses = new ArrayList<>();
            Matcher status = STATUS.matcher(row.group(1));
            while (status.find()) {
                statuses.add(status.group());
            }
            List<String> errors = new ArrayList<>();
            Matcher error = ERROR.matcher(row.group(2));
            while (error.find()) {
                errors.add(error.group(1));
            }
            for (int i = 0; i < errors.size(); i++) {
                if (statuses.size() == 1) {
                    answers.add(statuses.get(0) + " " + errors.get(i));
                } else {
                    assertThat(errors).as("one error per status in the row %s", row.group(1)).hasSameSizeAs(statuses);
                    answers.add(statuses.get(i) + " " + errors.get(i));
                }
            }
        }
        return answers;
    }

    private static Set<String> answers() throws Exception {
        Set<String> answers = new TreeSet<>();
        int factories = 0;
        for (Method method : ErrorPage.class.getDeclaredMethods()) {
            if (!Modifier.isStatic(method.getModifiers()) || method.getReturnType() != ErrorPage.class) {
                continue;
            }
            factories++;
            for (Object[] args : arguments(method)) {
                ErrorPage page = (ErrorPage) method.invoke(null, args);
                if (page != null) {
                    answers.add(page.status().code() + " " + page.error());
                }
            }
        }
        assertThat(factories).as("ErrorPage's factories").isGreaterThan(5);
        for (ConnectionLimits.Refusal refusal : ConnectionLimits.Refusal.values()) {
            answers.add(refusal.status() + " " + refusal.error());
        }
        return answers;
    }

    /** The calls to make of a factory: one, or one per reset reason; a host, a reason text, a timeout as given. */
    private static List<Object[]> arguments(Method method) {
        Class<?>[] types = method.getParameterTypes();
        if (types.length == 1 && types[0] == ResetReason.class) {
            List<Object[]> calls = new ArrayList<>();
            for (ResetReason reason : ResetReason.values()) {
                calls.add(new Object[] {reason});
            }
            return calls;
        }
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            if (types[i] == String.class) {
                args[i] = "app.example.test";
            } else if (types[i] == Duration.class) {
                args[i] = Duration.ofSeconds(60);
            } else {
                throw new AssertionError("ErrorPage." + method.getName() + " takes a " + types[i].getSimpleName()
                        + ": tell this test how to call it");
            }
        }
        return List.<Object[]>of(args);
    }
}
