package io.picotunnel.bench.traffic;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/** Counts and drops every byte its channels receive; a benchmark waits until a total has arrived. */
@ChannelHandler.Sharable
public final class ByteSink extends ChannelInboundHandlerAdapter {

    private final AtomicLong received = new AtomicLong();
    private volatile long target = Long.MAX_VALUE;
    private volatile CountDownLatch reached = new CountDownLatch(1);

    /** Call before sending {@code bytes} more: {@link #await} then returns once they have all arrived. */
    public void expect(long bytes) {
        reached = new CountDownLatch(1);
        target = received.get() + bytes;
    }

    public void await(Duration timeout) throws InterruptedException, TimeoutException {
        if (!reached.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new TimeoutException("only " + received.get() + " of " + target + " bytes arrived within "
                    + timeout.toSeconds() + " s");
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long n = msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
        ReferenceCountUtil.release(msg);
        if (received.addAndGet(n) >= target) {
            reached.countDown();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
