package io.picotunnel.server.e2e;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.local.LocalChannel;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.YamuxFrame;
import io.picotunnel.protocol.yamux.YamuxSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link RequestsSentUp} on a connection of its own (no peer: what passes the watch is dropped after it), the frames
 * written from the handler it watches in front of.
 */
class RequestsSentUpTest {

    private static final String SESSION = "session";
    private static final String REQUEST = "POST / HTTP/1.1\r\nHost: watch.test\r\nContent-Length: 2\r\n\r\nhi";
    /** An initial line whose version is none: the decoder makes an invalid message of it. */
    private static final String NOT_HTTP = "POST / NOT-HTTP\r\n\r\n";

    private final DefaultEventLoop loop = new DefaultEventLoop();
    private Channel connection;

    @BeforeEach
    void start() throws Exception {
        connection = new LocalChannel();
        loop.register(connection).get(10, TimeUnit.SECONDS);
        connection.pipeline().addLast(SESSION, new ChannelOutboundHandlerAdapter());
    }

    @AfterEach
    void stop() {
        connection.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Test
    void aRequestOnAStreamOpenedWhileWatchedIsCountedOnceWhole() throws Exception {
        try (RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION)) {
            ByteBuf opening = Unpooled.buffer();
            new StreamHeader(StreamType.HTTP, "127.0.0.1:80").encode(opening);
            opening.writeCharSequence(REQUEST.substring(0, REQUEST.length() - 1), StandardCharsets.US_ASCII);
            sendUp(YamuxFrame.data(YamuxSpec.FLAG_SYN, 2, opening));
            assertThat(watch.whole()).isZero();

            sendUp(YamuxFrame.data(0, 2, ascii("i")));
            assertThat(watch.whole()).isEqualTo(1);
        }
    }

    /** Before: its bytes were taken for a stream header of 0x0040 bytes still to come: no count, and no word why. */
    @Test
    void dataOnAStreamOpenBeforeTheWatchBeganFailsTheCountNamingTheStream() throws Exception {
        try (RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION)) {
            sendUp(YamuxFrame.data(0, 4, Unpooled.wrappedBuffer(new byte[] {0x00, 0x40, 0x01, 0x02})));

            assertThatThrownBy(watch::whole).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("stream 4 was open before the watch began");
        }
    }

    /** Before: the request that could not be parsed was not counted, and nothing said why. */
    @Test
    void aRequestThatCouldNotBeParsedFailsTheCountNamingItsStream() throws Exception {
        try (RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION)) {
            sendUp(YamuxFrame.data(YamuxSpec.FLAG_SYN, 2, opening(NOT_HTTP)));

            assertThatThrownBy(watch::whole).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("stream 2 carried what could not be parsed as a request");
        }
    }

    /** Before: close() passed, and the request that could not be parsed after the last count went unsaid. */
    @Test
    void aRequestThatCouldNotBeParsedAfterTheLastCountFailsTheClose() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        sendUp(YamuxFrame.data(YamuxSpec.FLAG_SYN, 2, opening(REQUEST)));
        assertThat(watch.whole()).isEqualTo(1);
        sendUp(YamuxFrame.data(YamuxSpec.FLAG_SYN, 4, opening(NOT_HTTP)));

        assertThatThrownBy(watch::close).isInstanceOf(AssertionError.class)
                .hasMessageContaining("after the last count could not be counted: stream 4 carried what could not be");
        assertThat(connection.pipeline().get(RequestsSentUp.class)).as("the watch, once closed").isNull();
    }

    /** Before: close() passed, the bytes of a stream open before the watch after the last count unsaid. */
    @Test
    void dataOnAStreamOpenBeforeTheWatchBeganAfterTheLastCountFailsTheClose() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        assertThat(watch.whole()).isZero();
        sendUp(YamuxFrame.data(0, 4, ascii("hi")));

        assertThatThrownBy(watch::close).isInstanceOf(AssertionError.class)
                .hasMessageContaining("stream 4 was open before the watch began");
    }

    /** Before: close found nothing to remove and said nothing. */
    @Test
    void closeFailsWhenTheWatchWasTakenOutOfTheStillRegisteredConnectionBySomethingElse() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        loop.submit(() -> connection.pipeline().remove(watch)).get(10, TimeUnit.SECONDS);

        assertThatThrownBy(watch::close).hasMessageContaining("the watch was no longer in its pipeline");
    }

    /**
     * Before: close() threw the loop's RejectedExecutionException, which says nothing of the watch, and what the watch
     * kept stayed unreleased.
     */
    @Test
    void closeOnAConnectionWhoseLoopWasShutDownSaysSoAndReleasesWhatTheWatchKept() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        ByteBuf headerBegun = sendUpAStreamHeaderBegun(2);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);

        assertThatThrownBy(watch::close).hasMessageContaining(
                "its event loop was shut down before the watch was closed; what the watch kept is released");
        assertThat(headerBegun.refCnt()).as("the stream header's first bytes, once the watch is closed").isZero();
    }

    /**
     * Before: the streams' decoders, ending, said the first was cut inside its header, and close() failed with that as
     * the reason the watch could not be removed, the second stream's bytes left unreleased.
     */
    @Test
    void closeWhileStreamsAreCutInsideTheirHeadersTakesTheWatchOutAndReleasesWhatEachKept() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        ByteBuf firstBegun = sendUpAStreamHeaderBegun(2);
        ByteBuf secondBegun = sendUpAStreamHeaderBegun(4);

        watch.close();

        assertThat(connection.pipeline().get(RequestsSentUp.class)).isNull();
        assertThat(firstBegun.refCnt()).as("stream 2's header's first bytes, once the watch is closed").isZero();
        assertThat(secondBegun.refCnt()).as("stream 4's header's first bytes, once the watch is closed").isZero();
    }

    /** Opens {@code stream} with the first 3 bytes of a stream header, which the watch keeps; those bytes. */
    private ByteBuf sendUpAStreamHeaderBegun(int stream) throws Exception {
        ByteBuf headerBegun = Unpooled.buffer();
        new StreamHeader(StreamType.HTTP, "127.0.0.1:80").encode(headerBegun);
        headerBegun.writerIndex(headerBegun.readerIndex() + 3);
        sendUp(YamuxFrame.data(YamuxSpec.FLAG_SYN, stream, headerBegun));
        assertThat(headerBegun.refCnt()).as("the stream header's first bytes, kept by the watch").isEqualTo(1);
        return headerBegun;
    }

    @Test
    void closeTakesTheWatchOutOfThePipeline() throws Exception {
        RequestsSentUp watch = RequestsSentUp.watch(connection, SESSION);
        watch.close();

        assertThat(connection.pipeline().get(RequestsSentUp.class)).isNull();
    }

    private void sendUp(YamuxFrame frame) throws Exception {
        loop.submit(() -> connection.pipeline().context(SESSION).writeAndFlush(frame)).get(10, TimeUnit.SECONDS);
    }

    /** A stream header, then {@code text}. */
    private static ByteBuf opening(String text) {
        ByteBuf opening = Unpooled.buffer();
        new StreamHeader(StreamType.HTTP, "127.0.0.1:80").encode(opening);
        opening.writeCharSequence(text, StandardCharsets.US_ASCII);
        return opening;
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }
}
