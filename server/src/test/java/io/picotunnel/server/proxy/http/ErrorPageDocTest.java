package io.picotunnel.server.proxy.http;

import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.server.net.ConnectionLimits;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
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
 * docs/http-proxy.md's table of the proxy's own answers ("## Errors") against the code: every status a page of
 * {@link ErrorPage} or a connection limit's answer ({@link ConnectionLimits}) has is in the table, and every status
 * of the table is one of theirs. The pages are made by calling each of ErrorPage's factories (with every reset
 * reason), so a page added there is checked without this test naming it.
 */
class ErrorPageDocTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern ROW = Pattern.compile("(?m)^\\| ([0-9 /]+) \\|");
    private static final Pattern STATUS = Pattern.compile("\\d{3}");

    @Test
    void everyStatusTheProxyAnswersItselfIsInTheDocsTableAndNoOther() throws Exception {
        assertThat(documentedStatuses()).as("statuses of the Errors table of docs/http-proxy.md")
                .isEqualTo(answeredStatuses());
    }

    private static Set<Integer> documentedStatuses() throws Exception {
        String doc = Files.readString(ROOT.resolve("docs/http-proxy.md"));
        int start = doc.indexOf("\n## Errors");
        assertThat(start).as("the Errors section of docs/http-proxy.md").isPositive();
        int end = doc.indexOf("\n## ", start + 1);
        Set<Integer> statuses = new TreeSet<>();
        Matcher row = ROW.matcher(doc.substring(start, end < 0 ? doc.length() : end));
        while (row.find()) {
            Matcher status = STATUS.matcher(row.group(1));
            while (status.find()) {
                statuses.add(Integer.parseInt(status.group()));
            }
        }
        return statuses;
    }

    private static Set<Integer> answeredStatuses() throws Exception {
        Set<Integer> statuses = new TreeSet<>();
        int factories = 0;
        for (Method method : ErrorPage.class.getDeclaredMethods()) {
            if (!Modifier.isStatic(method.getModifiers()) || method.getReturnType() != ErrorPage.class) {
                continue;
            }
            factories++;
            for (Object[] args : arguments(method)) {
                ErrorPage page = (ErrorPage) method.invoke(null, args);
                if (page != null) {
                    statuses.add(page.status().code());
                }
            }
        }
        assertThat(factories).as("ErrorPage's factories").isGreaterThan(5);
        Method limitAnswer = ConnectionLimits.class.getDeclaredMethod("httpAnswer", ConnectionLimits.Refusal.class);
        limitAnswer.setAccessible(true);
        for (ConnectionLimits.Refusal refusal : ConnectionLimits.Refusal.values()) {
            String answer = new String((byte[]) limitAnswer.invoke(null, refusal), StandardCharsets.US_ASCII);
            statuses.add(Integer.parseInt(answer.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3)));
        }
        return statuses;
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
