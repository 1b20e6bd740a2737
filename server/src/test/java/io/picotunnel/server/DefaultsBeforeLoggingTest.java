package io.picotunnel.server;

import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.YamuxConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server reads its command line, whose help names defaults ({@link ServerMain#commandSpec()} initialises
 * {@code Setting}, which reads {@link YamuxConfig}), before {@link ServerMain#applyLogSettings} sets the log format.
 * Nothing in that may load Netty or Logback: Netty starts its logger as it loads, and Logback read then its
 * configuration without the format, so {@code PICOTUNNEL_LOG_FORMAT=json} wrote text lines (df0dc6c6).
 */
class DefaultsBeforeLoggingTest {

    @TempDir
    Path dir;

    /** Run in a JVM of its own: computes what the server computes before it sets the log format. */
    public static void main(String[] args) {
        ServerMain.commandSpec();
        System.out.println("defaults " + YamuxConfig.defaults().sessionBufferLimit() + " "
                + SessionLimits.DEFAULTS.sessionBufferLimit());
    }

    @Test
    void computingTheServersDefaultsLoadsNeitherNettyNorLogging() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(java, "-Xmx64m", "-XX:MaxDirectMemorySize=32m", "-verbose:class",
                "-cp", System.getProperty("java.class.path"), DefaultsBeforeLoggingTest.class.getName());
        // To a file, not a pipe: -verbose:class writes more than a pipe holds, and the wait stays bounded.
        Path outputFile = dir.resolve("output.txt");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(outputFile.toFile())
                .start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        String output = Files.readString(outputFile);
        assertThat(process.isAlive()).as("the JVM ended within 60 s: %s", output).isFalse();
        assertThat(process.exitValue()).as(output).isZero();

        assertThat(output.lines()).as("the defaults were computed, the buffer limit a quarter of the direct cap")
                .contains("defaults 8388608 8388608");
        List<String> loaded = output.lines().filter(line -> line.contains("[class,load] ")).toList();
        assertThat(loaded).as("-verbose:class lines").isNotEmpty();
        assertThat(loaded.stream().filter(DefaultsBeforeLoggingTest::nettyOrLogging).limit(10))
                .as("the first Netty or logging classes loaded").isEmpty();
    }

    private static boolean nettyOrLogging(String classLoaded) {
        return Stream.of("io.netty.", "org.slf4j.", "ch.qos.logback.")
                .anyMatch(prefix -> classLoaded.contains("[class,load] " + prefix));
    }
}
