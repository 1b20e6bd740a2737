package io.picotunnel.protocol.net;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class OnLoopTest {

    private final EventLoop loop = new DefaultEventLoop();

    @AfterEach
    void tearDown() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    @Test
    void fromAnotherThreadTheTaskRunsOnTheLoop() throws Exception {
        CompletableFuture<Boolean> ranOnLoop = new CompletableFuture<>();
        OnLoop.run(loop, () -> ranOnLoop.complete(loop.inEventLoop()), () -> ranOnLoop.complete(false));
        assertThat(ranOnLoop.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void onTheLoopTheTaskRunsAtOnceBeforeWhatIsQueued() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        loop.submit(() -> {
            loop.execute(() -> order.add("queued"));
            OnLoop.run(loop, () -> order.add("at once"), () -> order.add("stopped"));
        }).get(5, TimeUnit.SECONDS);
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
        assertThat(order).containsExactly("at once", "queued");
    }

    @Test
    void aLoopThatHasStoppedRunsTheStoppedCaseHereInstead() throws Exception {
        assertThat(loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS)).isTrue();
        List<String> ran = new CopyOnWriteArrayList<>();
        OnLoop.run(loop, () -> ran.add("task"), () -> ran.add("stopped on " + Thread.currentThread().getName()));
        assertThat(ran).containsExactly("stopped on " + Thread.currentThread().getName());
    }
}
