package io.picotunnel.protocol.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux sends GoAway while a stream of its own and one of ours are both in the middle of their transfer:
 * both finish byte-exact in both directions, and a stream we open after the GoAway fails at once, saying why. Our
 * streams still in its accept backlog, and streams it opens itself after its GoAway, are served as hashicorp allows.
 */
class HashicorpGoAwayWithOpenStreamsInteropTest {

    private static final int HALF = 1024 * 1024;
    private static final long PEER_SENDS = 4L * 1024 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsOpenBothWaysFinishAfterHashicorpsGoAwayAndNewOpensFailSayingSo(YamuxRole ours) throws Exception {
        // Our reader of the peer's stream takes nothing until after the GoAway: the peer's sending waits mid-way.
        connection = connections.open(ours, "goaway", RecordingStream.eachInto(readers,
                () -> new RecordingStream(false)));
        YamuxSession session = connection.session();
        GoPeer peer = connection.peer();
        peer.send("OPEN theirs " + PEER_SENDS + " - send");
        await("the peer's stream open").atMost(WAIT).until(() -> readers.size() == 1);
        // Ours goes to the digest service, which answers only after our FIN: half now, half after the GoAway.
        TextCollector answer = new TextCollector();
        YamuxStreamChannel mine = session.openStream(answer).get(10, TimeUnit.SECONDS);
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        mine.write(Unpooled.wrappedBuffer(new byte[] {'d'}));
        mine.writeAndFlush(Unpooled.wrappedBuffer(randomBytes(sent))).get(10, TimeUnit.SECONDS);

        peer.send("GOAWAY");
        peer.awaitLine("GOAWAY_SENT");
        await("our session hears the GoAway").atMost(WAIT).until(session::isGoingAway);

        Future<YamuxStreamChannel> late = session.openStream(new ChannelInboundHandlerAdapter());
        assertThat(late.await(10, TimeUnit.SECONDS)).as("the late open answered").isTrue();
        assertThat(late.cause()).isInstanceOf(StreamOpenException.class)
                .hasMessage("the yamux session is going away (GoAway received)");
        mine.writeAndFlush(Unpooled.wrappedBuffer(randomBytes(sent))).get(10, TimeUnit.SECONDS);
        mine.shutdownOutput();
        RecordingStream theirs = readers.getFirst();
        theirs.stream.config().setAutoRead(true);
        theirs.stream.read();

        assertThat(answer.text.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isEqualTo(2 * HALF + " " + HexFormat.of().formatHex(sent.digest()) + "\n");
        GoPeer.StreamResult result = peer.awaitResult("theirs");
        assertThat(result.end()).isEqualTo("eof");
        await("the peer's stream read to its end").atMost(WAIT).until(() -> theirs.eof);
        assertThat(theirs.bytesRead).isEqualTo(PEER_SENDS);
        assertThat(connection.onLoop(theirs::sha256)).isEqualTo(result.shaSent());
    }

    /**
     * Our streams wait in hashicorp's accept backlog, not acknowledged, when it sends GoAway: hashicorp still accepts
     * them afterwards, so they must not end as refused; each is echoed byte-exact.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void ourStreamsInHashicorpsBacklogAtItsGoAwayAreServedWhenItAcceptsThem(YamuxRole ours) throws Exception {
        connection = connections.open(ours, "goaway", new EchoStreamHandler(), "-no-accept");
        YamuxSession session = connection.session();
        GoPeer peer = connection.peer();
        List<StreamExchange> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 512 * 1024);
            waiting.add(exchange);
            session.openStream(exchange).get(10, TimeUnit.SECONDS);
        }
        // A SYN hashicorp reads after its GoAway it resets: all three must be in its backlog first.
        connection.awaitPeerStreams(3);

        peer.send("GOAWAY");
        peer.awaitLine("GOAWAY_SENT");
        await("our session hears the GoAway").atMost(WAIT).until(session::isGoingAway);
        peer.send("ACCEPT");

        for (StreamExchange exchange : waiting) {
            StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(received.reset()).isFalse();
            assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        }
    }

    /** hashicorp may still open streams after its own GoAway (it refuses only incoming ones): we serve them. */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void aStreamHashicorpOpensAfterItsOwnGoAwayIsServed(YamuxRole ours) {
        connection = connections.open(ours, "goaway", new EchoStreamHandler());
        GoPeer peer = connection.peer();

        peer.send("GOAWAY");
        peer.awaitLine("GOAWAY_SENT");
        await("our session hears the GoAway").atMost(WAIT).until(connection.session()::isGoingAway);
        peer.send("OPEN after " + (256 * 1024) + " - echo");

        GoPeer.StreamResult result = peer.awaitResult("after");
        assertThat(result.echoedExactly()).as(result.toString()).isTrue();
    }

    private static byte[] randomBytes(MessageDigest digest) {
        byte[] bytes = new byte[HALF];
        new Random().nextBytes(bytes);
        digest.update(bytes);
        return bytes;
    }

    /** Collects what a stream reads, as text, until the peer's FIN. */
    private static final class TextCollector extends ChannelInboundHandlerAdapter {
        final CompletableFuture<String> text = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf data = (ByteBuf) msg;
            try {
                data.readBytes(bytes, data.readableBytes());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                data.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                text.complete(bytes.toString(StandardCharsets.US_ASCII));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            text.completeExceptionally(new AssertionError("the stream ended without the peer's FIN: " + bytes));
            ctx.fireChannelInactive();
        }
    }
}
