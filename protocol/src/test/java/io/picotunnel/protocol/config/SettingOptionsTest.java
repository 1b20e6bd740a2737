package io.picotunnel.protocol.config;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingOptionsTest {

    private static Map<TestSetting, String> given(String... args) {
        CommandSpec spec = CommandSpec.create();
        SettingOptions.addTo(spec, TestSetting.class);
        return SettingOptions.given(new CommandLine(spec).parseArgs(args), TestSetting.class);
    }

    @Test
    void aBooleanFlagTakesTheNextArgumentOnlyWhenItIsABooleanWordSoAStraySecretIsNeverItsValue() {
        assertThat(given("--secure")).containsEntry(TestSetting.SECURE, "true");
        assertThat(given("--secure", "--name", "n")).containsEntry(TestSetting.SECURE, "true");
        assertThat(given("--secure", "off")).containsEntry(TestSetting.SECURE, "off");
        assertThat(given("--secure=maybe")).as("attached: its value, said wrong (and not repeated) by the setting's reader")
                .containsEntry(TestSetting.SECURE, "maybe");
        assertThatThrownBy(() -> given("--secure", "s3cret-token"))
                .isInstanceOf(CommandLine.UnmatchedArgumentException.class);
    }

    @Test
    void aFlagWinsOverItsVariableWhichWinsOverTheDefault() {
        Map<String, String> env = Map.of("PICOTUNNEL_NAME", "from-env", "PICOTUNNEL_SECURE", " ");
        SettingValues<TestSetting> values = SettingValues.resolve(TestSetting.class, given("--name", "flag"), env);
        assertThat(values.raw(TestSetting.NAME)).isEqualTo("flag");
        assertThat(values.source(TestSetting.NAME)).isEqualTo("--name");
        assertThat(values.bool(TestSetting.SECURE)).as("a blank variable is the default").isFalse();

        SettingValues<TestSetting> fromEnv = SettingValues.resolve(TestSetting.class, Map.of(), env);
        assertThat(fromEnv.raw(TestSetting.NAME)).isEqualTo("from-env");
        assertThat(fromEnv.source(TestSetting.NAME)).isEqualTo("PICOTUNNEL_NAME");
        assertThat(SettingValues.resolve(TestSetting.class, Map.of(), Map.of()).raw(TestSetting.NAME)).isEqualTo("x");
    }
}
