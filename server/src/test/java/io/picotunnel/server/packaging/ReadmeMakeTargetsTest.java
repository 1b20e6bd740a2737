package io.picotunnel.server.packaging;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Every {@code make} target the README shows (in code, inline or in a block) is one the Makefile defines. */
class ReadmeMakeTargetsTest {

    /** {@code `make test`}, or a bash block's line {@code make dev-server   # ...}. */
    private static final Pattern SHOWN = Pattern.compile("(?m)(?:`|^)make ([a-z][a-z0-9-]*)");
    private static final Pattern DEFINED = Pattern.compile("(?m)^([a-z][a-z0-9-]*):");

    @Test
    void everyMakeTargetTheReadmeShowsIsDefinedByTheMakefile() throws IOException {
        Set<String> shown = matches(SHOWN, Files.readString(DeploymentFilesTest.ROOT.resolve("README.md")));
        Set<String> defined = matches(DEFINED, Files.readString(DeploymentFilesTest.ROOT.resolve("Makefile")));
        assertThat(shown).as("the make targets the README shows").contains("dev-server", "test", "build");
        assertThat(defined).as("the Makefile's targets").containsAll(shown);
    }

    private static Set<String> matches(Pattern pattern, String text) {
        Set<String> found = new TreeSet<>();
        Matcher matcher = pattern.matcher(text);
        while (matcher.find()) {
            found.add(matcher.group(1));
        }
        return found;
    }
}
