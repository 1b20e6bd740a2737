package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
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
 * is still the target's own spelling, so the head goes to the visitor byte for byte as it came.
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
        EmbeddedChannel visitor = new EmbeddedChannel(new HttpResponseEncoder());
        visitor.writeOutbound(response);
        ByteBuf bytes = visitor.readOutbound();
        try {
            return bytes.toString(StandardCharsets.ISO_8859_1);
        } finally {
            bytes.release();
            visitor.finishAndReleaseAll();
        }
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
