package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
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
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The response head the stream's decoder hands on: the exchange edits it in place for the visitor
 * (Exchange.publicResponse, and the 1xx and 101 heads), also while the decoder, on the stream's loop, goes on with the
 * body, and makes no copy. And what lets it: the decoder (Netty 4.2's HttpObjectDecoder in {@link UpstreamCodec})
 * reads nothing of a head again once it handed it on, what it needs of it (how the body is framed, a switch of
 * protocols) being kept in fields (4.1's read Transfer-Encoding from the head when the stream closed, and Upgrade after
 * the head's end). The decoder's tests empty the head as soon as it is handed on, further than any edit of the proxy
 * goes, or put in the chunked Transfer-Encoding the proxy adds for an HTTP/1.1 visitor, and the decoder must frame the
 * body as the head first said.
 */
class UpstreamCodecHeadHandedOnTest {

    private final EmbeddedChannel stream = new EmbeddedChannel(new UpstreamCodec());

    @AfterEach
    void close() {
        stream.finishAndReleaseAll();
    }

    /**
     * Before 39d28dc0 (and with its Exchange part undone), a head whose body was still to come went to the visitor as
     * a copy: the head handed on kept the Keep-Alive the visitor's lost.
     */
    @Test
    void theHeadHandedOnWhileItsBodyIsStillToComeIsTheOneEditedForTheVisitor() throws Exception {
        EventLoopGroup streams = Transport.newEventLoopGroup(1, "upstream-heads");
        HeadsHandedOn opener = new HeadsHandedOn(new DirectOpener(streams));
        try (DirectProxyFixture proxy = new DirectProxyFixture("events.test", settings -> settings.opener(opener));
             RawHttp visitor = connect(proxy)) {
            visitor.send("GET /sse HTTP/1.1\r\nHost: events.test\r\n\r\n");
            RawHttp.Response answer = visitor.read(true); // its head: the events are still to come
            assertThat(answer.header("Content-Type")).isEqualTo("text/event-stream");
            assertThat(answer.header("Keep-Alive")).as("the target's hop-by-hop header, at the visitor").isNull();

            assertThat(opener.heads).hasSize(1);
            HttpResponse handedOn = opener.heads.getFirst();
            assertThat(DirectProxyFixture.onLoop(proxy.visitor(), () -> handedOn.headers().contains("Keep-Alive")))
                    .as("Keep-Alive in the head the stream's decoder handed on, once the visitor had its head")
                    .isFalse();
            proxy.target().sseEvents.add("END");
        } finally {
            streams.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static RawHttp connect(DirectProxyFixture proxy) throws Exception {
        proxy.listen(64 * 1024);
        return new RawHttp(proxy.port());
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

    /** Opens streams as {@link DirectOpener} does, and keeps each response head their decoders hand on. */
    private static final class HeadsHandedOn implements UpstreamOpener {
        final List<HttpResponse> heads = new CopyOnWriteArrayList<>();
        private final DirectOpener direct;

        HeadsHandedOn(DirectOpener direct) {
            this.direct = direct;
        }

        @Override
        public Future<? extends Channel> open(Service service, ChannelHandler handler) {
            return direct.open(service, new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel channel) {
                    channel.pipeline().addLast(handler); // the pool's: its decoder, then the exchange's slot
                    channel.pipeline().addAfter(UpstreamPool.CODEC, null, new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (msg instanceof HttpResponse head) {
                                heads.add(head);
                            }
                            ctx.fireChannelRead(msg);
                        }
                    });
                }
            });
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
