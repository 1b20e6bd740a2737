package io.picotunnel.protocol.interop;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Half-close against hashicorp/yamux with one byte, exactly one initial window and several MiB: no byte is lost in
 * either direction when one side sends FIN while the other still sends. (Debian's hashicorp/yamux returns EOF from
 * Read once its own side is closed and its buffer is momentarily empty: where hashicorp reads after its own FIN the
 * Go peer reads again after such an EOF, see its readAfterOwnFin.)
 */
class HashicorpHalfCloseInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<StreamExchange> ours = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    static Stream<Arguments> rolesAndSizes() {
        return Stream.of(YamuxRole.values()).flatMap(role -> Stream.of(1, YamuxConfig.INITIAL_STREAM_WINDOW,
                6 * 1024 * 1024).map(size -> Arguments.of(role, size)));
    }

    /** The peer's stream: both send at once; we send FIN as soon as our bytes are written, while it still sends. */
    @ParameterizedTest
    @MethodSource("rolesAndSizes")
    void ourFinWhileHashicorpStillSendsLosesNothingEitherWay(YamuxRole role, int size) throws Exception {
        connect(role, size);

        peer().send("OPEN s " + size + " - echo");

        GoPeer.StreamResult result = peer().awaitResult("s");
        assertThat(result.end()).isEqualTo("eof");
        assertThat(ours).hasSize(1);
        StreamExchange.Received received = ours.getFirst().received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.reset()).isFalse();
        assertThat(received.bytes()).isEqualTo(size);
        assertThat(received.sha256()).isEqualTo(result.shaSent());
        assertThat(result.received()).isEqualTo(size);
        assertThat(result.shaReceived()).isEqualTo(ours.getFirst().sent().getNow(null));
    }

    /** Our stream: hashicorp reads to our FIN, then answers with its digest while our side is half-closed. */
    @ParameterizedTest
    @MethodSource("rolesAndSizes")
    void hashicorpAnswersAfterOurFinWithEveryByteWeSent(YamuxRole role, int size) throws Exception {
        connect(role, 0);
        StreamExchange exchange = new StreamExchange(new byte[] {'d'}, size);

        connection.session().openStream(exchange).get(10, TimeUnit.SECONDS);

        StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.reset()).isFalse();
        assertThat(received.text()).isEqualTo(size + " " + exchange.sent().getNow(null) + "\n");
    }

    /**
     * hashicorp sends its bytes and FIN while our reader reads nothing (up to its window, which one window's payload
     * fills exactly): once it reads, every byte arrives, then EOF.
     */
    @ParameterizedTest
    @MethodSource("rolesAndSizes")
    void hashicorpsFinWhileOurReaderHoldsItsWindowLosesNothing(YamuxRole role, int size) throws Exception {
        List<RecordingStream> readers = new CopyOnWriteArrayList<>();
        connection = connections.open(role, "half-close",
                RecordingStream.eachInto(readers, () -> new RecordingStream(false)));

        peer().send("OPEN s " + size + " - send");
        await("the peer's stream open").atMost(WAIT).until(() -> readers.size() == 1);
        RecordingStream reader = readers.getFirst();
        GoPeer.StreamResult result = null;
        if (size <= YamuxConfig.INITIAL_STREAM_WINDOW) {
            result = peer().awaitResult("s");
            assertThat(result.end()).as("all written and FIN sent before we read").isEqualTo("eof");
            assertThat(reader.bytesRead).isZero();
        }
        reader.stream.config().setAutoRead(true);
        reader.stream.read();

        if (result == null) {
            result = peer().awaitResult("s");
        }
        await("our reader at EOF").atMost(WAIT).until(() -> reader.eof);
        assertThat(result.end()).isEqualTo("eof");
        assertThat(reader.bytesRead).isEqualTo(size);
        assertThat(connection.onLoop(reader::sha256)).isEqualTo(result.shaSent());
    }

    /**
     * The peer's stream: hashicorp sends its bytes and FIN, and only then do we send ours and FIN: every byte
     * reaches hashicorp (whose Read after its own FIN the Go peer has to retry, see its readAfterOwnFin).
     */
    @ParameterizedTest
    @MethodSource("rolesAndSizes")
    void ourBytesSentAfterHashicorpsFinAllReachIt(YamuxRole role, int size) throws Exception {
        connection = connections.open(role, "half-close", new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                StreamExchange exchange = StreamExchange.afterPeerFin(size);
                ours.add(exchange);
                ch.pipeline().addLast(exchange);
            }
        });

        peer().send("OPEN s " + size + " - finfirst");

        GoPeer.StreamResult result = peer().awaitResult("s");
        assertThat(ours).hasSize(1);
        StreamExchange.Received received = ours.getFirst().received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.bytes()).isEqualTo(size);
        assertThat(received.sha256()).isEqualTo(result.shaSent());
        assertThat(result.end()).as(result.toString()).isEqualTo("eof");
        assertThat(result.received()).isEqualTo(size);
        assertThat(result.shaReceived()).isEqualTo(ours.getFirst().sent().getNow(null));
    }

    private void connect(YamuxRole role, int inboundSize) {
        connection = connections.open(role, "half-close", new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                StreamExchange exchange = new StreamExchange(new byte[0], inboundSize);
                ours.add(exchange);
                ch.pipeline().addLast(exchange);
            }
        });
    }

    private GoPeer peer() {
        return connection.peer();
    }
}
