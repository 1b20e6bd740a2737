package io.picotunnel.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds the Go interop peer ({@code interop/go/peer}) with Debian's Go toolchain and its gocode tree
 * (hashicorp/yamux, gorilla/websocket), offline, once per source version: the binary goes to
 * {@code target/go-peer/<hash of the sources>/peer} at the repository root and is reused while the sources
 * are unchanged. Missing Go is a test failure with instructions, never a skip.
 */
public final class GoPeerBuild {

    static final Path GOCODE = Path.of("/usr/share/gocode");
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(3);

    private static Path built;

    private GoPeerBuild() {
    }

    /** The peer binary, built now if needed. */
    public static synchronized Path binary() {
        if (built != null) {
            return built;
        }
        Path go = findGo();
        Path root = repositoryRoot();
        Path sources = root.resolve("interop/go/peer");
        Path binary = root.resolve("target/go-peer").resolve(hash(sources)).resolve("peer");
        if (!Files.isExecutable(binary)) {
            build(go, root, sources, binary);
        }
        built = binary;
        return binary;
    }

    private static Path findGo() {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        Path go = Stream.concat(Stream.of(path.split(":")), Stream.of("/usr/lib/go/bin", "/usr/bin"))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, "go"))
                .filter(Files::isExecutable)
                .findFirst()
                .orElseThrow(() -> new AssertionError("Go is not installed, but the interop tests build a Go peer. "
                        + "Install golang-go, golang-github-hashicorp-yamux-dev and "
                        + "golang-github-gorilla-websocket-dev (scripts/install-deps.sh does)."));
        for (String lib : List.of("github.com/hashicorp/yamux", "github.com/gorilla/websocket")) {
            if (!Files.isDirectory(GOCODE.resolve("src").resolve(lib))) {
                throw new AssertionError(lib + " is missing from " + GOCODE + "/src; install "
                        + "golang-github-hashicorp-yamux-dev and golang-github-gorilla-websocket-dev "
                        + "(scripts/install-deps.sh does).");
            }
        }
        return go;
    }

    static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("interop/go/peer/main.go"))) {
                return d;
            }
        }
        throw new AssertionError("cannot find interop/go/peer above " + dir);
    }

    private static String hash(Path sources) {
        try (Stream<Path> files = Files.list(sources)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Path file : files.filter(f -> f.toString().endsWith(".go")).sorted().toList()) {
                digest.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                digest.update(Files.readAllBytes(file));
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void build(Path go, Path root, Path sources, Path binary) {
        try {
            Files.createDirectories(binary.getParent());
            Path partial = binary.resolveSibling("peer.partial-" + ProcessHandle.current().pid());
            Path log = binary.resolveSibling("build.log");
            ProcessBuilder pb = new ProcessBuilder(go.toString(), "build", "-o", partial.toString(), ".")
                    .directory(sources.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.put("GO111MODULE", "off");
            env.put("GOPATH", GOCODE.toString());
            env.put("GOCACHE", root.resolve("target/go-peer/cache").toString());
            env.put("GOFLAGS", "");
            env.put("GOPROXY", "off");
            env.put("CGO_ENABLED", "0");
            Process process = pb.start();
            if (!process.waitFor(BUILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("building the Go peer took longer than " + BUILD_TIMEOUT.toMinutes() + " min");
            }
            if (process.exitValue() != 0) {
                throw new AssertionError("building the Go peer failed:\n" + Files.readString(log));
            }
            // Another test JVM may build at the same time; the move makes the finished binary appear at once.
            Files.move(partial, binary, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the Go peer", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while building the Go peer", e);
        }
    }
}
