package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What lets the proxy edit a target's response head in place on the visitor's loop (Exchange.publicResponse, and the
 * 1xx and 101 heads) while the stream's decoder, on the stream's loop, goes on with the body: once the decoder has
 * handed a head on, it reads nothing of it again, what it needs of it (how the body is framed, a switch of protocols)
 * being kept in fields (Netty 4.2's HttpObjectDecoder; 4.1's read Transfer-Encoding from the head when the stream
 * closed, and Upgrade after the head's end). Each test empties the head as soon as it is handed on, further than any
 * edit of the proxy goes, or puts in the chunked Transfer-Encoding the proxy adds for an HTTP/1.1 visitor, and the
 * decoder must frame the body as the head first said.
 */
class UpstreamCodecHeadHandedOnTest {

    private final EmbeddedChannel stream = new EmbeddedChannel(new UpstreamCodec());

    @AfterEach
    void close() {
        stream.finishAndReleaseAll();
    }

    @Test
    void aChunkedBodyTheTargetCutByClosingIsNotEndedOnceItsHeadLostTransferEncoding() {
        requested(HttpMethod.GET);
        target("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        headEmptied(200);
        assertThat(content()).as("the chunk").isEqualTo("hello");
        stream.finish(); // the target closes within the body
        Object end = stream.readInbound();
        assertThat(end).as("an end after the cut, which would pass it for whole").isNull();
    }

    @Test
    void aBodyDelimitedByTheCloseIsEndedThoughItsHeadNowSaysChunked() {
        requested(HttpMethod.GET);
        target("HTTP/1.1 200 OK\r\n\r\nsome");
        HttpResponse head = headEmptied(200);
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        assertThat(content()).isEqualTo("some");
        stream.finish(); // the target's close ends the body
        Object end = stream.readInbound();
        assertThat(end).as("the body's end at the close").isInstanceOf(LastHttpContent.class);
        ReferenceCountUtil.release(end);
    }

    @Test
    void aBodyOfContentLengthEndsAtItsLengthThoughItsHeadLostContentLengthAndTheNextResponseIsRead() {
        requested(HttpMethod.GET);
        requested(HttpMethod.GET);
        target("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
        headEmptied(200);
        assertThat(content()).isEqualTo("01234");
        target("56789HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(lastContent()).as("the rest, to the announced length").isEqualTo("56789");
        assertThat(headEmptied(200).decoderResult().isSuccess()).as("the next response").isTrue();
        assertThat(lastContent()).isEqualTo("ok");
    }

    @Test
    void aHeadAnswerAndA204And304HaveNoBodyThoughTheyAnnounceOne() {
        requested(HttpMethod.HEAD);
        requested(HttpMethod.GET);
        requested(HttpMethod.GET);
        target("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        headEmptied(200);
        assertThat(lastContent()).as("no body to HEAD").isEmpty();
        target("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
        headEmptied(204);
        assertThat(lastContent()).isEmpty();
        target("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
        headEmptied(304);
        assertThat(lastContent()).isEmpty();
        assertThat(stream.pipeline().get(UpstreamCodec.class).holdsBytes()).as("bytes held past them").isFalse();
    }

    @Test
    void anInterimAnswerEmptiedLeavesTheFinalResponseAfterIt() {
        requested(HttpMethod.GET);
        target("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
        headEmptied(103);
        assertThat(lastContent()).isEmpty();
        target("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(headEmptied(200).decoderResult().isSuccess()).isTrue();
        assertThat(lastContent()).isEqualTo("ok");
    }

    @Test
    void aSwitchOfProtocolsStaysSwitchedThoughItsHeadLostUpgrade() {
        requested(HttpMethod.GET);
        target("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        headEmptied(101);
        assertThat(lastContent()).isEmpty();
        target("HTTP/1.1 200 not HTTP any more");
        ByteBuf raw = stream.readInbound();
        try {
            assertThat(raw.toString(StandardCharsets.US_ASCII)).as("the bytes after the switch, as they came")
                    .isEqualTo("HTTP/1.1 200 not HTTP any more");
        } finally {
            raw.release();
        }
    }

    private void requested(HttpMethod method) {
        stream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, "/"));
        stream.releaseOutbound();
    }

    private void target(String bytes) {
        stream.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
    }

    /** The next message, a head of {@code status}, with its headers removed as soon as it is handed on. */
    private HttpResponse headEmptied(int status) {
        Object msg = stream.readInbound();
        assertThat(msg).isInstanceOf(HttpResponse.class);
        HttpResponse head = (HttpResponse) msg;
        assertThat(head.status().code()).isEqualTo(status);
        head.headers().clear();
        return head;
    }

    /** The next message's bytes, a piece of a body that goes on. */
    private String content() {
        HttpContent content = stream.readInbound();
        try {
            assertThat(content).isNotInstanceOf(LastHttpContent.class);
            return content.content().toString(StandardCharsets.US_ASCII);
        } finally {
            content.release();
        }
    }

    /** The next message's bytes, the end of a body. */
    private String lastContent() {
        Object msg = stream.readInbound();
        assertThat(msg).isInstanceOf(LastHttpContent.class);
        LastHttpContent last = (LastHttpContent) msg;
        try {
            return last.content().toString(StandardCharsets.US_ASCII);
        } finally {
            last.release();
        }
    }
}
