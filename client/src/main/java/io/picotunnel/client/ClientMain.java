package io.picotunnel.client;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import io.picotunnel.client.tunnel.ClientIdentity;
import io.picotunnel.client.tunnel.TokenRejectedException;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.LogSettings;
import io.picotunnel.protocol.config.QuotedSecrets;
import io.picotunnel.protocol.config.SettingOptions;
import io.picotunnel.protocol.config.StopSignals;
import io.picotunnel.protocol.config.UnbrokenNames;
import io.picotunnel.protocol.config.UsageErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/** {@code picotunnel-client}: connects to a PicoTunnel server and serves the streams it opens. */
@Command(
        name = "picotunnel-client",
        mixinStandardHelpOptions = true,
        versionProvider = ClientMain.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        // One string per paragraph: picocli wraps each to the terminal's width, so a line broken here is broken again.
        description = "Connects to a PicoTunnel server over one WebSocket and forwards each connection the server"
            + " sends to the local target it names. Reconnects on its own (1 s doubling to 1 min, starting over once a"
            + " connection lasted 30 s). Several clients may run with one token: the server spreads the load.",
        footerHeading = "%nEnvironment:%n",
        footer = {
            "Every flag can also be set with the environment variable shown; the flag wins.",
            "Without --proxy: HTTPS_PROXY (wss) or HTTP_PROXY (ws), and NO_PROXY, as Go programs read them.",
            "Logging: PICOTUNNEL_LOG_FORMAT=text (default) or json, PICOTUNNEL_LOG_LEVEL=info (default), debug, warn..."
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or Ctrl-C, after open streams finished, the grace period ended or a second signal"
                + " 1 s or more after the first",
            "1:unexpected error, or the stop did not finish",
            "2:invalid flags or settings",
            "3:the server rejected the token (HTTP 401); reconnecting would not help"
        })
public final class ClientMain implements Callable<Integer> {

    public static final int EXIT_OK = 0;
    public static final int EXIT_ERROR = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_TOKEN_REJECTED = 3;

    private static final String LOGBACK_CONFIG = "io/picotunnel/client/logback-client.xml";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final Map<String, String> env;

    ClientMain(Map<String, String> env) {
        this.env = env;
    }

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", LOGBACK_CONFIG);
        }
        int code = commandLine(System.getenv()).execute(args);
        System.exit(code);
    }

    static CommandLine commandLine(Map<String, String> env) {
        CommandLine cmd = new CommandLine(new ClientMain(env));
        SettingOptions.addTo(cmd.getCommandSpec(), Setting.class);
        UnbrokenNames.applyTo(cmd);
        cmd.setParameterExceptionHandler((e, args) -> {
            e.getCommandLine().getErr().println("picotunnel-client: " + UsageErrors.describe(e, 0, "--token TOKEN")
                    + " (see --help)");
            return EXIT_USAGE;
        });
        return cmd;
    }

    @Override
    public Integer call() throws InterruptedException {
        // Here, not in main: picocli has answered --help and --version already, whatever the variables say.
        try {
            LogSettings.apply(env);
        } catch (IllegalArgumentException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("picotunnel-client: " + e.getMessage());
            err.flush();
            return EXIT_USAGE;
        }
        Logger log = LoggerFactory.getLogger(ClientMain.class);
        Map<Setting, String> flags = SettingOptions.given(spec.commandLine().getParseResult(), Setting.class);
        ClientConfig config;
        try {
            config = ClientConfig.resolve(flags, env);
        } catch (ConfigException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("picotunnel-client: " + e.getMessage());
            err.flush();
            return EXIT_USAGE;
        }
        QuotedSecrets.warning(Setting.TOKEN, flags, env).ifPresent(log::warn);
        InsecureWarning.lines(config).forEach(log::warn);
        config.limits().windowKept().ifPresent(log::info);
        log.info("picotunnel-client {} connecting to {}{} (targets allowed: {})", Version.get(), config.server(),
                config.proxy() == null ? "" : " through the proxy " + config.proxy() + " (" + config.proxy().source() + ")",
                config.allow());
        TunnelClient client = new TunnelClient(config);
        Thread hook = new Thread(() -> stopOnSignal(client, config, log), "picotunnel-client-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        StopSignals.install(() -> {
            log.warn(StopSignals.CUT_SHORT);
            client.stopNow();
        }, log);
        client.start();
        try {
            return exitCode(client.terminated(), log);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting through the hook already.
            }
        }
    }

    /**
     * SIGTERM or SIGINT: stops the client (open streams finish for the grace period), then ends the process with
     * the code of a normal end (0), as a service manager expects of a stop it asked for, not with the signal's
     * 143 or 130. The JVM would otherwise exit with the signal's code once the hooks are done, so this one halts.
     */
    private static void stopOnSignal(TunnelClient client, ClientConfig config, Logger log) {
        log.info("shutdown requested");
        int code = EXIT_ERROR;
        try {
            client.stop().orTimeout(config.shutdownGrace().toMillis() + 5_000, TimeUnit.MILLISECONDS).join();
            code = exitCode(client.terminated(), log);
        } catch (CompletionException e) {
            log.error("the client did not stop within the grace period and 5 s more");
        } finally {
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(code);
        }
    }

    /** The exit code for how the client ended; a token rejected before the signal still ends with 3. */
    private static int exitCode(CompletableFuture<Void> terminated, Logger log) {
        try {
            terminated.join();
            return EXIT_OK;
        } catch (CompletionException e) {
            if (e.getCause() instanceof TokenRejectedException) {
                return EXIT_TOKEN_REJECTED;
            }
            log.error("client failed", e.getCause());
            return EXIT_ERROR;
        }
    }

    /** The version baked into the jar at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        static String get() {
            return ClientIdentity.version();
        }

        @Override
        public String[] getVersion() {
            return new String[] {"picotunnel-client " + get()};
        }
    }
}
