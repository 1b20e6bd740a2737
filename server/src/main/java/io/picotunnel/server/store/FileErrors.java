package io.picotunnel.server.store;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What went wrong with a file, in words: the JDK's {@link AccessDeniedException} and its kin carry only the path as
 * their message, so "Cannot write X: /dir/.x.partial" said nothing of why.
 */
public final class FileErrors {

    private FileErrors() {
    }

    /** "permission denied on /dir/file", "/dir/file does not exist", "/dir/file: No space left on device"... */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f) {
            String file = f.getFile() == null ? "a file" : f.getFile();
            String known = switch (f) {
                case AccessDeniedException a -> "permission denied on " + file;
                case NoSuchFileException a -> file + " does not exist";
                case FileAlreadyExistsException a -> file + " exists already";
                case NotDirectoryException a -> file + " is not a directory";
                case DirectoryNotEmptyException a -> file + " is a directory, and not empty";
                default -> null;
            };
            if (known != null) {
                return f.getReason() == null ? known : known + " (" + f.getReason() + ")";
            }
            if (f.getReason() != null) {
                return f.getMessage();
            }
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * {@link #describe} of each of {@code first}, joined by "; ", then how many more there were of {@code count}:
     * "permission denied on /dir/a; /dir/b: Operation not permitted; and 3 more".
     */
    public static String describe(List<IOException> first, int count) {
        String described = first.stream().map(FileErrors::describe).collect(Collectors.joining("; "));
        return count > first.size() ? described + "; and " + (count - first.size()) + " more" : described;
    }
}
