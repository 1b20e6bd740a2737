package io.picotunnel.server.store;

import java.nio.file.Path;

/** How the backup and restore commands name the files they are given. */
public final class AbsolutePaths {

    private AbsolutePaths() {
    }

    /**
     * {@code path} made absolute, without its "." segments ("/srv/./backup.db" is "/srv/backup.db"). Its ".." segments
     * stay: after a symbolic link, ".." leads to the parent of the link's target, not back where the text seems to, so
     * {@link Path#normalize} would name another file than the one the system opens.
     */
    public static Path withoutDotSegments(Path path) {
        Path absolute = path.toAbsolutePath();
        Path result = absolute.getRoot();
        for (Path name : absolute) {
            if (!name.toString().equals(".")) {
                result = result.resolve(name);
            }
        }
        return result;
    }
}
