package io.picotunnel.client;

import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ConfigException;
import io.picotunnel.client.tunnel.ClientIdentity;
import io.picotunnel.client.tunnel.TokenRejectedException;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.protocol.config.LogSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** {@code picotunnel-client}: connects to a PicoTunnel server and serves the streams it opens. */
@Command(
        name = "picotunnel-client",
        mixinStandardHelpOptions = true,
        versionProvider = ClientMain.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Connects to a PicoTunnel server over one WebSocket and forwards each connection the server",
            "sends to the local target it names. Reconnects on its own (1 s doubling to 60 s, starting over",
            "once a connection lasted 30 s). Several clients may run with one token: the server spreads the load."
        },
        footerHeading = "%nEnvironment:%n",
        footer = {
            "  PICOTUNNEL_SERVER, PICOTUNNEL_TOKEN, PICOTUNNEL_INSECURE, PICOTUNNEL_ALLOW,",
            "  PICOTUNNEL_SHUTDOWN_GRACE, PICOTUNNEL_MAX_STREAM_WINDOW, PICOTUNNEL_SESSION_WINDOW_BUDGET,",
            "  PICOTUNNEL_MAX_STREAMS, PICOTUNNEL_SESSION_BUFFER_LIMIT, PICOTUNNEL_TARGET_THREADS, PICOTUNNEL_PROXY,",
            "  PICOTUNNEL_DIAL_TIMEOUT, PICOTUNNEL_CONNECT_TIMEOUT",
            "  stand in for the flags of the same name; a flag wins.",
            "  Without --proxy: HTTPS_PROXY (wss) or HTTP_PROXY (ws), and NO_PROXY, as Go programs read them.",
            "  Logging: PICOTUNNEL_LOG_FORMAT=text (default) or json, PICOTUNNEL_LOG_LEVEL=info (default), debug, warn..."
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or Ctrl-C, after open streams finished or the grace period ended",
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

    @Option(names = "--server", paramLabel = "ADDRESS",
            description = "Server tunnel address: host:port (TLS), wss://host:port or ws://host:port (no TLS).")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "The tunnel's token.")
    String token;

    @Option(names = "--insecure", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "Skip TLS certificate verification. For development only.")
    Boolean insecure;

    @Option(names = "--allow", paramLabel = "HOST:PORT[,...]",
            description = "Only these targets may be dialled for the server; others are refused. Default: any.")
    String allow;

    @Option(names = "--shutdown-grace", paramLabel = "DURATION",
            description = "On SIGTERM, how long open streams may go on (e.g. 10s, 500ms, 2m, 1h). Default: 10s.")
    String shutdownGrace;

    @Option(names = "--dial-timeout", paramLabel = "DURATION",
            description = "How long a target's name lookup and connection may take together, its addresses sharing"
                    + " it (e.g. 10s, 500ms, 1m). Default: 10s.")
    String dialTimeout;

    @Option(names = "--connect-timeout", paramLabel = "DURATION",
            description = "How long the connection to the server (through a proxy: to the proxy, and its answer to"
                    + " CONNECT) may take, counted after the name lookup, its addresses sharing it. Default: 10s.")
    String connectTimeout;

    @Option(names = "--max-stream-window", paramLabel = "BYTES",
            description = "Largest receive window per stream; windows start at 256KiB and grow while the link,"
                    + " not the reader, limits a stream. At most half of --session-buffer-limit. Default: 16MiB.")
    String maxStreamWindow;

    @Option(names = "--session-window-budget", paramLabel = "BYTES",
            description = "How much the windows of the connection may grow in all (bounds memory). Default: 64MiB.")
    String sessionWindowBudget;

    @Option(names = "--max-streams", paramLabel = "N",
            description = "Most open streams on the connection. Default: 65536.")
    String maxStreams;

    @Option(names = "--session-buffer-limit", paramLabel = "BYTES",
            description = "Most bytes the streams of the connection may hold for targets that read slower than the"
                    + " server sends; beyond, the stream whose target has gone longest without reading is reset. Default: 256MiB, or a quarter of"
                    + " the heap if less.")
    String sessionBufferLimit;

    @Option(names = "--target-threads", paramLabel = "N",
            description = "Threads for the connections to targets. Default 0: the tunnel's own thread, fastest on"
                    + " small machines (nothing handed between threads); N: a pool of N, for many busy targets on"
                    + " many cores.")
    String targetThreads;

    @Option(names = "--proxy", paramLabel = "URL",
            description = "HTTP proxy to reach the server through (CONNECT): http://[user:password@]host:port, or none"
                    + " to connect directly. Default: HTTPS_PROXY for wss, HTTP_PROXY for ws, unless NO_PROXY names the"
                    + " server or it is on this machine. A proxy the client cannot use (another scheme, such as"
                    + " socks5://, or a value it cannot read) is an error at start, from these variables too: set"
                    + " --proxy to an http:// proxy, or to none.")
    String proxy;

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
        cmd.setParameterExceptionHandler((e, args) -> {
            e.getCommandLine().getErr().println("picotunnel-client: " + usageError(e));
            e.getCommandLine().getErr().println("Run picotunnel-client --help for the flags.");
            return EXIT_USAGE;
        });
        return cmd;
    }

    /**
     * What is wrong with the command line, without the arguments that match no flag: picocli prints them whole, and
     * such an argument is often the token (given without --token, after --insecure, or after a misspelt --token=),
     * which would end up in the journal or the container's log. A flag is named up to its '='.
     */
    static String usageError(CommandLine.ParameterException e) {
        if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched) || unmatched.getUnmatched().isEmpty()) {
            return e.getMessage();
        }
        return unmatched.getUnmatched().stream()
                .map(arg -> arg.startsWith("-")
                        ? "unknown flag " + (arg.indexOf('=') < 0 ? arg : arg.substring(0, arg.indexOf('=')))
                        : "an argument that belongs to no flag (not shown: it may be a secret; a value goes right after"
                        + " its flag, as in --token TOKEN)")
                .distinct()
                .collect(Collectors.joining("; "));
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
        ClientConfig config;
        try {
            config = ClientConfig.resolve(
                    new ClientConfig.Flags(server, token, insecure, allow, shutdownGrace, maxStreamWindow,
                            sessionWindowBudget, maxStreams, targetThreads, sessionBufferLimit, proxy, dialTimeout,
                            connectTimeout), env);
        } catch (ConfigException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("picotunnel-client: " + e.getMessage());
            err.flush();
            return EXIT_USAGE;
        }
        String tokenGiven = token != null ? token : env.get(ClientConfig.ENV_TOKEN);
        if (tokenGiven != null && ClientConfig.isQuoted(tokenGiven.strip())) {
            log.warn("the token is in quotes ({}), as docker run --env-file keeps them from {}=\"...\" (Compose's"
                    + " env_file and systemd's EnvironmentFile take them off): using what is inside; write the line"
                    + " without quotes", token != null ? "--token" : ClientConfig.ENV_TOKEN, ClientConfig.ENV_TOKEN);
        }
        if (config.insecure()) {
            log.warn("**********************************************************************");
            log.warn("--insecure: TLS certificates are NOT verified. Anyone on the path can");
            log.warn("impersonate the server and read the tunnel. Use only for development.");
            log.warn("**********************************************************************");
        }
        if (config.insecure() && !config.server().tls()) {
            log.warn("--insecure has no effect on a ws:// (plain) server address");
        }
        config.limits().windowKept().ifPresent(log::info);
        log.info("picotunnel-client {} connecting to {}{} (targets allowed: {})", Version.get(), config.server(),
                config.proxy() == null ? "" : " through the proxy " + config.proxy() + " (" + config.proxy().source() + ")",
                config.allow());
        TunnelClient client = new TunnelClient(config);
        Thread hook = new Thread(() -> stopOnSignal(client, config, log), "picotunnel-client-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
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
