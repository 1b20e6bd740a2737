package io.picotunnel.server;

import io.picotunnel.server.store.AbsolutePaths;
import io.picotunnel.server.store.Backup;
import io.picotunnel.server.store.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;

/**
 * {@code picotunnel-server backup --data DIR FILE}: a consistent copy of the server's database, safe while the
 * server runs (SQLite's online backup). {@link RestoreCommand} puts it back while the server is stopped.
 */
@Command(name = "picotunnel-server backup", mixinStandardHelpOptions = true,
        description = "Writes a consistent copy of the server's database (tunnels, tokens, services, sessions) to"
            + " FILE, also while the server runs. To restore: stop the server, run picotunnel-server restore --data"
            + " DIR FILE, start the server.")
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
        OptionalInt done = SubcommandArgs.parse(command, "backup", args, env, out, err);
        if (done.isPresent()) {
            return done.getAsInt();
        }
        String dir = SubcommandArgs.dataDir(command.data, env, "backup", err);
        if (dir == null) {
            return ServerMain.EXIT_USAGE;
        }
        try {
            Backup.run(Path.of(dir), command.file);
        } catch (StoreException e) {
            err.println(e.getMessage());
            return ServerMain.EXIT_STARTUP_FAILED;
        }
        out.println("Backup written to " + AbsolutePaths.withoutDotSegments(command.file));
        return 0;
    }
}
