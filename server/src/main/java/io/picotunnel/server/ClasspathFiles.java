package io.picotunnel.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The files under a directory of the classpath, from every root that has it (a directory while developing, a jar
 * when packaged). Reads a jar's index through {@link JarFile} and closes it: a zip file system mounted on the
 * server's own jar keeps an object per entry of it on the heap for good (some 21,000 entries).
 */
public final class ClasspathFiles {

    private ClasspathFiles() {
    }

    /** Paths of the files (not directories) below {@code location}, relative to it, with {@code /} between names. */
    public static Set<String> under(String location) {
        Set<String> names = new TreeSet<>();
        try {
            Enumeration<URL> roots = ClasspathFiles.class.getClassLoader().getResources(location);
            while (roots.hasMoreElements()) {
                URL root = roots.nextElement();
                if (root.getProtocol().equals("file")) {
                    Path dir = Path.of(root.toURI());
                    try (Stream<Path> files = Files.walk(dir)) {
                        files.filter(Files::isRegularFile)
                                .forEach(file -> names.add(dir.relativize(file).toString().replace('\\', '/')));
                    }
                } else if (root.getProtocol().equals("jar")) {
                    JarURLConnection jar = (JarURLConnection) root.openConnection();
                    jar.setUseCaches(false);
                    try (JarFile file = jar.getJarFile()) {
                        Enumeration<JarEntry> entries = file.entries();
                        while (entries.hasMoreElements()) {
                            JarEntry entry = entries.nextElement();
                            String name = entry.getName();
                            if (!entry.isDirectory() && name.startsWith(location + "/")
                                    && name.length() > location.length() + 1) {
                                names.add(name.substring(location.length() + 1));
                            }
                        }
                    }
                } else {
                    throw new IllegalStateException("cannot list the classpath at " + root);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }
}
