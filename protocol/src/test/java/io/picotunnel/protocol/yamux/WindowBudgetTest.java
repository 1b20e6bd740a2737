package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Growth given back to a session's {@link WindowBudget} beyond what was taken (a window released twice) cannot go
 * unseen: it is said once at WARN with the amounts, and the budget goes on counting from 0. A fixed window larger
 * than the spec's, which takes nothing from the budget, gives nothing back.
 */
class WindowBudgetTest {

    private static final int INITIAL = YamuxConfig.INITIAL_STREAM_WINDOW;

    private RawPeer peer;

    @AfterEach
    void tearDown() {
        if (peer != null) {
            peer.close();
        }
    }

    @Test
    void growthGivenBackTwiceIsSaidOnceWithTheAmountsAndTheBudgetGoesOn() {
        WindowBudget budget = new WindowBudget(1000);
        try (LogCapture log = new LogCapture(WindowBudget.class, Level.INFO)) {
            assertThat(budget.take(300)).isEqualTo(300);
            assertThat(budget.take(100)).isEqualTo(100);
            budget.give(300);
            assertThat(log.messages(Level.WARN)).isEmpty();

            budget.give(300);
            budget.give(50);

            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("given back 300 bytes while only 100 were taken");
            assertThat(budget.granted()).isZero();
            assertThat(budget.take(2000)).as("the whole budget, from 0").isEqualTo(1000);
        }
    }

    @Test
    void aFixedWindowLargerThanTheSpecsGivesNothingBackWhenItsStreamEnds() {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO).withWindowAutoTuning(false)
                .withMaxStreamWindow(4 * INITIAL);
        try (LogCapture log = new LogCapture(WindowBudget.class, Level.INFO)) {
            peer = new RawPeer(YamuxRole.SERVER, config, new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    // Nothing to add: the stream is only opened and reset.
                }
            });
            peer.send(YamuxFrame.windowUpdate(FLAG_SYN, 1, 0));
            YamuxFrame ack = peer.writtenOne();
            assertThat(ack.length()).as("the fixed window, sent with our ACK").isEqualTo(3L * INITIAL);
            ack.release();

            peer.send(YamuxFrame.windowUpdate(FLAG_RST, 1, 0));

            assertThat(peer.session.activeStreams()).isZero();
            assertThat(peer.session.windowBudget().granted()).isZero();
            assertThat(log.messages(Level.WARN)).isEmpty();
        }
    }
}
