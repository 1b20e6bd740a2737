package io.picotunnel.server;

import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.LogSettings;
import io.picotunnel.protocol.config.QuotedSecrets;
import io.picotunnel.protocol.config.SettingOptions;
import io.picotunnel.protocol.config.UnbrokenNames;
import io.picotunnel.protocol.config.UsageErrors;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.ServiceListener;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code picotunnel-server}: reads the settings (flags, then {@code PICOTUNNEL_*} variables, then defaults), starts
 * the server and runs until SIGTERM/SIGINT. A start-up failure is one sentence on stderr and a non-zero exit.
 */
public final class ServerMain {

    /** Exit code when the server could not start (port in use, data directory not writable). */
    public static final int EXIT_STARTUP_FAILED = 1;
    /** Exit code for a wrong command line or setting. */
    public static final int EXIT_USAGE = 2;
    /**
     * Exit code when starting again cannot help until the operator acts (the database is corrupt, not a database,
     * or from a newer PicoTunnel): the systemd unit's {@code RestartPreventExitStatus} stops restarting on it.
     */
    public static final int EXIT_DATA_UNUSABLE = 3;
    /** Exit code when a stop on SIGTERM failed. */
    public static final int EXIT_STOP_FAILED = 1;

    private ServerMain() {
    }

    public static void main(String[] args) {
        exitWith(() -> subcommand(args, System.getenv(), System.out, System.err)
                .orElseGet(() -> runUntilStopped(args, System.getenv(), System.out, System.err,
                        () -> SignalStop.MIN_START_WAIT)));
    }

    /**
     * Ends the process with {@code run}'s code unless 0 (the server runs until a signal). A start that throws is
     * printed as the JVM prints an uncaught exception and ends the process with {@link #EXIT_STARTUP_FAILED} at once:
     * left uncaught, it would end the main thread only, and the process once every other non-daemon thread had ended.
     */
    static void exitWith(Supplier<Integer> run) {
        int code;
        try {
            code = run.get();
        } catch (RuntimeException | Error e) {
            Thread.currentThread().getThreadGroup().uncaughtException(Thread.currentThread(), e);
            code = EXIT_STARTUP_FAILED;
        }
        if (code != 0) {
            System.exit(code);
        }
    }

    /** Runs {@code backup} or {@code restore} when {@code args} start with one; empty for the server itself. */
    static Optional<Integer> subcommand(String[] args, Map<String, String> env, PrintStream out,
                                                  PrintStream err) {
        if (args.length == 0) {
            return Optional.empty();
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case BackupCommand.NAME -> Optional.of(BackupCommand.run(rest, env, out, err));
            case RestoreCommand.NAME -> Optional.of(RestoreCommand.run(rest, env, out, err));
            default -> Optional.empty();
        };
    }

