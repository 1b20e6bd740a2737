package io.picotunnel.server.net;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The wait on a visitor taking in an answer, over a real loopback socket whose reader stalls or reads. */
class SendWatchTest {

    /** Far more than the socket buffers on the way hold while the visitor does not read. */
    private static final int ANSWER = 32 * 1024 * 1024;
    private static final int PIECE = 64 * 1024;
    private static final Duration SEND_TIMEOUT = Duration.ofMillis(1500);

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "send-watch-test");
    private final ScheduledExecutorService reader = Executors.newSingleThreadScheduledExecutor();
    private LoopbackVisitor visitor;
    private Channel answering;
    /** When the watch gave up on the visitor, in {@link System#nanoTime} terms; 0 while it has not. */
    private final AtomicLong gaveUpAt = new AtomicLong();
    private final AtomicInteger looksArmed = new AtomicInteger();
    private SendWatch watch;
    private ChannelFuture lastWrite;

    @AfterEach
    void stop() throws Exception {
        reader.shutdownNow();
        if (visitor != null) {
            visitor.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void aVisitorThatTakesNothingForTheSendTimeoutIsGivenUpOn() throws Exception {
        long start = answerAndWatch(PIECE);

        await().atMost(Duration.ofSeconds(10)).until(() -> gaveUpAt.get() != 0);
        // The first look counts as progress: the wait runs from it, a CHECK after the watch began.
        assertThat(Duration.ofNanos(gaveUpAt.get() - start))
                .isGreaterThanOrEqualTo(SEND_TIMEOUT.plus(SendWatch.CHECK))
                .isLessThan(SEND_TIMEOUT.plus(SendWatch.CHECK).plusSeconds(3));
    }

    @Test
    void aVisitorThatKeepsTakingIsNotGivenUpOnAndOneThatStopsIs() throws Exception {
        answerAndWatch(PIECE);
        InputStream in = visitor.in();
        byte[] buffer = new byte[PIECE];
        AtomicLong read = new AtomicLong();
        // A few pieces every 200 ms: the answer takes far longer than the test to go through.
        var reading = reader.scheduleAtFixedRate(() -> {
            try {
                for (int i = 0; i < 4; i++) {
                    read.addAndGet(in.readNBytes(buffer, 0, buffer.length));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 0, 200, TimeUnit.MILLISECONDS);

        assertNotGivenUpWithin(SEND_TIMEOUT.multipliedBy(3));
        assertThat(lastWrite.isDone()).as("the answer still being written").isFalse();

        reading.cancel(false);
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> gaveUpAt.get() != 0);
        // The last look that saw the visitor take something came at most a CHECK before it stopped.
        assertThat(Duration.ofNanos(gaveUpAt.get() - stopped)).isGreaterThanOrEqualTo(SEND_TIMEOUT.minus(SendWatch.CHECK));
        assertThat(read.get()).isPositive();
    }

    @Test
    void aVisitorThatTakesPartOfOneLongWriteIsNotGivenUpOn() throws Exception {
        answerAndWatch(ANSWER);
        InputStream in = visitor.in();
        byte[] buffer = new byte[PIECE];
        // 64 KiB every 200 ms: the one write of the answer stays pending for far longer than the test.
        reader.scheduleAtFixedRate(() -> {
            try {
                in.readNBytes(buffer, 0, buffer.length);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 0, 200, TimeUnit.MILLISECONDS);

        assertNotGivenUpWithin(SEND_TIMEOUT.multipliedBy(3));
        assertThat(lastWrite.isDone()).as("the answer still being written").isFalse();
    }

    @Test
    void aWriteThatCompletesStopsTheWatch() throws Exception {
        answerAndWatch(PIECE);
        InputStream in = visitor.in();
        byte[] buffer = new byte[PIECE];
        long read = 0;
        while (read < ANSWER) {
            int n = in.read(buffer);
            assertThat(n).as("bytes of the answer").isPositive();
            read += n;
        }
        await().atMost(Duration.ofSeconds(10)).until(lastWrite::isDone);
        assertThat(lastWrite.isSuccess()).isTrue();

        assertLooksStopWithoutGivingUp();
        assertThat(answering.isActive()).isTrue();
    }

    @Test
    void aClosedChannelStopsTheWatch() throws Exception {
        answerAndWatch(PIECE);
        answering.close().sync();

        assertLooksStopWithoutGivingUp();
    }

    @Test
    void aClosedChannelStopsTheWatchOfAWriteTheCloseLeftPending() throws Exception {
        visitor = LoopbackVisitor.connect(group, channel -> { });
        answering = visitor.answering();
        // A write a handler still holds, short of the socket: the close does not end it, so only the channel being
        // closed can stop the looks.
        ChannelPromise held = answering.newPromise();
        watchOnLoop(held);
        answering.close().sync();

        assertLooksStopWithoutGivingUp();
        assertThat(held.isDone()).as("the write still pending").isFalse();
    }

    private void assertNotGivenUpWithin(Duration duration) {
        await().during(duration).atMost(duration.plusSeconds(5))
                .failFast("the watch gave up on a visitor that was taking the answer", () -> gaveUpAt.get() != 0)
                .until(() -> true);
    }

    /**
     * The write is over: the look already armed finds nothing pending and arms no other, and for well past the send
     * timeout the watch never gives up.
     */
    private void assertLooksStopWithoutGivingUp() {
        int armed = looksArmed.get();
        await("no look armed after the one already armed, and no giving up")
                .during(SEND_TIMEOUT.plus(SendWatch.CHECK).multipliedBy(2)).atMost(Duration.ofSeconds(10))
                .until(() -> gaveUpAt.get() == 0 && looksArmed.get() == armed);
    }

    /**
     * Accepts a visitor that reads nothing yet, writes it the answer in writes of {@code piece} bytes and watches the
     * last one.
     *
     * @return when the watch began, in {@link System#nanoTime} terms
     */
    private long answerAndWatch(int piece) throws Exception {
        visitor = LoopbackVisitor.connect(group, channel -> { });
        answering = visitor.answering();
        answering.eventLoop().submit(() -> {
            for (int written = 0; written < ANSWER; written += piece) {
                lastWrite = answering.write(Unpooled.wrappedBuffer(new byte[piece]));
            }
            answering.flush();
        }).get(10, TimeUnit.SECONDS);
        return watchOnLoop(lastWrite);
    }

    /**
     * Watches {@code write} on the answering channel's event loop, looking with a timer of that loop.
     *
     * @return when the watch began, in {@link System#nanoTime} terms
     */
    private long watchOnLoop(ChannelFuture write) throws Exception {
        return answering.eventLoop().submit(() -> {
            watch = new SendWatch(answering, SEND_TIMEOUT);
            watch.watch(write);
            long start = System.nanoTime();
            watch.poll((delay, look) -> {
                looksArmed.incrementAndGet();
                answering.eventLoop().schedule(look, delay, TimeUnit.NANOSECONDS);
            }, () -> gaveUpAt.set(System.nanoTime()));
            return start;
        }).get(10, TimeUnit.SECONDS);
    }
}
