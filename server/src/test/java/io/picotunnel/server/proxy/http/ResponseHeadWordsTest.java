package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The target's response head as the stream's decoder ({@link UpstreamCodec}) makes it: the common words (version,
 * status code and reason, header names) are shared between responses rather than made anew for each, and every word
 * is still the target's own spelling, so a well-formed head goes to the visitor byte for byte as it came, and any
 * other as Netty's own decoder makes it.
 */
class ResponseHeadWordsTest {

    private final EmbeddedChannel stream = new EmbeddedChannel(new UpstreamCodec());

    @AfterEach
    void close() {
        stream.finishAndReleaseAll();
    }

    private HttpResponse decode(String head) {
        stream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        stream.releaseOutbound();
        stream.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
        HttpResponse response = stream.readInbound();
        ReferenceCountUtil.release(stream.readInbound()); // its empty end
        return response;
    }

    /** The head as the server's codec writes it for the visitor. */
    private static String encoded(HttpResponse response) {
        return encoded(new ArrayList<>(List.of(response)));
    }

    @Test
    void theCommonWordsOfTwoResponsesAreTheSameObjects() {
        String head = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\ncontent-length: 0\r\n\r\n";
        HttpResponse first = decode(head);
        HttpResponse second = decode(head);

        List<CharSequence> firstNames = names(first);
        List<CharSequence> secondNames = names(second);
        assertThat(firstNames).extracting(CharSequence::toString)
                .containsExactly("Server", "Content-Type", "content-length");
        for (int i = 0; i < firstNames.size(); i++) {
            assertThat(secondNames.get(i)).as(firstNames.get(i).toString()).isSameAs(firstNames.get(i));
        }
        assertThat(second.status()).isSameAs(first.status());
        assertThat(second.protocolVersion()).isSameAs(HttpVersion.HTTP_1_1);
    }

    @Test
    void everyWordGoesToTheVisitorAsTheTargetSpeltIt() {
        for (String head : List.of(
                "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 00:00:00 GMT\r\nContent-Type: text/plain\r\n"
                        + "Content-Length: 0\r\nETag: \"a\"\r\nX-Own-Header: x\r\n\r\n",
                "HTTP/1.1 200 Fine\r\nSERVER: nginx\r\nserver: again\r\nContent-type: text/plain\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n",
                "HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 204 no content\r\nVary: Accept\r\n\r\n")) {
            assertThat(encoded(decode(head))).isEqualTo(head);
        }
    }

    /**
     * Heads Netty does not pass on as they came (spacing, a folded value, no reason, trailers with common names): the
     * visitor gets what Netty's own decoder makes of them, as before the shared words. A status with a leading zero is
     * refused since (HttpProxyTest.aStatusThatIsNotThreeDigitsFrom100To999Gets502AndItsStreamIsNotReused).
     */
    @Test
    void anOddHeadGoesToTheVisitorAsNettysOwnDecoderMakesIt() {
        HttpDecoderConfig limits = new HttpDecoderConfig().setMaxHeaderSize(64 * 1024);
        for (String head : List.of(
                "HTTP/1.1 200 Not Found\r\ncontent-LENGTH: 0\r\n\r\n",
                "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1  404   Not Found  \r\nServer : x\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1\t200\tok\r\nServer: a\r\n b\r\n\tc\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 200 O\u00e9K\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nETag: x\r\nSERVER: y\r\n"
                        + "server: z\r\n\r\n")) {
            EmbeddedChannel netty = new EmbeddedChannel(new HttpResponseDecoder(limits));
            netty.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
            String expected = encoded(netty.inboundMessages());
            netty.finishAndReleaseAll();
            stream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
            stream.releaseOutbound();
            stream.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
            assertThat(encoded(stream.inboundMessages())).as(head).isEqualTo(expected);
        }
    }

    /** The messages as the server's codec writes them for the visitor (taken from {@code decoded}). */
    private static String encoded(Iterable<Object> decoded) {
        EmbeddedChannel visitor = new EmbeddedChannel(new HttpResponseEncoder());
        StringBuilder bytes = new StringBuilder();
        for (var i = decoded.iterator(); i.hasNext(); i.remove()) {
            HttpObject message = (HttpObject) i.next();
            assertThat(message.decoderResult().isSuccess()).as(message.toString()).isTrue();
            visitor.writeOutbound(message);
            for (ByteBuf written; (written = visitor.readOutbound()) != null; written.release()) {
                bytes.append(written.toString(StandardCharsets.ISO_8859_1));
            }
        }
        visitor.finishAndReleaseAll();
        return bytes.toString();
    }

    @Test
    void anHttp10HeadKeepsItsVersion() {
        HttpResponse response = decode("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assertThat(response.protocolVersion()).isSameAs(HttpVersion.HTTP_1_0);
    }

    private static List<CharSequence> names(HttpResponse response) {
        List<CharSequence> names = new ArrayList<>();
        for (Map.Entry<CharSequence, CharSequence> header : (Iterable<Map.Entry<CharSequence, CharSequence>>)
                response.headers()::iteratorCharSequence) {
            names.add(header.getKey());
        }
        return names;
    }
}
