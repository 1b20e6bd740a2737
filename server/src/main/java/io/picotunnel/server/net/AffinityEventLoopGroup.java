package io.picotunnel.server.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.AbstractEventExecutorGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;

import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A view of an event-loop group that registers each channel on the loop {@code affinity} names for it (the
 * loop of the tunnel session its traffic will cross), or on the group's next loop when it names none. A
 * connection served on its session's loop hands its bytes to the stream without a hop between threads: each
 * hop is a queued task and often a wake-up, which cost a tcp service's round trip more than the relaying.
 *
 * <p>Only registration differs; the view never shuts the group down (its owner does).
 */
public final class AffinityEventLoopGroup extends AbstractEventExecutorGroup implements EventLoopGroup {

    private final EventLoopGroup loops;
    private final Function<Channel, EventLoop> affinity;

    /** {@code affinity} runs on the acceptor's loop for every accepted channel; null means no preference. */
    public AffinityEventLoopGroup(EventLoopGroup loops, Function<Channel, EventLoop> affinity) {
        this.loops = loops;
        this.affinity = affinity;
    }

    private EventLoop loopFor(Channel channel) {
        EventLoop preferred = affinity.apply(channel);
        return preferred != null ? preferred : loops.next();
    }

    @Override
    public EventLoop next() {
        return loops.next();
    }

    @Override
    public ChannelFuture register(Channel channel) {
        return loopFor(channel).register(channel);
    }

    @Override
    public ChannelFuture register(ChannelPromise promise) {
        return loopFor(promise.channel()).register(promise);
    }

    @Deprecated
    @Override
    public ChannelFuture register(Channel channel, ChannelPromise promise) {
        return loopFor(channel).register(promise);
    }

    @Override
    public Iterator<EventExecutor> iterator() {
        return loops.iterator();
    }

    @Override
    public boolean isShuttingDown() {
        return loops.isShuttingDown();
    }

    @Override
    public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
        throw new UnsupportedOperationException("the group's owner shuts it down, not a view of it");
    }

    @Override
    public Future<?> terminationFuture() {
        return loops.terminationFuture();
    }

    @Deprecated
    @Override
    public void shutdown() {
        throw new UnsupportedOperationException("the group's owner shuts it down, not a view of it");
    }

    @Deprecated
    @Override
    public List<Runnable> shutdownNow() {
        throw new UnsupportedOperationException("the group's owner shuts it down, not a view of it");
    }

    @Override
    public boolean isShutdown() {
        return loops.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return loops.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return loops.awaitTermination(timeout, unit);
    }
}