    /**
     * Parses {@code args} and {@code env}, starts the server and hands it to {@code whileRunning}; returns the exit
     * code. The server is stopped when {@code whileRunning} returns.
     */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err,
                   Consumer<PicoTunnelServer> whileRunning) {
        Configured configured = configure(args, env, out, err);
        if (configured.config() == null) {
            return configured.exitCode();
        }
        PicoTunnelServer server;
        try {
            server = PicoTunnelServer.start(configured.config(), out);
        } catch (StartupException e) {
            return startFailed(e, err);
        }
        try {
            whileRunning.accept(server);
        } finally {
            server.stop();
        }
        return 0;
    }

    /**
     * The process's server: parses and starts as {@link #run} does and runs until SIGTERM or SIGINT; returns the exit
     * code when it did not start. {@link SignalStop} is set up before the start, so that a signal during it is a stop
     * too, and after the settings, as logging must not begin before {@link #applyLogSettings}. A stop during the start
     * waits for it at least {@code minStartWait} ({@link SignalStop#MIN_START_WAIT}; a test's process, less), asked
     * for only then: reading SignalStop's constant loads the class and its logger, which before the settings started
     * Logback with its default pattern (a text line in a {@code PICOTUNNEL_LOG_FORMAT=json} log).
     * {@code extraListeners} are given to the start (a test's process holds its start with one).
     */
    static int runUntilStopped(String[] args, Map<String, String> env, PrintStream out, PrintStream err,
                               Supplier<Duration> minStartWait, ServiceListener... extraListeners) {
        Configured configured = configure(args, env, out, err);
        if (configured.config() == null) {
            return configured.exitCode();
        }
        SignalStop stop = SignalStop.install(configured.config().shutdownGrace(), minStartWait.get());
        PicoTunnelServer server;
        try {
            server = PicoTunnelServer.start(configured.config(), out, extraListeners);
        } catch (StartupException e) {
            int code = startFailed(e, err);
            stop.notStarted(code);
            return code;
        } catch (RuntimeException | Error e) {
            stop.notStarted(EXIT_STARTUP_FAILED);
            throw e;
        }
        stop.started(server);
        stop.awaitStop();
        return 0;
    }

    /** The command line and settings read: {@code config}, or null and the {@code exitCode} to end with. */
    private record Configured(ServerConfig config, int exitCode) {
    }

    private static Configured configure(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        CommandLine commandLine = new CommandLine(commandSpec());
        UnbrokenNames.applyTo(commandLine);
        commandLine.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        commandLine.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        try {
            ParseResult parsed = commandLine.parseArgs(args);
            if (CommandLine.printHelpIfRequested(parsed)) {
                return new Configured(null, 0);
            }
            OptionalInt wrongLogSettings = applyLogSettings(env, err);
            if (wrongLogSettings.isPresent()) {
                return new Configured(null, wrongLogSettings.getAsInt());
            }
            Map<Setting, String> flags = SettingOptions.given(parsed, Setting.class);
            ServerConfig config = ServerConfig.load(flags, env);
            warnOfQuotedSecrets(flags, env);
            return new Configured(config, 0);
        } catch (CommandLine.ParameterException e) {
            err.println(UsageErrors.describe(e, 0, "--admin-token TOKEN") + " (see --help)");
            return new Configured(null, EXIT_USAGE);
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return new Configured(null, EXIT_USAGE);
        }
    }

    private static int startFailed(StartupException e, PrintStream err) {
        err.println(e.getMessage());
        return e.permanent() ? EXIT_DATA_UNUSABLE : EXIT_STARTUP_FAILED;
    }

    /** Secrets in quotes are used without them ({@link QuotedSecrets}), with a warning that never shows them. */
    private static void warnOfQuotedSecrets(Map<Setting, String> flags, Map<String, String> env) {
        for (Setting secret : List.of(Setting.ADMIN_TOKEN, Setting.OIDC_CLIENT_SECRET)) {
            QuotedSecrets.warning(secret, flags, env).ifPresent(LoggerFactory.getLogger(ServerMain.class)::warn);
        }
    }

    /**
     * Sets how the process logs from PICOTUNNEL_LOG_FORMAT and PICOTUNNEL_LOG_LEVEL in {@code env} ({@link LogSettings}):
     * after the command line is parsed, so that {@code --help} and {@code --version} print whatever they say, and
     * before the first log line. A wrong value is said on {@code err}: {@link #EXIT_USAGE}; else empty.
     */
    static OptionalInt applyLogSettings(Map<String, String> env, PrintStream err) {
        try {
            LogSettings.apply(env);
            return OptionalInt.empty();
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return OptionalInt.of(EXIT_USAGE);
        }
    }

    /** The command line, built from {@link Setting} so that flags, variables and defaults are declared once. */
    static CommandSpec commandSpec() {
        CommandSpec spec = CommandSpec.create()
                .name("picotunnel-server")
                .version("picotunnel-server " + Version.get())
                .mixinStandardHelpOptions(true);
        spec.usageMessage()
                .description("Self-hosted tunnel server: publishes services of tunnel clients on HTTP(S) domains and TCP ports.")
                .footer("", "Every option can also be set with the environment variable shown; an option on the command line wins.",
                        "Logging: PICOTUNNEL_LOG_FORMAT=text (default) or json, PICOTUNNEL_LOG_LEVEL=info (default), debug, warn...",
                        // One paragraph: picocli wraps each string to the width, so a line broken here is broken again.
                        "Backup while running: picotunnel-server backup --data DIR FILE (see backup --help); restore"
                                + " while stopped: picotunnel-server restore --data DIR FILE (see restore --help).");
        SettingOptions.addTo(spec, Setting.class);
        return spec;
    }
}
