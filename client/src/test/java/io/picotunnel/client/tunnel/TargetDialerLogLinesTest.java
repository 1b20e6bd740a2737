package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link TargetDialer} logs when a stream fails before its target is dialled. Simulated time. */
class TargetDialerLogLinesTest {

    private static final Duration DIAL_TIMEOUT = Duration.ofMillis(1500);

    private static EmbeddedChannel streamWithDialer() {
        return streamWithDialer(AllowList.ANY);
    }

    /** Names are looked up at once, on the test's thread. */
    private static EmbeddedChannel streamWithDialer(AllowList allow) {
        EmbeddedChannel stream = new EmbeddedChannel();
        stream.freezeTime();
        stream.pipeline().addLast(new TargetDialer(allow, DIAL_TIMEOUT, Runnable::run, null, null,
                new TargetFailureLog()));
        return stream;
    }

    /** Has {@code stream} fail by {@code failing}, which must end it; answers the one WARN line it logged. */
    private static String warningWhen(EmbeddedChannel stream, Consumer<EmbeddedChannel> failing) {
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            failing.accept(stream);

            assertThat(stream.isOpen()).isFalse();
            List<String> warnings = log.messages(Level.WARN);
            assertThat(warnings).hasSize(1);
            stream.finishAndReleaseAll();
            return warnings.getFirst();
        }
    }

    @Test
    void aTargetOutsideTheAllowListIsLoggedAsRefused() {
        assertThat(warningWhen(streamWithDialer(AllowList.parse("127.0.0.1:1")),
                stream -> stream.writeInbound(new StreamHeader(StreamType.TCP, "127.0.0.1:2"))))
                .endsWith(": refused target 127.0.0.1:2: not in the --allow list");
    }

    /** The target comes from the server: a line break in it would forge a line of the client's log. */
    @Test
    void aTargetWithALineBreakOrBidiOverrideIsLoggedWrittenOut() {
        assertThat(warningWhen(streamWithDialer(), stream -> stream.writeInbound(
                new StreamHeader(StreamType.TCP, "app\nWARN forged\u202E.test:80"))))
                .contains(": refused target app\\nWARN forged\\u202e.test:80: ")
                .doesNotContain("\n", "\u202E");
    }

    @Test
    void aTargetWhoseNameDoesNotResolveIsLoggedAsAnUnknownHost() {
        assertThat(warningWhen(streamWithDialer(), stream -> {
            stream.writeInbound(new StreamHeader(StreamType.TCP, "app.nxdomain.test:80"));
            stream.runPendingTasks();
        })).endsWith(": target app.nxdomain.test:80 unreachable: unknown host");
    }

    @Test
    void anErrorWithoutMessageIsLoggedByItsKind() {
        assertThat(warningWhen(streamWithDialer(),
                stream -> stream.pipeline().fireExceptionCaught(new IllegalStateException())))
                .endsWith(": IllegalStateException, resetting");
    }

    @Test
    void aHeaderThatNeverCompletesIsLoggedWithTheDialTimeoutInSeconds() {
        assertThat(warningWhen(streamWithDialer(), stream -> {
            stream.advanceTimeBy(1499, TimeUnit.MILLISECONDS);
            stream.runScheduledPendingTasks();
            assertThat(stream.isOpen()).isTrue();
            stream.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            stream.runScheduledPendingTasks();
        })).endsWith(": no whole stream header within 1.5 s, resetting");
    }
}
