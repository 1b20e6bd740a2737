package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.picotunnel.protocol.text.ControlCharacters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;

/**
 * The HTTP/1.1 codec of an upstream stream, as Netty's {@code HttpClientCodec} pairs responses with the methods
 * of the requests sent (a response to HEAD has no body, whatever its headers say; 1xx answers are not paired),
 * and which tells whether its decoder holds bytes past the last response: a target that sent more than it
 * announced (a body after the answer to HEAD, bytes past Content-Length) must not have its stream reused, or
 * those bytes would be read as the start of the next request's response. CONNECT never goes upstream (the proxy
 * refuses it), so there is no tunnel mode.
 *
 * <p>Bytes that arrive while no request awaits its response (a stream idle in the pool, or taken and its request
 * not written yet) are a target's mistake (a late body after a 304, a 204 or an answer to HEAD), or an unasked
 * answer (a 408 before an idle close): they are dropped and the stream is closed, as Go's {@code http.Transport}
 * does ("Unsolicited response received on idle HTTP channel"). Kept, they would be read as the start of the next
 * visitor's response; and bytes without a line break would wait in the decoder, where no handler sees them.
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<UpstreamCodec.ResponseDecoder, UpstreamCodec.RequestEncoder> {

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamCodec.class);
    /** The limits of a target's response (shared: a config is read only when a decoder is made). */
    private static final HttpDecoderConfig RESPONSES = new HttpDecoderConfig()
            .setMaxInitialLineLength(HttpProxy.MAX_REQUEST_LINE)
            .setMaxHeaderSize(64 * 1024)
            .setMaxChunkSize(HttpProxy.MAX_CHUNK_SIZE)
            .setTrailersFactory(LazyTrailers.FACTORY);
    private final Queue<HttpMethod> methods = new ArrayDeque<>(2);
    /** Requests written whose final response has not ended yet. */
    private int awaiting;
    /** A final (not 1xx) response head was decoded and its end not yet. */
    private boolean inFinalResponse;

    UpstreamCodec() {
        init(new ResponseDecoder(RESPONSES), new RequestEncoder());
    }

    /** Bytes the decoder read past the last whole message: a stream holding some must not carry another request. */
    boolean holdsBytes() {
        return inboundHandler().holdsBytes();
    }

    final class ResponseDecoder extends HttpResponseDecoder {

        ResponseDecoder(HttpDecoderConfig config) {
            super(config);
        }

        boolean holdsBytes() {
            return actualReadableBytes() > 0;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (awaiting == 0 && msg instanceof ByteBuf bytes && bytes.isReadable()) {
                LOG.debug("upstream {} sent {} bytes while no request awaited a response: closing it", ctx.channel(),
                        bytes.readableBytes());
                bytes.release();
                ctx.close();
                return;
            }
            super.channelRead(ctx, msg);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            int before = out.size();
            super.decode(ctx, buffer, out);
            for (int i = before; i < out.size(); i++) {
                Object msg = out.get(i);
                if (msg instanceof HttpResponse response
                        && response.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
                    inFinalResponse = true;
                }
                if (msg instanceof LastHttpContent && inFinalResponse) {
                    inFinalResponse = false;
                    awaiting = Math.max(0, awaiting - 1);
                }
            }
        }

        /**
         * A status that is not three digits from 100 to 999 (RFC 9112 4: {@code 3DIGIT}; RFC 9110 15: 100 to 599 defined,
         * 600 to 999 a client must treat as x00) is refused: Netty reads any integer, so {@code 099} would go on as a
         * 1xx {@code 99}, {@code 0200} as a 200 and {@code 1000} as such. The decoder makes the head a failed one, which
         * the exchange answers 502 and whose stream it closes.
         */
        @Override
        protected HttpMessage createMessage(String[] initialLine) {
            if (!isThreeDigitStatus(initialLine[1])) {
                throw new IllegalArgumentException("invalid status code: " + ControlCharacters.quoted(initialLine[1]));
            }
            return super.createMessage(initialLine);
        }

        @Override
        protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
            AsciiString known = ResponseHeadWords.name(sb, start, length);
            return known != null ? known : super.splitHeaderName(sb, start, length);
        }

        @Override
        protected String splitFirstWordInitialLine(byte[] sb, int start, int length) {
            String known = ResponseHeadWords.version(sb, start, length);
            return known != null ? known : super.splitFirstWordInitialLine(sb, start, length);
        }

        @Override
        protected String splitSecondWordInitialLine(byte[] sb, int start, int length) {
            String known = ResponseHeadWords.code(sb, start, length);
            return known != null ? known : super.splitSecondWordInitialLine(sb, start, length);
        }

        @Override
        protected String splitThirdWordInitialLine(byte[] sb, int start, int length) {
            String known = ResponseHeadWords.reason(sb, start, length);
            return known != null ? known : super.splitThirdWordInitialLine(sb, start, length);
        }

        /**
         * Netty's decoder takes a 204 and a 304 for bodyless, and a 205 without Content-Length or Transfer-Encoding for
         * a body to the connection's close (RFC 9112 6.3, rule 7): a target that keeps its connection open after a bare
         * 205 head would hold the exchange until the proxy timeout. A 205 has no content (RFC 9110 15.3.6), so one
         * without framing ends at its head; its stream is not reused ({@code Exchange.headLetsStreamGoOn}), as bytes
         * may follow that nothing frames. A 205 with a length or chunks is read as framed, and its content dropped.
         */
        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            if (msg instanceof HttpResponse response && response.status().codeClass() != HttpStatusClass.INFORMATIONAL
                    && HttpMethod.HEAD.equals(methods.poll())) {
                return true;
            }
            if (msg instanceof HttpResponse response
                    && response.status().code() == HttpResponseStatus.RESET_CONTENT.code()
                    && !response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                    && !response.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }

    /** Whether {@code code} is three ASCII digits, the first not 0. */
    private static boolean isThreeDigitStatus(String code) {
        return code.length() == 3 && code.charAt(0) >= '1' && code.charAt(0) <= '9' && isDigit(code.charAt(1))
                && isDigit(code.charAt(2));
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    final class RequestEncoder extends HttpRequestEncoder {

        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                methods.offer(request.method());
                awaiting++;
            }
            super.encode(ctx, msg, out);
        }
    }
}
