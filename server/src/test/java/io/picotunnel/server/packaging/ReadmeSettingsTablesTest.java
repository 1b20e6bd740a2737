package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.DeclaredSetting;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's two settings tables against the settings the programs declare: every setting is in its table, and
 * a default the table shows in backticks is the one the program uses.
 */
class ReadmeSettingsTablesTest {

    private static final Path README = DeploymentFilesTest.ROOT.resolve("README.md");
    private static final Pattern CODE = Pattern.compile("`([^`]*)`");

    @Test
    void theServerTableNamesEverySettingWithItsDefault() throws IOException {
        Map<String, DeclaredSetting> settings = byVariable(io.picotunnel.server.config.Setting.values());
        List<String> named = new ArrayList<>();
        for (List<String> cells : table("| Variable | Default | What |")) {
            List<String> variables = variables(cells.get(0));
            named.addAll(variables);
            List<String> defaults = codes(cells.get(1));
            for (int i = 0; i < variables.size(); i++) {
                DeclaredSetting setting = settings.get(variables.get(i));
                // One default per variable, or one for them all; other rows say it in words.
                String shown = defaults.size() == variables.size() ? defaults.get(i)
                        : defaults.size() == 1 && variables.size() == 1 ? defaults.getFirst() : null;
                if (setting != null && setting.declaration().defaultValue() != null && shown != null) {
                    assertThat(shown).as("the README's default of %s", variables.get(i))
                            .isEqualTo(setting.declaration().defaultValue());
                }
            }
        }
        assertThat(named).as("the server's settings the README's table names").containsAll(settings.keySet());
    }

    /** The help said only X-Forwarded-For, so an operator behind a proxy ending TLS did not learn that it is read for https. */
    @Test
    void theHelpOfTrustedProxiesNamesEveryForwardingHeaderItsReadmeRowNames() throws IOException {
        String row = Files.readAllLines(README).stream()
                .filter(line -> line.startsWith("| `PICOTUNNEL_TRUSTED_PROXIES` |")).findFirst().orElseThrow();
        List<String> headers = Pattern.compile("X-Forwarded-[A-Za-z]+").matcher(row).results().map(MatchResult::group)
                .distinct().toList();

        assertThat(headers).as("the README's forwarding headers").contains("X-Forwarded-For", "X-Forwarded-Proto");
        assertThat(io.picotunnel.server.config.Setting.TRUSTED_PROXIES.description()).as("--trusted-proxies' help")
                .contains(headers);
    }

    @Test
    void theClientTableGivesEachFlagItsVariableAndDefault() throws IOException {
        Map<String, DeclaredSetting> settings = byVariable(io.picotunnel.client.config.Setting.values());
        Map<String, DeclaredSetting> server = byVariable(io.picotunnel.server.config.Setting.values());
        List<String> named = new ArrayList<>();
        for (List<String> cells : table("| Flag | Variable | Default | Meaning |")) {
            List<String> flags = codes(cells.get(0));
            for (String flag : flags) {
                DeclaredSetting setting = settings.values().stream().filter(s -> s.flag().equals(flag)).findFirst()
                        .orElseThrow(() -> new AssertionError("the README's client flag " + flag + " is not the client's"));
                named.add(setting.envVar());
                List<String> variables = codes(cells.get(1));
                if (!cells.get(1).contains("of the same name")) {
                    assertThat(variables).as("the variable of %s", flag).containsExactly(setting.envVar());
                }
                List<String> defaults = codes(cells.get(2));
                String expected = setting.declaration().defaultValue();
                if (cells.get(2).contains("as on the server")) {
                    assertThat(expected).as("%s: the same default as on the server", flag)
                            .isEqualTo(server.get(setting.envVar()).declaration().defaultValue());
                } else if (cells.get(2).strip().matches("`[^`]*`")) { // else a default in words
                    assertThat(defaults).as("the README's default of %s", flag).containsExactly(expected);
                }
            }
        }
        assertThat(named).as("the client's settings the README's table names").containsAll(settings.keySet());
    }

    private static Map<String, DeclaredSetting> byVariable(DeclaredSetting[] settings) {
        Map<String, DeclaredSetting> byVariable = new LinkedHashMap<>();
        Arrays.stream(settings).forEach(setting -> byVariable.put(setting.envVar(), setting));
        return byVariable;
    }

    /** The cells of each row of the table under {@code header}. */
    private static List<List<String>> table(String header) throws IOException {
        List<String> lines = Files.readAllLines(README);
        int at = lines.indexOf(header);
        assertThat(at).as("the README's table %s", header).isNotNegative();
        List<List<String>> rows = new ArrayList<>();
        for (String line : lines.subList(at + 2, lines.size())) {
            if (!line.startsWith("|")) {
                break;
            }
            rows.add(List.of(line.substring(1, line.length() - 1).split(" \\| ", -1)));
        }
        assertThat(rows).as("the rows of %s", header).hasSizeGreaterThan(5);
        return rows;
    }

    /**
     * The variables of a first cell: {@code `PICOTUNNEL_OIDC_ISSUER`, `_CLIENT_ID`} is PICOTUNNEL_OIDC_ISSUER and
     * PICOTUNNEL_OIDC_CLIENT_ID (a short name continues the first word after PICOTUNNEL_).
     */
    private static List<String> variables(String cell) {
        List<String> variables = new ArrayList<>();
        String prefix = null;
        for (String code : codes(cell)) {
            if (code.startsWith("PICOTUNNEL_")) {
                variables.add(code);
                prefix = code.substring(0, code.indexOf('_', "PICOTUNNEL_".length() + 1) < 0 ? code.length()
                        : code.indexOf('_', "PICOTUNNEL_".length() + 1));
            } else if (code.startsWith("_") && prefix != null) {
                variables.add(prefix + code);
            }
        }
        return variables;
    }

    private static List<String> codes(String cell) {
        List<String> codes = new ArrayList<>();
        Matcher code = CODE.matcher(cell);
        while (code.find()) {
            codes.add(code.group(1));
        }
        return codes;
    }
}
