package io.picotunnel.protocol.yamux;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link YamuxConfig#defaults()} (the server's tunnel endpoint uses it as it is) keeps the rule the operator's
 * limits follow: windows grow to at most half the session buffer limit, which on a small heap is under 32 MiB.
 */
class YamuxConfigDefaultsTest {

    /** Run in a JVM of its own: prints the defaults' largest window and buffer limit. */
    public static void main(String[] args) {
        YamuxConfig defaults = YamuxConfig.defaults();
        System.out.println(defaults.maxStreamWindow() + " " + defaults.sessionBufferLimit());
    }

    @Test
    void onASmallHeapTheDefaultWindowIsHalfTheDefaultBufferLimit() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-Xmx48m", "-cp", System.getProperty("java.class.path"),
                YamuxConfigDefaultsTest.class.getName()).redirectErrorStream(true).start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the JVM with a 48 MiB heap ends").isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(process.exitValue()).as(output).isZero();
        String[] values = output.lines().reduce((first, last) -> last).orElseThrow().split(" ");
        long window = Long.parseLong(values[0]);
        long limit = Long.parseLong(values[1]);

        assertThat(limit).as("a quarter of the heap").isLessThan(32L << 20);
        assertThat(window).isEqualTo(limit / 2).isLessThan(YamuxConfig.DEFAULT_MAX_STREAM_WINDOW);
        assertThat(SessionLimits.DEFAULTS.maxStreamWindow()).as("on this test's heap, the same rule")
                .isEqualTo(YamuxConfig.defaults().maxStreamWindow());
    }

    @Test
    void windowWithinIsHalfTheLimitAtMostAndNeverBelowTheSpecsWindow() {
        assertThat(YamuxConfig.windowWithin(YamuxConfig.DEFAULT_MAX_STREAM_WINDOW, 256L << 20)).isEqualTo(16 << 20);
        assertThat(YamuxConfig.windowWithin(16 << 20, 1 << 20)).isEqualTo(512 << 10);
        assertThat(YamuxConfig.windowWithin(16 << 20, 256 << 10)).as("never below the spec's window")
                .isEqualTo(256 << 10);
    }
}
