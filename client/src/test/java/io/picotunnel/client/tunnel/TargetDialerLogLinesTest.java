package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link TargetDialer} logs when a stream fails before its target is dialled. Simulated time. */
class TargetDialerLogLinesTest {

    private static final Duration DIAL_TIMEOUT = Duration.ofMillis(1500);

    private static EmbeddedChannel streamWithDialer() {
        EmbeddedChannel stream = new EmbeddedChannel();
        stream.freezeTime();
        stream.pipeline().addLast(new TargetDialer(AllowList.ANY, DIAL_TIMEOUT, Runnable::run, null, null,
                new TargetFailureLog()));
        return stream;
    }

    @Test
    void anErrorWithoutMessageIsLoggedByItsKind() {
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            EmbeddedChannel stream = streamWithDialer();

            stream.pipeline().fireExceptionCaught(new IllegalStateException());

            assertThat(stream.isOpen()).isFalse();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": IllegalStateException, resetting");
            stream.finishAndReleaseAll();
        }
    }

    @Test
    void aHeaderThatNeverCompletesIsLoggedWithTheDialTimeoutInSeconds() {
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            EmbeddedChannel stream = streamWithDialer();

            stream.advanceTimeBy(1499, TimeUnit.MILLISECONDS);
            stream.runScheduledPendingTasks();
            assertThat(stream.isOpen()).isTrue();
            stream.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            stream.runScheduledPendingTasks();

            assertThat(stream.isOpen()).isFalse();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": no whole stream header within 1.5 s, resetting");
            stream.finishAndReleaseAll();
        }
    }
}
