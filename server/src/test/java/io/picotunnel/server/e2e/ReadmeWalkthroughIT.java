package io.picotunnel.server.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the README's walk-through with scripts/readme-walkthrough.sh against the packaged executables, laid
 * out as {@code make build} lays out dist/ (launcher script plus lib/*.jar). Runs after {@code package}.
 */
class ReadmeWalkthroughIT {

    private static final Path SERVER_MODULE = Path.of("").toAbsolutePath();
    private static final Path ROOT = SERVER_MODULE.getParent();

    @Test
    void readmeWalkthroughReachesALocalServiceThroughTheTcpPort() throws IOException, InterruptedException {
        Path dist = SERVER_MODULE.resolve("target/readme-dist");
        Files.createDirectories(dist.resolve("lib"));
        install(dist, "picotunnel-server", SERVER_MODULE.resolve("target/picotunnel-server-all.jar"));
        install(dist, "picotunnel-client", ROOT.resolve("client/target/picotunnel-client-all.jar"));

        Path log = SERVER_MODULE.resolve("target/readme-walkthrough.log");
        Process process = new ProcessBuilder("bash", ROOT.resolve("scripts/readme-walkthrough.sh").toString(),
                dist.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        boolean exited = process.waitFor(200, TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);

        assertThat(exited).as("walk-through finished in time; output:%n%s", output).isTrue();
        assertThat(process.exitValue()).as("walk-through exit code; output:%n%s", output).isZero();
        assertThat(output).contains("OK, the published service answered through the tunnel");
    }

    private static void install(Path dist, String name, Path jar) throws IOException {
        assertThat(jar).as("packaged jar (run through mvn verify)").exists();
        Files.copy(jar, dist.resolve("lib/" + name + ".jar"), StandardCopyOption.REPLACE_EXISTING);
        Path launcher = dist.resolve(name);
        Files.copy(ROOT.resolve("scripts/launcher.sh"), launcher, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
