package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.netty.channel.embedded.EmbeddedChannel;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A connection that sends no ClientHello is closed after the hello timeout. Simulated time. */
class ClientHelloTimeoutTest {

    @Test
    void aConnectionWithoutClientHelloIsClosedAndLoggedWithTheTimeoutInSeconds() {
        try (LogCapture log = new LogCapture(HttpsFrontDoor.class, Level.DEBUG)) {
            EmbeddedChannel channel = new EmbeddedChannel();
            channel.freezeTime();
            channel.pipeline().addLast(new HttpsFrontDoor(null, null, null, Duration.ofMillis(1500)));

            channel.advanceTimeBy(1499, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            assertThat(channel.isOpen()).isTrue();
            channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();

            assertThat(channel.isOpen()).isFalse();
            assertThat(log.messages(Level.DEBUG)).singleElement().asString().endsWith(" within 1.5 s, closing");
            channel.finishAndReleaseAll();
        }
    }
}
