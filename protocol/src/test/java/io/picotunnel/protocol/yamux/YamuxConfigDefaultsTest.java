package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link YamuxConfig#defaults()} (the server's tunnel endpoint uses it as it is) keeps the rule the operator's
 * limits follow: windows grow to at most half the session buffer limit, which on a small heap is under 32 MiB, and
 * under a direct memory cap below the heap a quarter of that cap.
 */
class YamuxConfigDefaultsTest {

    /** Run in a JVM of its own: prints the defaults' largest window and buffer limit. */
    public static void main(String[] args) {
        YamuxConfig defaults = YamuxConfig.defaults();
        System.out.println(defaults.maxStreamWindow() + " " + defaults.sessionBufferLimit() + " "
                + Runtime.getRuntime().maxMemory());
    }

    /**
     * This class's {@link #main} in a JVM started with {@code jvmOptions}: its largest window, buffer limit and heap's
     * maximum (which depends on the collector the JVM picks: G1 on 2 cores or more, Serial on one).
     */
    private static long[] defaultsIn(String... jvmOptions) throws Exception {
        return defaultsWith(Map.of(), jvmOptions);
    }

    private static long[] defaultsWith(Map<String, String> environment, String... jvmOptions) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), YamuxConfigDefaultsTest.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        builder.environment().remove("JDK_JAVA_OPTIONS");
        builder.environment().remove("_JAVA_OPTIONS");
        builder.environment().putAll(environment);
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the JVM with %s ends", command).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(process.exitValue()).as(output).isZero();
        String[] values = output.lines().reduce((first, last) -> last).orElseThrow().split(" ");
        return new long[] {Long.parseLong(values[0]), Long.parseLong(values[1]), Long.parseLong(values[2])};
    }

    @Test
    void onASmallHeapTheDefaultWindowIsHalfTheDefaultBufferLimit() throws Exception {
        long[] defaults = defaultsIn("-Xmx48m");
        long window = defaults[0];
        long limit = defaults[1];

        assertThat(limit).as("a quarter of the heap").isLessThan(32L << 20);
        assertThat(window).isEqualTo(limit / 2).isLessThan(YamuxConfig.DEFAULT_MAX_STREAM_WINDOW);
        assertThat(SessionLimits.DEFAULTS.maxStreamWindow()).as("on this test's heap, the same rule")
                .isEqualTo(YamuxConfig.defaults().maxStreamWindow());
    }

    @Test
    void underADirectMemoryCapBelowTheHeapTheDefaultBufferLimitIsAQuarterOfTheCap() throws Exception {
        // Frames of 16 KiB and more wait in direct buffers: a session limit of a quarter of the heap would let one
        // session run the direct memory out before its buffer limit resets a stalled stream.
        long[] defaults = defaultsIn("-Xmx512m", "-XX:MaxDirectMemorySize=64m");

        assertThat(defaults[1]).as("a quarter of the 64 MiB direct memory").isEqualTo(16L << 20);
        assertThat(defaults[0]).as("the window, half of that").isEqualTo(8L << 20);
    }

    @Test
    void withoutADirectMemoryCapTheDefaultBufferLimitIsAQuarterOfTheHeap() throws Exception {
        long[] defaults = defaultsIn("-Xmx512m");

        assertThat(defaults[1]).as("a quarter of the heap's maximum, the JDK's direct cap").isEqualTo(defaults[2] / 4)
                .isBetween(96L << 20, 128L << 20);
    }

    @Test
    void inARuntimeWithoutTheManagementModulesTheCommandLinesDirectMemoryCapIsStillFollowed() throws Exception {
        // A jlink runtime without java.management: the cap is read from the command line instead.
        long[] defaults = defaultsIn("--limit-modules", "java.base", "-Xmx512m", "-XX:MaxDirectMemorySize=64m");

        assertThat(defaults[1]).as("a quarter of the 64 MiB direct memory").isEqualTo(16L << 20);
    }

    @Test
    void inARuntimeWithoutTheManagementModulesTheLaunchersOptionsCapIsFollowed() throws Exception {
        // JDK_JAVA_OPTIONS is read by the java launcher: it is not on the process's command line.
        long[] defaults = defaultsWith(Map.of("JDK_JAVA_OPTIONS", "-XX:MaxDirectMemorySize=64m"), "--limit-modules",
                "java.base", "-Xmx512m");

        assertThat(defaults[1]).as("a quarter of the 64 MiB direct memory").isEqualTo(16L << 20);
    }

    @Test
    void theProgramsArgumentsAreNotTakenForTheJvmsOptions() {
        assertThat(DirectMemoryCap.beforeTheMainClass(List.of("-Xmx1g", "-cp", "lib/*", "-XX:MaxDirectMemorySize=64m",
                "-jar", "app.jar", "-XX:MaxDirectMemorySize=1t")))
                .containsExactly("-Xmx1g", "-cp", "-XX:MaxDirectMemorySize=64m");
        assertThat(DirectMemoryCap.beforeTheMainClass(List.of("-XX:MaxDirectMemorySize=64m", "io.example.Main",
                "-XX:MaxDirectMemorySize=1t"))).containsExactly("-XX:MaxDirectMemorySize=64m");
        assertThat(DirectMemoryCap.beforeTheMainClass(List.of("--module=app/io.example.Main", "-XX:MaxDirectMemorySize=1t")))
                .isEmpty();
        assertThat(DirectMemoryCap.beforeTheMainClass(List.of("@jvm.options", "-XX:MaxDirectMemorySize=64m", "-jar",
                "app.jar"))).as("after an argument file").containsExactly("-XX:MaxDirectMemorySize=64m");
    }

    @Test
    void theCommandLinesLastDirectMemoryCapIsReadWithItsUnit() {
        assertThat(DirectMemoryCap.fromOptions(List.of("-XX:MaxDirectMemorySize=1g", "-XX:MaxDirectMemorySize=64M",
                "-cp", "x"), 512L << 20)).isEqualTo(64L << 20);
        assertThat(DirectMemoryCap.fromOptions(List.of("-XX:MaxDirectMemorySize=65536"), 1)).isEqualTo(65536);
        assertThat(DirectMemoryCap.fromOptions(List.of("-Xmx1g"), 512L << 20)).as("none").isEqualTo(512L << 20);
        assertThat(DirectMemoryCap.fromOptions(List.of("-XX:MaxDirectMemorySize=lots"), 512L << 20))
                .as("unreadable").isEqualTo(512L << 20);
        assertThat(DirectMemoryCap.fromOptions(List.of("-XX:MaxDirectMemorySize=99999999999t"), 512L << 20))
                .as("beyond a long").isEqualTo(512L << 20);
    }

    @Test
    void theDirectMemoryCapIsTheOptionsValueOrTheHeapWhenUnset() {
        assertThat(DirectMemoryCap.of("67108864", 512L << 20)).isEqualTo(64L << 20);
        assertThat(DirectMemoryCap.of("0", 512L << 20)).as("0: not set, the heap's maximum").isEqualTo(512L << 20);
        assertThat(DirectMemoryCap.of(null, 512L << 20)).as("no such option").isEqualTo(512L << 20);
    }

    @Test
    void theDefaultBufferLimitIsAQuarterOfTheSmallerMemoryCapAtMost256MiB() {
        assertThat(YamuxConfig.defaultSessionBufferLimit(4L << 30, 4L << 30)).isEqualTo(256L << 20);
        assertThat(YamuxConfig.defaultSessionBufferLimit(512L << 20, 4L << 30)).isEqualTo(128L << 20);
        assertThat(YamuxConfig.defaultSessionBufferLimit(4L << 30, 64L << 20)).isEqualTo(16L << 20);
        assertThat(YamuxConfig.defaultSessionBufferLimit(4L << 30, 256L << 10)).as("never below the spec's window")
                .isEqualTo(256L << 10);
    }

    @Test
    void windowWithinIsHalfTheLimitAtMostAndNeverBelowTheSpecsWindow() {
        assertThat(YamuxConfig.windowWithin(YamuxConfig.DEFAULT_MAX_STREAM_WINDOW, 256L << 20)).isEqualTo(16 << 20);
        assertThat(YamuxConfig.windowWithin(16 << 20, 1 << 20)).isEqualTo(512 << 10);
        assertThat(YamuxConfig.windowWithin(16 << 20, 256 << 10)).as("never below the spec's window")
                .isEqualTo(256 << 10);
    }
}
