package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

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

    @Test
    void aTargetOutsideTheAllowListIsLoggedAsRefused() {
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            EmbeddedChannel stream = streamWithDialer(AllowList.parse("127.0.0.1:1"));

            stream.writeInbound(new StreamHeader(StreamType.TCP, "127.0.0.1:2"));

            assertThat(stream.isOpen()).isFalse();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": refused target 127.0.0.1:2: not in the --allow list");
            stream.finishAndReleaseAll();
        }
    }

    @Test
    void aTargetWhoseNameDoesNotResolveIsLoggedAsAnUnknownHost() {
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            EmbeddedChannel stream = streamWithDialer();

            stream.writeInbound(new StreamHeader(StreamType.TCP, "app.nxdomain.test:80"));
            stream.runPendingTasks();

            assertThat(stream.isOpen()).isFalse();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(": target app.nxdomain.test:80 unreachable: unknown host");
            stream.finishAndReleaseAll();
        }
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
