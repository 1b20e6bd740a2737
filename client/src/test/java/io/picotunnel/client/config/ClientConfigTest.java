package io.picotunnel.client.config;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.yamux.SessionLimits;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientConfigTest {

    private static final Map<Setting, String> NO_FLAGS = Map.of();
    private static final Map<Setting, String> SERVER_AND_TOKEN = Map.of(Setting.SERVER, "h:1", Setting.TOKEN, "t");

    private static Map<Setting, String> serverAndTokenWith(Setting setting, String value) {
        return Map.of(Setting.SERVER, "h:1", Setting.TOKEN, "t", setting, value);
    }

    @Test
    void environmentSuppliesEverySetting() {
        ClientConfig config = ClientConfig.resolve(NO_FLAGS, Map.of(
                "PICOTUNNEL_SERVER", "tunnel.example.com:8443",
                "PICOTUNNEL_TOKEN", "abc123",
                "PICOTUNNEL_INSECURE", "true",
                "PICOTUNNEL_ALLOW", "localhost:22,127.0.0.1:8080",
                "PICOTUNNEL_SHUTDOWN_GRACE", "3s"));

        assertThat(config.server()).isEqualTo(new ServerAddress(true, new HostPort("tunnel.example.com", 8443)));
        assertThat(config.token()).isEqualTo("abc123");
        assertThat(config.insecure()).isTrue();
        assertThat(config.allow().targets()).containsExactlyInAnyOrder(
                new HostPort("localhost", 22), new HostPort("127.0.0.1", 8080));
        assertThat(config.shutdownGrace()).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void flagsWinOverEnvironment() {
        ClientConfig config = ClientConfig.resolve(
                Map.of(Setting.SERVER, "ws://flag.example:80", Setting.TOKEN, "flag-token", Setting.INSECURE, "false",
                        Setting.ALLOW, "localhost:1", Setting.SHUTDOWN_GRACE, "500ms"),
                Map.of("PICOTUNNEL_SERVER", "env.example:8443", "PICOTUNNEL_TOKEN", "env-token",
                        "PICOTUNNEL_INSECURE", "true", "PICOTUNNEL_ALLOW", "localhost:2",
                        "PICOTUNNEL_SHUTDOWN_GRACE", "9s"));

        assertThat(config.server().toString()).isEqualTo("ws://flag.example:80");
        assertThat(config.token()).isEqualTo("flag-token");
        assertThat(config.insecure()).isFalse();
        assertThat(config.allow().targets()).containsExactly(new HostPort("localhost", 1));
        assertThat(config.shutdownGrace()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void defaultsApplyWhenOnlyServerAndTokenAreGiven() {
        ClientConfig config = ClientConfig.resolve(SERVER_AND_TOKEN, Map.of());

        assertThat(config.insecure()).isFalse();
        assertThat(config.allow().isRestricted()).isFalse();
        assertThat(config.shutdownGrace()).isEqualTo(ClientConfig.DEFAULT_SHUTDOWN_GRACE);
        assertThat(config.dialTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void theDialAndConnectTimeoutsComeFromFlagsOverTheEnvironment() {
        Map<String, String> env = Map.of("PICOTUNNEL_DIAL_TIMEOUT", "3s", "PICOTUNNEL_CONNECT_TIMEOUT", "1m");
        ClientConfig fromEnvironment = ClientConfig.resolve(SERVER_AND_TOKEN, env);
        assertThat(fromEnvironment.dialTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(fromEnvironment.connectTimeout()).isEqualTo(Duration.ofMinutes(1));

        ClientConfig fromFlags = ClientConfig.resolve(Map.of(Setting.SERVER, "h:1", Setting.TOKEN, "t",
                Setting.DIAL_TIMEOUT, "500ms", Setting.CONNECT_TIMEOUT, "20s"), env);
        assertThat(fromFlags.dialTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(fromFlags.connectTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void aDialOrConnectTimeoutThatIsNoDurationOrNotMoreThanZeroIsAnErrorNamingTheFlag() {
        for (String bad : new String[] {"soon", "-1s", "0s", "0", "3651d"}) {
            assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN,
                    Map.of("PICOTUNNEL_DIAL_TIMEOUT", bad))).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageStartingWith("Invalid --dial-timeout (PICOTUNNEL_DIAL_TIMEOUT): ");
            assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.CONNECT_TIMEOUT, bad), Map.of())).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageStartingWith("Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): ");
        }
    }

    @Test
    void missingServerNamesFlagAndVariable() {
        assertThatThrownBy(() -> ClientConfig.resolve(NO_FLAGS, Map.of("PICOTUNNEL_TOKEN", "t")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --server (PICOTUNNEL_SERVER): no server given; pass --server host:port or set"
                        + " PICOTUNNEL_SERVER.");
    }

    @Test
    void missingTokenNamesFlagAndVariable() {
        for (Map<Setting, String> flags : java.util.List.of(Map.of(Setting.SERVER, "h:1"),
                Map.of(Setting.SERVER, "h:1", Setting.TOKEN, " "))) {
            assertThatThrownBy(() -> ClientConfig.resolve(flags, Map.of("PICOTUNNEL_TOKEN", " ")))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --token (PICOTUNNEL_TOKEN): no token given; pass --token or set"
                            + " PICOTUNNEL_TOKEN to the token of the tunnel, from the server's API or UI.");
        }
    }

    /** The flag or the variable may hold the token; the message names both, and repeats no part of it. */
    @Test
    void aTokenThatCannotBeSentNamesFlagAndVariableAndNeverItself() {
        String tooLong = "k3y".repeat(342);
        for (String token : new String[] {"s3cret w0rd", "s3cret\r\nX-Injected: w0rd", tooLong}) {
            for (boolean fromFlag : new boolean[] {true, false}) {
                Map<Setting, String> flags = fromFlag ? Map.of(Setting.SERVER, "h:1", Setting.TOKEN, token)
                        : Map.of(Setting.SERVER, "h:1");
                Map<String, String> env = fromFlag ? Map.of() : Map.of("PICOTUNNEL_TOKEN", token);
                assertThatThrownBy(() -> ClientConfig.resolve(flags, env)).as(token.substring(0, 8) + " " + fromFlag)
                        .isInstanceOf(ConfigException.class)
                        .hasMessage("Invalid --token (PICOTUNNEL_TOKEN): the token must be at most 1024 printable"
                                + " ASCII characters without spaces.")
                        .message().doesNotContain("s3cret", "w0rd", "k3y", "Injected");
            }
        }
        assertThat(ClientConfig.resolve(SERVER_AND_TOKEN, Map.of("PICOTUNNEL_TOKEN", "k".repeat(1024))).token())
                .as("the flag wins, and 1024 is allowed").isEqualTo("t");
        assertThat(ClientConfig.resolve(Map.of(Setting.SERVER, "h:1"), Map.of("PICOTUNNEL_TOKEN", "k".repeat(1024)))
                .token()).hasSize(1024);
    }

    @Test
    void tokenWithSpacesOrControlCharactersIsRejected() {
        assertThatThrownBy(() -> ClientConfig.of(ServerAddress.parse("h:1"), "two words"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("Invalid --token (PICOTUNNEL_TOKEN): ");
        assertThatThrownBy(() -> ClientConfig.of(ServerAddress.parse("h:1"), "tok\r\nX-Injected: 1"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("Invalid --token (PICOTUNNEL_TOKEN): ");
    }

    @Test
    void oneMatchingPairOfQuotesAroundTheTokenIsTakenOff() {
        assertThat(ClientConfig.resolve(NO_FLAGS, Map.of("PICOTUNNEL_SERVER", "h:1", "PICOTUNNEL_TOKEN", "\"abc123\""))
                .token()).as("docker --env-file keeps them").isEqualTo("abc123");
        assertThat(ClientConfig.of(ServerAddress.parse("h:1"), "'abc123'").token()).isEqualTo("abc123");
        assertThat(ClientConfig.of(ServerAddress.parse("h:1"), "\"abc123'").token()).as("not a pair")
                .isEqualTo("\"abc123'");
        assertThat(ClientConfig.of(ServerAddress.parse("h:1"), "\"\"abc\"\"").token()).as("one pair only, then quotes")
                .isEqualTo("\"\"abc\"\"");
        assertThat(ClientConfig.of(ServerAddress.parse("h:1"), "\"\"").token()).as("nothing inside").isEqualTo("\"\"");
    }

    @Test
    void invalidInsecureValueIsAnError() {
        assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN,
                Map.of("PICOTUNNEL_INSECURE", "maybe")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_INSECURE");
    }

    @Test
    void allowListOfOnlyCommasIsAnErrorNotAnyTarget() {
        assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN,
                Map.of("PICOTUNNEL_ALLOW", ", ,"))).isInstanceOf(ConfigException.class).hasMessageContaining("--allow");
    }

    @Test
    void invalidAllowEntryIsAnError() {
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.ALLOW, "localhost"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--allow");
    }

    /** Names the server refuses as a target or a host (Hostnames), though every character of each is one a name has. */
    static final String[][] BAD_NAMES = {
        {"-bad-", "its label '-bad-' starts or ends with '-'"},
        {"a..b", "it has an empty label"},
        {".a", "it has an empty label"},
        {"a".repeat(64) + ".example", "its label 'aaaaaaaaaaaaaaaaaaaa…' has 64 characters, more than the 63"},
        {("a".repeat(60) + ".").repeat(4) + "example", "it has 251 characters"},
        {("a".repeat(60) + ".").repeat(4) + "a".repeat(10), "it has 254 characters, more than the 253"}};

    @Test
    void aTargetServerOrProxyNameTheServerWouldRefuseIsAnErrorAtStartNamingTheSettingAndWhy() {
        for (String[] bad : BAD_NAMES) {
            String name = bad[0];
            if (bad[1].startsWith("it has 251")) {
                // 251 characters are a name: the client takes it, as the server does.
                assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.ALLOW, name + ":80"), Map.of()).allow()
                        .permits(HostPort.parse(name + ":80"))).isTrue();
                continue;
            }
            assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.ALLOW, "db:5432," + name + ":80"),
                    Map.of())).as(name).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("Invalid --allow (PICOTUNNEL_ALLOW): " + ControlCharacters.quoted(name + ":80")
                            + " has an invalid host name: " + bad[1]);
            assertThatThrownBy(() -> ClientConfig.resolve(NO_FLAGS, Map.of("PICOTUNNEL_SERVER", "wss://" + name + ":443",
                    "PICOTUNNEL_TOKEN", "t"))).as(name).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("Invalid --server (PICOTUNNEL_SERVER): server address "
                            + ControlCharacters.quoted(name + ":443") + " has an invalid host name: " + bad[1]);
            assertThatThrownBy(() -> ClientConfig.resolve(Map.of(Setting.SERVER, name + ":443", Setting.TOKEN, "t"),
                    Map.of())).as(name).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("has an invalid host name: " + bad[1]);
            assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.PROXY, "http://" + name + ":3128"),
                    Map.of())).as(name).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("--proxy: the proxy address " + ControlCharacters.quoted(name + ":3128")
                            + " has an invalid host name: " + bad[1]);
            assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN, Map.of("HTTPS_PROXY", "http://" + name
                    + ":3128"))).as(name).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("HTTPS_PROXY: the proxy address " + ControlCharacters.quoted(name + ":3128")
                            + " has an invalid host name: " + bad[1]);
        }
    }

    @Test
    void aTargetWithAnUnderscoreAndAServerOrProxyWithATrailingDotAreTakenAsTheServerTakesThem() {
        ClientConfig config = ClientConfig.resolve(Map.of(Setting.SERVER, "wss://tunnel.example.com.:443",
                Setting.TOKEN, "t", Setting.ALLOW, "my_app:8080,project_web_1:80", Setting.PROXY,
                "http://proxy.example.com.:3128"), Map.of());

        assertThat(config.server().host()).isEqualTo("tunnel.example.com");
        assertThat(config.allow().permits(HostPort.parse("my_app:8080"))).isTrue();
        assertThat(config.proxy().hostPort().host()).isEqualTo("proxy.example.com.");
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.ALLOW, "db.:5432"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("Invalid --allow (PICOTUNNEL_ALLOW): 'db.:5432'"
                        + " has an invalid host name: it has an empty label");
    }

    @Test
    void aServerAddressRefusedForItsSchemeOrPathIsQuotedWithItsControlCharactersWrittenOut() {
        assertThatThrownBy(() -> ClientConfig.resolve(Map.of(Setting.SERVER, "ftp://tunnel\u001b[2J.example:443",
                Setting.TOKEN, "t"), Map.of())).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --server (PICOTUNNEL_SERVER): server address 'ftp://tunnel\\u001b[2J.example:443' has"
                        + " scheme 'ftp'; use host:port, ws://host:port or wss://host:port.");
        assertThatThrownBy(() -> ClientConfig.resolve(Map.of(Setting.SERVER, "wss://tunnel.example:443/a\r\nforged",
                Setting.TOKEN, "t"), Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid --server (PICOTUNNEL_SERVER): server address"
                        + " 'wss://tunnel.example:443/a\\r\\nforged' must be host:port without a path")
                .hasMessageNotContaining("\n");
    }

    @Test
    void invalidServerIsAnError() {
        assertThatThrownBy(() -> ClientConfig.resolve(Map.of(Setting.SERVER, "http://h:1", Setting.TOKEN, "t"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--server");
    }

    @Test
    void invalidOrNegativeGraceIsAnError() {
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, "soon"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--shutdown-grace");
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, "-1s"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--shutdown-grace");
    }

    @Test
    void aGraceTooLongToCountIsAnErrorNamingTheFlag() {
        // Before, these started the client: at SIGTERM the deadline overflowed and it ended with code 1, not 0.
        for (String grace : new String[] {"99999999999999999m", "9223372036854775807s", "9223372036854775807m"}) {
            assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, grace), Map.of()))
                    .as(grace).isInstanceOf(ConfigException.class).hasMessageContaining("--shutdown-grace");
        }
        assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, "525600m"), Map.of())
                .shutdownGrace()).isEqualTo(Duration.ofDays(365));
    }

    @Test
    void aGraceTakesHoursAndDaysAsTheServersDurationsDo() {
        // The server's PICOTUNNEL_SHUTDOWN_GRACE took 1h; the client's, the same variable, refused it.
        assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, "1h"), Map.of())
                .shutdownGrace()).isEqualTo(Duration.ofHours(1));
        assertThat(ClientConfig.resolve(SERVER_AND_TOKEN,
                Map.of("PICOTUNNEL_SHUTDOWN_GRACE", "2d")).shutdownGrace()).isEqualTo(Duration.ofDays(2));
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.SHUTDOWN_GRACE, "366d"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessage("Invalid --shutdown-grace (PICOTUNNEL_SHUTDOWN_GRACE):"
                        + " it must be at most a year (31536000s).");
    }

    @Test
    void targetThreadsDefaultToTheTunnelsOwnAndComeFromFlagOrEnvironment() {
        assertThat(ClientConfig.resolve(SERVER_AND_TOKEN, Map.of()).targetThreads())
                .isZero();
        assertThat(ClientConfig.resolve(SERVER_AND_TOKEN,
                Map.of("PICOTUNNEL_TARGET_THREADS", "4")).targetThreads()).isEqualTo(4);
        assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.TARGET_THREADS, "2"),
                Map.of("PICOTUNNEL_TARGET_THREADS", "4")).targetThreads()).as("the flag wins").isEqualTo(2);
        for (String bad : new String[] {"-1", "257", "many", "2.5"}) {
            assertThatThrownBy(() -> ClientConfig.resolve(
                    serverAndTokenWith(Setting.TARGET_THREADS, bad), Map.of())).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessage("Invalid --target-threads"
                            + " (PICOTUNNEL_TARGET_THREADS): '" + bad + "' is not a whole number from 0 to 256.");
        }
        assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.TARGET_THREADS, "0"), Map.of()).targetThreads())
                .isZero();
        assertThat(ClientConfig.resolve(serverAndTokenWith(Setting.TARGET_THREADS, "256"), Map.of()).targetThreads())
                .isEqualTo(256);
    }

    /** A value out of range, set in a variable, is told by the flag and the variable, as a value that is no number. */
    @Test
    void aGraceOrThreadCountOutOfRangeInTheEnvironmentNamesTheVariable() {
        assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN, Map.of("PICOTUNNEL_SHUTDOWN_GRACE", "400d")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid --shutdown-grace (PICOTUNNEL_SHUTDOWN_GRACE): ");
        assertThatThrownBy(() -> ClientConfig.resolve(SERVER_AND_TOKEN, Map.of("PICOTUNNEL_TARGET_THREADS", "1000")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid --target-threads (PICOTUNNEL_TARGET_THREADS): '1000' ");
    }

    /** One rule per setting: a config made in code is refused as resolve refuses the same value, in the same words. */
    @Test
    void aConfigMadeInCodeIsRefusedByTheSameRuleAndMessageAsResolve() {
        ClientConfig base = ClientConfig.of(ServerAddress.parse("h:1"), "t");
        Map<Setting, Runnable> inCode = Map.of(
                Setting.SHUTDOWN_GRACE, () -> base.withShutdownGrace(Duration.ofDays(366)),
                Setting.DIAL_TIMEOUT, () -> base.withDialTimeout(Duration.ZERO),
                Setting.CONNECT_TIMEOUT, () -> base.withConnectTimeout(Duration.ZERO),
                Setting.TARGET_THREADS, () -> base.withTargetThreads(257));
        Map<Setting, String> given = Map.of(Setting.SHUTDOWN_GRACE, "366d", Setting.DIAL_TIMEOUT, "0s",
                Setting.CONNECT_TIMEOUT, "0ms", Setting.TARGET_THREADS, "257");
        inCode.forEach((setting, make) -> {
            Throwable fromResolve = org.assertj.core.api.Assertions.catchThrowable(
                    () -> ClientConfig.resolve(serverAndTokenWith(setting, given.get(setting)), Map.of()));
            assertThat(fromResolve).as(setting.flag()).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("Invalid " + setting.displayName() + ": ");
            assertThatThrownBy(make::run).as(setting.flag()).isInstanceOf(ConfigException.class)
                    .hasMessage(fromResolve.getMessage());
        });
        assertThatThrownBy(() -> base.withShutdownGrace(Duration.ofSeconds(-1))).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --shutdown-grace (PICOTUNNEL_SHUTDOWN_GRACE): it must not be negative.");
        assertThatThrownBy(() -> base.withTargetThreads(-1)).isInstanceOf(ConfigException.class).hasMessage(
                "Invalid --target-threads (PICOTUNNEL_TARGET_THREADS): '-1' is not a whole number from 0 to 256.");
        assertThat(base.withShutdownGrace(Duration.ZERO).withTargetThreads(256).targetThreads()).isEqualTo(256);
    }

    /** "No timeout" written in code is refused as the command line refuses a duration beyond ten years. */
    @Test
    void aTimeoutBeyondTenYearsMadeInCodeIsRefusedNamingTheSettingAndItsMaximum() {
        ClientConfig base = ClientConfig.of(ServerAddress.parse("h:1"), "t");
        Duration unbounded = Duration.ofSeconds(Long.MAX_VALUE);

        assertThatThrownBy(() -> base.withConnectTimeout(unbounded)).isInstanceOf(ConfigException.class).hasMessage(
                "Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): it must be at most 3650d.");
        assertThatThrownBy(() -> base.withDialTimeout(Durations.MAX.plusMillis(1))).isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --dial-timeout (PICOTUNNEL_DIAL_TIMEOUT): it must be at most 3650d.");
        assertThatThrownBy(() -> base.withShutdownGrace(unbounded)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid --shutdown-grace (PICOTUNNEL_SHUTDOWN_GRACE): it must be at most a year");
        assertThat(base.withConnectTimeout(Durations.MAX).connectTimeout()).isEqualTo(Durations.MAX);
        assertThatThrownBy(() -> ClientConfig.resolve(serverAndTokenWith(Setting.CONNECT_TIMEOUT, "3651d"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessage(
                        "Invalid --connect-timeout (PICOTUNNEL_CONNECT_TIMEOUT): '3651d' is too long: at most 3650d.");
    }

    @Test
    void toStringNeverShowsTheToken() {
        ClientConfig config = ClientConfig.of(ServerAddress.parse("h:1"), "s3cr3t-token-value");

        assertThat(config.toString()).doesNotContain("s3cr3t-token-value").contains("<hidden>");
    }

    @Test
    void aSessionBufferLimitBelowTwoStreamWindowsKeepsWindowsToHalfOfItAndHasTheSentenceForTheStartWithoutLogging() {
        Logger logger = (Logger) LoggerFactory.getLogger("io.picotunnel");
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            ClientConfig config = ClientConfig.resolve(
                    serverAndTokenWith(Setting.MAX_STREAM_WINDOW, "8MiB"),
                    Map.of("PICOTUNNEL_SESSION_BUFFER_LIMIT", "1MiB"));
            assertThat(config.limits().maxStreamWindow()).as("kept to half the limit").isEqualTo(512 << 10);
            assertThat(config.limits().yamux().maxStreamWindow()).isEqualTo(512 << 10);
            assertThat(config.limits().sessionBufferLimit()).as("the memory bound asked for").isEqualTo(1L << 20);
            assertThat(config.limits().windowKept()).hasValueSatisfying(sentence -> assertThat(sentence)
                    .contains("--session-buffer-limit (1048576 bytes)", "--max-stream-window (8388608 bytes)",
                            "at most 524288 bytes"));
            assertThat(logged.list).as("ClientMain reports it once it runs; parsing says nothing").isEmpty();
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void sessionLimitsComeFromFlagsOrEnvironmentWithDefaults() {
        ClientConfig defaults = ClientConfig.resolve(SERVER_AND_TOKEN, Map.of());
        assertThat(defaults.limits()).isEqualTo(SessionLimits.DEFAULTS);
        assertThat(defaults.limits().yamux().windowAutoTuning()).isTrue();

        ClientConfig set = ClientConfig.resolve(
                serverAndTokenWith(Setting.MAX_STREAM_WINDOW, "4MiB"),
                Map.of("PICOTUNNEL_MAX_STREAM_WINDOW", "1GiB", "PICOTUNNEL_SESSION_WINDOW_BUDGET", "32MiB",
                        "PICOTUNNEL_MAX_STREAMS", "70000", "PICOTUNNEL_SESSION_BUFFER_LIMIT", "32MiB"));
        assertThat(set.limits()).isEqualTo(new SessionLimits(4 << 20, 32L << 20, 70_000, 32L << 20));
        assertThat(set.limits().yamux().sessionBufferLimit()).isEqualTo(32L << 20);
        assertThat(ClientConfig.resolve(
                serverAndTokenWith(Setting.SESSION_BUFFER_LIMIT, "1GiB"),
                Map.of("PICOTUNNEL_SESSION_BUFFER_LIMIT", "32MiB")).limits().sessionBufferLimit())
                .as("the flag wins").isEqualTo(1L << 30);
        assertThatThrownBy(() -> ClientConfig.resolve(
                serverAndTokenWith(Setting.SESSION_BUFFER_LIMIT, "100KiB"), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --session-buffer-limit (PICOTUNNEL_SESSION_BUFFER_LIMIT): it must be at least 256KiB.");

        assertThatThrownBy(() -> ClientConfig.resolve(
                serverAndTokenWith(Setting.MAX_STREAM_WINDOW, "1KiB"), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --max-stream-window (PICOTUNNEL_MAX_STREAM_WINDOW): it must be between 256KiB and 1GiB.");
        assertThatThrownBy(() -> ClientConfig.resolve(
                SERVER_AND_TOKEN, Map.of("PICOTUNNEL_MAX_STREAMS", "many")))
                .hasMessage("Invalid --max-streams (PICOTUNNEL_MAX_STREAMS): 'many' is not a whole number from 1 to 1000000.");
    }
}
