package io.picotunnel.protocol.interop;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The session's window budget against the real hashicorp/yamux sender: hashicorp writes in bulk on several streams
 * into our readers, which take everything, so their receive windows grow (auto-tuning) and take from the budget;
 * however the streams then end, FIN both ways, reset by the peer (an RST the Go peer slips between hashicorp's
 * frames, since that hashicorp/yamux cannot reset a stream) or the peer SIGKILLed in the middle of the transfer,
 * the budget in use comes back to exactly 0: a leak at each end would leave a long-lived tunnel without growth.
 * With FIN, every byte arrived (SHA-256 equal to what hashicorp sent).
 */
class HashicorpWindowBudgetInteropTest {

    private static final int STREAMS = 4;
    /** Per stream with FIN: enough round trips of credit for windows to grow several times. */
    private static final long SIZE = 64L * 1024 * 1024;
    /** Per stream reset or cut off by the kill: more than the test lets it send. */
    private static final long ENDLESS = 1024L * 1024 * 1024;
    private static final long SIZE_AFTER_RESET = 4L * 1024 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;
    private Channel channel;
    private GoPeer peer;
    private YamuxSession session;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void grownStreamsEndedWithFinBothWaysGiveTheirGrowthBackWithEveryByteDelivered(YamuxRole ours) throws Exception {
        connect(ours);
        for (int i = 1; i <= STREAMS; i++) {
            peer.send("OPEN fin" + i + " " + SIZE + " - send");
        }
        List<String> sent = new ArrayList<>();
        for (int i = 1; i <= STREAMS; i++) {
            GoPeer.StreamResult result = peer.awaitResult("fin" + i);
            assertThat(result.end()).as("hashicorp's writer of fin%d", i).isEqualTo("eof");
            sent.add(result.shaSent());
        }
        await("every byte and EOF").atMost(WAIT)
                .until(() -> readers.size() == STREAMS && readers.stream().allMatch(r -> r.eof));
        // Half-closed by hashicorp only: the streams are open and keep their grown windows.
        assertThat(session.windowBudgetInUse()).as("the windows grew").isPositive();
        assertThat(readers).allSatisfy(r -> assertThat(r.bytesRead).isEqualTo(SIZE));
        assertThat(onLoop(() -> readers.stream().map(RecordingStream::sha256).toList()))
                .as("what hashicorp sent").containsExactlyInAnyOrderElementsOf(sent);

        for (RecordingStream r : readers) {
            ChannelFuture fin = r.stream.shutdownOutput();
            assertThat(fin.await(WAIT.toMillis())).as("our FIN written").isTrue();
            assertThat(fin.isSuccess()).isTrue();
        }

        await().atMost(WAIT).until(() -> readers.stream().allMatch(r -> r.inactive));
        assertThat(readers).noneMatch(r -> r.resetWhenInactive);
        assertThat(onLoop(session::activeStreams)).isZero();
        assertThat(session.windowBudgetInUse()).as("window budget in use").isZero();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void grownStreamsResetByThePeerGiveTheirGrowthBack(YamuxRole ours) throws Exception {
        connect(ours);
        startEndlessTransfersAndAwaitGrowth("rst");

        for (int i = 1; i <= STREAMS; i++) {
            peer.send("RESET rst" + i);
            peer.awaitLine("RESET_SENT rst" + i);
        }

        await("every stream reset").atMost(WAIT).until(() -> readers.stream().allMatch(r -> r.inactive));
        assertThat(readers).allMatch(r -> r.resetWhenInactive && !r.eof);
        assertThat(onLoop(session::activeStreams)).isZero();
        assertThat(session.windowBudgetInUse()).as("window budget in use").isZero();

        // hashicorp's writers of the reset streams go on until their windows run out; that late Data is dropped,
        // and the session still carries a new stream whole after it.
        peer.send("OPEN after " + SIZE_AFTER_RESET + " - send");
        GoPeer.StreamResult after = peer.awaitResult("after");
        assertThat(after.end()).as("hashicorp's writer of the stream after the resets").isEqualTo("eof");
        await("the stream after the resets, whole").atMost(WAIT).until(() -> readers.size() == STREAMS + 1
                && readers.getLast().eof);
        RecordingStream afterReader = readers.getLast();
        assertThat(afterReader.bytesRead).isEqualTo(SIZE_AFTER_RESET);
        assertThat(onLoop(afterReader::sha256)).isEqualTo(after.shaSent());
        assertThat(channel.isActive()).as("the session goes on").isTrue();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void grownStreamsOfAPeerKilledInTheMiddleOfTheTransferGiveTheirGrowthBack(YamuxRole ours) throws Exception {
        connect(ours);
        startEndlessTransfersAndAwaitGrowth("cut");

        peer.kill();

        await("the session's connection closed").atMost(WAIT).until(connection::sessionEnded);
        await("every stream reset").atMost(WAIT).until(() -> readers.stream().allMatch(r -> r.inactive));
        assertThat(readers).allMatch(r -> r.resetWhenInactive && !r.eof && r.bytesRead < ENDLESS);
        assertThat(session.windowBudgetInUse()).as("window budget in use").isZero();
    }

    /** hashicorp sends more than the test waits for on {@link #STREAMS} streams; returns once windows grew. */
    private void startEndlessTransfersAndAwaitGrowth(String prefix) {
        for (int i = 1; i <= STREAMS; i++) {
            peer.send("OPEN " + prefix + i + " " + ENDLESS + " - send");
        }
        await("the windows grew").atMost(WAIT).until(() -> readers.size() == STREAMS
                && readers.stream().allMatch(r -> r.bytesRead > 8L * YamuxConfig.INITIAL_STREAM_WINDOW)
                && session.windowBudgetInUse() > 0);
    }

    private void connect(YamuxRole ours) {
        connection = connections.open(ours, "window-budget", YamuxConfig.defaults(),
                RecordingStream.eachInto(readers, () -> new RecordingStream(true)));
        channel = connection.channel();
        session = connection.session();
        peer = connection.peer();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return connection.onLoop(task);
    }
}
