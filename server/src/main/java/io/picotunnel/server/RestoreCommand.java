package io.picotunnel.server;

import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.store.AbsolutePaths;
import io.picotunnel.server.store.Restore;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Map;
import java.util.OptionalInt;

/**
 * {@code picotunnel-server restore --data DIR FILE}: puts a backup in place of the server's database while the
 * server is stopped, after checking it; the database it replaces is kept beside it ({@link Restore}).
 */
@Command(name = "picotunnel-server restore", mixinStandardHelpOptions = true,
        description = "Replaces the server's database with FILE, a backup made by picotunnel-server backup. Stop the"
            + " server first: the restore holds the data directory's lock, so it is refused while a server runs there,"
            + " and a server started meanwhile is refused. FILE is checked before anything changes (a damaged,"
            + " truncated or wrong file is refused); it replaces the database in one atomic step, and the database it"
            + " replaces is kept as <data>/picotunnel.db.before-restore-<time> (UTC, e.g. 20260131-142503.207Z). The"
            + " web UI's sign-in sessions in FILE are ended: everyone signs in again.")
final class RestoreCommand {

    static final String NAME = "restore";

    @Option(names = {"--data", "--data-dir"}, paramLabel = "DIR",
            description = "The server's data directory. Env: PICOTUNNEL_DATA_DIR. Default: ./data.")
    String data;

    @Option(names = "--owner", paramLabel = "UID[:GID]",
            description = {"Who the restored file belongs to (a user and group, by number or name; run as root)."
                + " Default: the owner of the database it replaces, else of the data directory."})
    String owner;

    @Parameters(paramLabel = "FILE", description = "The backup to restore.")
    Path file;

    private RestoreCommand() {
    }

    /** Runs the command with {@code args} (after "restore"); returns the exit code. */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        return run(args, env, out, err, () -> { });
    }

    /** As {@link #run(String[], Map, PrintStream, PrintStream)}; {@code afterSetAside} as in {@link Restore.Steps}. */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err, Runnable afterSetAside) {
        RestoreCommand command = new RestoreCommand();
        OptionalInt done = SubcommandArgs.parse(command, "restore", args, env, out, err);
        if (done.isPresent()) {
            return done.getAsInt();
        }
        String dir = SubcommandArgs.dataDir(command.data, env, "restore", err);
        if (dir == null) {
            return ServerMain.EXIT_USAGE;
        }
        Restore.Owner owner;
        try {
            owner = command.owner == null ? null : owner(command.owner, Path.of(dir).toAbsolutePath().getFileSystem());
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage() + " (see picotunnel-server restore --help)");
            return ServerMain.EXIT_USAGE;
        }
        Restore.Outcome outcome;
        try {
            outcome = Restore.run(Path.of(dir), command.file, owner,
                    new Restore.Steps(dataDir -> lock(dataDir, owner), afterSetAside));
        } catch (StoreException | StartupException e) {
            err.println(e.getMessage());
            return ServerMain.EXIT_STARTUP_FAILED;
        }
        out.println("Restored " + AbsolutePaths.withoutDotSegments(command.file) + " to " + outcome.database()
                + (outcome.previous() == null ? "" : "; the database it replaced is kept as " + outcome.previous())
                + ". Every sign-in session of the web UI in the backup was ended (" + outcome.endedSessions()
                + "): everyone signs in again."
                + (outcome.leftovers().isEmpty() ? "" : " A -wal or -journal left without its database (not to be"
                        + " replayed onto the restored one) is kept as " + String.join(", ",
                        outcome.leftovers().stream().map(Path::toString).toList()) + ".")
                + (outcome.ownerNote() == null ? "" : " " + outcome.ownerNote())
                + " Start the server.");
        return 0;
    }

    /**
     * The server's own lock on the data directory, held while the restore runs: a server (re)started meanwhile by
     * systemd or Docker is refused instead of opening the database about to be replaced. A lock file created here
     * gets the owner the restored file gets, for the server to open it.
     */
    private static Restore.DirectoryLock lock(Path dataDir, Restore.Owner owner) {
        Path file = dataDir.resolve(DataDirectoryLock.FILE_NAME);
        boolean existed = Files.exists(file, LinkOption.NOFOLLOW_LINKS);
        DataDirectoryLock lock = DataDirectoryLock.acquire(dataDir, DataDirectoryLock.Role.RESTORE);
        if (!existed) {
            Path database = dataDir.resolve(Store.DATABASE_FILE);
            try {
                Files.setOwner(file, owner != null ? owner.user()
                        : Files.getOwner(Files.exists(database) ? database : dataDir));
                PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
                if (owner != null && owner.group() != null && view != null) {
                    view.setGroup(owner.group());
                }
            } catch (IOException | UnsupportedOperationException e) {
                // without the right to give files away, as for the database (see Restore)
            }
        }
        return lock::close;
    }

    /** {@code UID[:GID]}, by number or name, as the operating system knows them. */
    private static Restore.Owner owner(String text, FileSystem fileSystem) {
        String[] parts = text.split(":", -1);
        if (parts.length > 2 || parts[0].isBlank() || (parts.length == 2 && parts[1].isBlank())) {
            throw new IllegalArgumentException("--owner takes UID or UID:GID, such as 10001 or 10001:10001, not "
                    + ControlCharacters.quoted(text));
        }
        UserPrincipalLookupService lookup = fileSystem.getUserPrincipalLookupService();
        try {
            UserPrincipal user = lookup.lookupPrincipalByName(parts[0]);
            GroupPrincipal group = parts.length == 2 ? lookup.lookupPrincipalByGroupName(parts[1]) : null;
            return new Restore.Owner(user, group);
        } catch (IOException | UnsupportedOperationException e) {
            // UserPrincipalNotFoundException has no message, only the name already quoted.
            String why = e instanceof UserPrincipalNotFoundException || e.getMessage() == null ? ""
                    : " (" + ControlCharacters.bounded(e.getMessage()) + ")";
            throw new IllegalArgumentException("--owner " + ControlCharacters.quoted(text)
                    + ": there is no such user or group here" + why + "; give numbers, such as 10001:10001", e);
        }
    }
}
