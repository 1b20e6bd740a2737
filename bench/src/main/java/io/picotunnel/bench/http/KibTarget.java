package io.picotunnel.bench.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.bench.traffic.Responder;

import java.util.Arrays;

/**
 * The HTTP target of {@link HttpRequestBenchmark}: answers every request as the 1 KiB target of bench/run.sh does
 * (nginx's {@code return 200} of 1024 {@code x} as {@code text/plain}), with the same headers, keep-alive.
 */
final class KibTarget extends ChannelInitializer<SocketChannel> {

    static final int BODY_BYTES = 1024;

    private static final ByteBuf BODY = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(body()));

    private static byte[] body() {
        byte[] body = new byte[BODY_BYTES];
        Arrays.fill(body, (byte) 'x');
        return body;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new HttpServerCodec(), Answer.INSTANCE);
    }

    @ChannelHandler.Sharable
    private static final class Answer extends Responder {
        static final Answer INSTANCE = new Answer();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (!last) {
                return;
            }
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    BODY.duplicate());
            HttpHeaders headers = response.headers();
            headers.set(HttpHeaderNames.SERVER, "nginx/1.22.1")
                    .set(HttpHeaderNames.DATE, "Mon, 07 Dec 2026 00:00:00 GMT")
                    .set(HttpHeaderNames.CONTENT_TYPE, "text/plain")
                    .set(HttpHeaderNames.CONTENT_LENGTH, BODY_BYTES)
                    .set(HttpHeaderNames.CONNECTION, "keep-alive");
            ctx.write(response);
        }
    }
}
