package io.picotunnel.server.packaging;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The JVM flags scripts/launcher.sh passes, read from a runtime whose {@code java} prints its arguments instead of
 * starting (the archive's layout: bin/, lib/, runtime/).
 */
class LauncherTest {

    @TempDir
    Path home;

    /**
     * A backup or restore started in the server's container (kubectl exec) shares the server's memory limit; it ran
     * with the server's heap settings (G1, 128 MiB committed from the start), pushing the pod towards its limit,
     * where the kernel kills the largest process: the server.
     */
    @Test
    void backupAndRestoreRunOnASmallSerialHeapAndTheServerOnItsOwn() throws Exception {
        Path launcher = install("picotunnel-server");

        for (String subcommand : List.of("backup", "restore")) {
            List<String> flags = run(launcher, subcommand, "--data", "/data", "/data/backup.db");
            assertThat(flags).as(subcommand).contains("-XX:+UseSerialGC", "-Xms8m", "-Xmx64m").doesNotContain("-Xms128m");
            assertThat(flags).as(subcommand).endsWith("-jar", home.resolve("lib/picotunnel-server.jar").toString(),
                    subcommand, "--data", "/data", "/data/backup.db");
        }
        List<String> server = run(launcher, "--data", "/data");
        assertThat(server).contains("-Xms128m").doesNotContain("-Xmx64m", "-XX:+UseSerialGC");
        // a server whose --data directory is named "backup" is still the server
        assertThat(run(launcher, "--data", "backup")).contains("-Xms128m").doesNotContain("-Xmx64m");
    }

    /**
     * JAVA_OPTS set for the server in its container reaches a backup started there (kubectl exec): a collector or
     * an initial heap in it came beside the launcher's -XX:+UseSerialGC -Xmx64m, and the JVM refused to start
     * ("Multiple garbage collectors selected", "Initial heap size set to a larger value than the maximum heap
     * size"). What JAVA_OPTS names wins, and the JVM starts.
     */
    @Test
    void backupAndRestoreTakeTheCollectorAndHeapThatJavaOptsName() throws Exception {
        Path launcher = install("picotunnel-server");

        for (String javaOpts : List.of("-XX:+UseG1GC", "-Xms256m", "-XX:+UseZGC -Xmx1g", "-XX:InitialHeapSize=128m")) {
            for (String subcommand : List.of("backup", "restore")) {
                List<String> flags = run(launcher, Map.of("JAVA_OPTS", javaOpts), subcommand, "/data/backup.db");
                List<String> jvmFlags = flags.subList(0, flags.indexOf("-jar"));
                assertThat(jvmFlags).as("%s with JAVA_OPTS=%s", subcommand, javaOpts).containsSequence(javaOpts.split(" "));
                assertStarts(jvmFlags);
            }
        }
        // a JAVA_OPTS without a collector or a heap keeps the small serial heap
        List<String> flags = run(launcher, Map.of("JAVA_OPTS", "-Dsome.property=1 -XX:MaxRAMPercentage=75"), "backup", "b.db");
        assertThat(flags).contains("-XX:+UseSerialGC", "-Xms8m", "-Xmx64m", "-Dsome.property=1");
    }

    /**
     * A small machine's JAVA_OPTS=-Xmx100m came after the launcher's -Xms128m: the JVM stopped at once ("Initial heap
     * size set to a larger value than the maximum heap size"). A heap size in JAVA_OPTS now replaces the start size.
     */
    @Test
    void theServerAndTheClientStartWithTheHeapJavaOptsNames() throws Exception {
        for (String name : List.of("picotunnel-server", "picotunnel-client")) {
            Path launcher = install(name);
            for (String javaOpts : List.of("-Xmx24m", "-Xmx100m", "-XX:MaxHeapSize=20m", "-Xms16m -Xmx16m")) {
                List<String> flags = run(launcher, Map.of("JAVA_OPTS", javaOpts), "--help");
                List<String> jvmFlags = flags.subList(0, flags.indexOf("-jar"));
                assertThat(jvmFlags).as("%s with JAVA_OPTS=%s", name, javaOpts).containsSequence(javaOpts.split(" "))
                        .doesNotContain("-Xms128m", "-Xms32m");
                assertStarts(jvmFlags);
            }
        }
    }

    /** The JVM of the running test starts with these flags (and prints its version instead of running a jar). */
    private static void assertStarts(List<String> jvmFlags) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(jvmFlags);
        command.add("-version");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("%s:%n%s", jvmFlags, output).isZero();
    }

    @Test
    void theClientRunsOnASerialHeapThatStartsSmall() throws Exception {
        List<String> flags = run(install("picotunnel-client"), "backup");

        assertThat(flags).contains("-XX:+UseSerialGC", "-Xms32m").doesNotContain("-Xmx64m", "-Xms128m");
    }

    private Path install(String name) throws IOException {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("lib"));
        Files.writeString(home.resolve("lib/" + name + ".jar"), "not a jar");
        Path java = Files.createDirectories(home.resolve("runtime/bin")).resolve("java");
        Files.writeString(java, """
                #!/bin/sh
                case "$*" in *-XshowSettings:properties*) echo '    java.specification.version = 25' >&2; exit 0;; esac
                for arg in "$@"; do printf '%s\\n' "$arg"; done
                """);
        Path launcher = bin.resolve(name);
        Files.copy(DeploymentFilesTest.ROOT.resolve("scripts/launcher.sh"), launcher);
        for (Path file : List.of(java, launcher)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return launcher;
    }

    private static List<String> run(Path launcher, String... args) throws Exception {
        return run(launcher, Map.of(), args);
    }

    private static List<String> run(Path launcher, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JAVA_OPTS");
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().toList();
    }
}
