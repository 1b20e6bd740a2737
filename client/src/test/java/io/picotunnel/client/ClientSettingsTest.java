package io.picotunnel.client;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Each client setting is declared once, in {@link Setting}: its flag, its variable, its default and its help. */
class ClientSettingsTest {

    @Test
    void everyFlagIsADeclaredSettingAndTheHelpNamesItsVariableAndDefault() {
        CommandLine cmd = ClientMain.commandLine(Map.of());
        Set<String> declared = Arrays.stream(Setting.values()).map(Setting::flag).collect(Collectors.toSet());
        for (OptionSpec option : cmd.getCommandSpec().options()) {
            if (!option.usageHelp() && !option.versionHelp()) {
                assertThat(declared).as("a flag not declared in Setting has no variable, default or help of its own")
                        .contains(option.longestName());
            }
        }
        StringWriter out = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        assertThat(cmd.execute("--help")).isZero();
        String help = out.toString().replaceAll("\\s+", " ");
        for (Setting setting : Setting.values()) {
            String entry = String.join(" ", cmd.getCommandSpec().findOption(setting.flag()).description());
            assertThat(entry).as(setting.flag()).startsWith(setting.description().formatted())
                    .contains("Env: " + setting.envVar() + ".");
            if (setting.defaultValue() != null) {
                assertThat(entry).as(setting.flag()).endsWith(". Default: " + setting.defaultValue() + ".");
            }
            assertThat(help).contains(setting.flag() + (setting.isBoolean() ? "[=" : "="), "Env: " + setting.envVar());
        }
    }

    @Test
    void everyPicotunnelVariableTheClientReadsIsADeclaredSettingAndEachIsRead() {
        Set<String> read = new TreeSet<>();
        Map<String, String> env = new HashMap<>(Map.of("PICOTUNNEL_SERVER", "h:1", "PICOTUNNEL_TOKEN", "t")) {
            @Override
            public String get(Object key) {
                read.add(String.valueOf(key));
                return super.get(key);
            }

            @Override
            public String getOrDefault(Object key, String defaultValue) {
                read.add(String.valueOf(key));
                return super.getOrDefault(key, defaultValue);
            }
        };

        ClientConfig.resolve(Map.of(), env);

        Set<String> variables = Arrays.stream(Setting.values()).map(Setting::envVar).collect(Collectors.toSet());
        assertThat(read.stream().filter(name -> name.startsWith("PICOTUNNEL_")))
                .as("a variable read outside Setting is missing from --help and has no flag")
                .allMatch(variables::contains);
        assertThat(read).containsAll(variables);
    }
}
