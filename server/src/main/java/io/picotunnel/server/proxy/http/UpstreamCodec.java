package io.picotunnel.server.proxy.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpStatusClass;

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
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<UpstreamCodec.ResponseDecoder, UpstreamCodec.RequestEncoder> {

    private final Queue<HttpMethod> methods = new ArrayDeque<>(2);

    UpstreamCodec(HttpDecoderConfig config) {
        init(new ResponseDecoder(config), new RequestEncoder());
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
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            if (msg instanceof HttpResponse response && response.status().codeClass() != HttpStatusClass.INFORMATIONAL
                    && HttpMethod.HEAD.equals(methods.poll())) {
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }

    final class RequestEncoder extends HttpRequestEncoder {

        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                methods.offer(request.method());
            }
            super.encode(ctx, msg, out);
        }
    }
}
