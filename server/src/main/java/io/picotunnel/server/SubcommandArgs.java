package io.picotunnel.server;

import io.picotunnel.protocol.config.UsageErrors;
import io.picotunnel.server.config.Setting;
import picocli.CommandLine;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalInt;

/** What the backup and restore commands share: parsing their arguments, and where the data directory is. */
final class SubcommandArgs {

    private SubcommandArgs() {
    }

    /**
     * Parses {@code args} into {@code command} (help and version as the server's), then sets how the process logs from {@code env}
     * ({@link ServerMain#applyLogSettings}); the exit code when that is all there is to do (help asked for: 0; a
     * usage error or a wrong logging variable, said on {@code err}: {@link ServerMain#EXIT_USAGE}), else empty.
     */
    static OptionalInt parse(Object command, String name, String[] args, Map<String, String> env, PrintStream out,
                             PrintStream err) {
        CommandLine commandLine = new CommandLine(command);
        // --version, which the standard help options offer, prints the server's version as picotunnel-server --version
        commandLine.getCommandSpec().version("picotunnel-server " + Version.get());
        commandLine.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        commandLine.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        try {
            if (CommandLine.printHelpIfRequested(commandLine.parseArgs(args))) {
                return OptionalInt.of(0);
            }
        } catch (CommandLine.ParameterException e) {
            // Counted as on the whole command line, where the subcommand's name is the first argument.
            err.println(UsageErrors.describe(e, 1, "--data DIR") + " (see picotunnel-server " + name + " --help)");
            return OptionalInt.of(ServerMain.EXIT_USAGE);
        }
        return ServerMain.applyLogSettings(env, err);
    }

    /**
     * The data directory: {@code --data}, else PICOTUNNEL_DATA_DIR (unless empty), else the default, as the server
     * takes it; null when {@code --data} is empty, said on {@code err} (an empty path is the current directory, which
     * a restore would have written its database into).
     */
    static String dataDir(String flag, Map<String, String> env, String name, PrintStream err) {
        if (flag != null && flag.isBlank()) {
            err.println(ServerConfig.emptyDataDirFlag() + " (see picotunnel-server " + name + " --help)");
            return null;
        }
        String variable = env.get(Setting.DATA_DIR.envVar());
        // Trimmed as the server trims it, so that " /srv/data" names the directory the server uses.
        return flag != null ? flag.trim()
                : variable != null && !variable.isBlank() ? variable.trim() : Setting.DATA_DIR.defaultValue();
    }
}
