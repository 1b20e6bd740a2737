package io.picotunnel.server;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Backup;
import io.picotunnel.server.store.StoreException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code picotunnel-server backup --data DIR FILE}: a consistent copy of the server's database, safe while the
 * server runs (SQLite's online backup). {@link RestoreCommand} puts it back while the server is stopped.
 */
@Command(name = "picotunnel-server backup", mixinStandardHelpOptions = true,
        description = {"Writes a consistent copy of the server's database (tunnels, tokens, services, sessions) to FILE,",
            "also while the server runs. To restore: stop the server, run picotunnel-server restore --data DIR FILE,",
            "start the server."})
final class BackupCommand {

    static final String NAME = "backup";

    @Option(names = {"--data", "--data-dir"}, paramLabel = "DIR",
            description = "The server's data directory. Env: PICOTUNNEL_DATA_DIR. Default: ./data.")
    String data;

    @Parameters(paramLabel = "FILE", description = "Where to write the copy (replaced if it exists).")
    Path file;

    private BackupCommand() {
    }

    /** Runs the command with {@code args} (after "backup"); returns the exit code. */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        BackupCommand command = new BackupCommand();
        CommandLine commandLine = new CommandLine(command);
        commandLine.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        commandLine.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        try {
            if (CommandLine.printHelpIfRequested(commandLine.parseArgs(args))) {
                return 0;
            }
        } catch (CommandLine.ParameterException e) {
            err.println(e.getMessage() + " (see picotunnel-server backup --help)");
            return ServerMain.EXIT_USAGE;
        }
        String dir = command.data != null ? command.data
                : env.getOrDefault(Setting.DATA_DIR.envVar(), Setting.DATA_DIR.defaultValue());
        try {
            Backup.run(Path.of(dir), command.file);
        } catch (StoreException e) {
            err.println(e.getMessage());
            return ServerMain.EXIT_STARTUP_FAILED;
        }
        out.println("Backup written to " + command.file.toAbsolutePath());
        return 0;
    }
}
