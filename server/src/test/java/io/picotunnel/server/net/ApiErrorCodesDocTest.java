package io.picotunnel.server.net;

import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.server.access.AccessErrorCodes;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code error} code of docs/api.md's table of errors is one the code names: in {@link ApiErrorCodes}, or in
 * the classes of codes it shares ({@link TunnelErrorCodes}, {@link AccessErrorCodes}); so a code the docs give cannot
 * be one the server spells another way, nor a constant renamed leave the docs giving its old value; and every code of
 * {@link ApiErrorCodes} is given in the docs of what answers with it.
 */
class ApiErrorCodesDocTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern ROW = Pattern.compile("^\\| (\\d{3}) +\\| `([a-z_]+)` +\\|", Pattern.MULTILINE);

    @Test
    void everyCodeOfTheApiDocsErrorTableIsANamedCode() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/api.md"));
        String errors = doc.substring(doc.indexOf("## Errors"));
        List<String> documented = new ArrayList<>();
        for (Matcher row = ROW.matcher(errors); row.find(); ) {
            documented.add(row.group(2));
        }
        Set<String> named = new HashSet<>();
        for (Class<?> codes : List.of(ApiErrorCodes.class, TunnelErrorCodes.class, AccessErrorCodes.class)) {
            named.addAll(constants(codes));
        }

        assertThat(documented).as("the codes of docs/api.md's table of errors").hasSizeGreaterThanOrEqualTo(18)
                .allSatisfy(code -> assertThat(named).as("the named codes").contains(code));
        assertThat(constants(ApiErrorCodes.class)).as("ApiErrorCodes' values, each once").doesNotHaveDuplicates();
    }

    /**
     * The other way: every code of {@link ApiErrorCodes} is given in the docs of what answers with it, the API's
     * table, the sign-in's (web-ui.md) or the tunnel endpoint's (protocol.md); so no answer's code is one a client
     * reading the docs never heard of.
     */
    @Test
    void everyApiErrorCodeIsGivenInTheDocs() throws IOException {
        StringBuilder docs = new StringBuilder();
        for (String page : List.of("docs/api.md", "docs/web-ui.md", "docs/protocol.md")) {
            docs.append(Files.readString(ROOT.resolve(page)));
        }

        assertThat(constants(ApiErrorCodes.class)).isNotEmpty()
                .filteredOn(code -> docs.indexOf("`" + code + "`") < 0)
                .as("ApiErrorCodes' values not in docs/api.md, web-ui.md or protocol.md").isEmpty();
    }

    /** The values of the public String constants of {@code codes}. */
    private static List<String> constants(Class<?> codes) {
        List<String> values = new ArrayList<>();
        for (Field field : codes.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class) {
                try {
                    values.add((String) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return values;
    }
}
