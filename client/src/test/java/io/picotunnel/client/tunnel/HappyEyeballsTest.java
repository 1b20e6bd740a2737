package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.local.LocalChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The race of a name's addresses, as Go's dialParallel runs it, with attempts whose outcome the test decides: each is
 * an {@link EmbeddedChannel} (open until closed) and its connect promise.
 */
class HappyEyeballsTest {

    private static final Duration LONG = Duration.ofSeconds(30);

    private final EventLoop loop = new DefaultEventLoop();
    /** Where some tests' attempts live, as targets do on loops of their own (--target-threads). */
    private final EventLoop attemptLoop = new DefaultEventLoop();
    private final List<Attempted> attempts = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Object> outcome = new CompletableFuture<>();

    private record Attempted(InetAddress address, int connectTimeoutMillis, long startedNanos, ChannelPromise promise) {
        Channel channel() {
            return promise.channel();
        }
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        attemptLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    @Test
    void theOtherFamilyIsTriedAfterTheFallbackDelayAndItsWinCallsTheFirstAttemptOff() throws Exception {
        long start = System.nanoTime();
        race(HappyEyeballs.FALLBACK_DELAY, "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        assertThat(attempts.get(0).address()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(attempts.get(1).address()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(TimeUnit.NANOSECONDS.toMillis(attempts.get(1).startedNanos() - start))
                .as("ms until ::1 was tried").isGreaterThanOrEqualTo(HappyEyeballs.FALLBACK_DELAY.toMillis());
        // Each family alone in the 30 s: all of it for its one address.
        assertThat(attempts.get(0).connectTimeoutMillis()).isBetween(29_000, 30_000);

        attempts.get(1).promise().setSuccess();

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isSameAs(attempts.get(1).channel());
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.get(0).promise().isCancelled());
        assertThat(attempts.get(1).channel().isOpen()).as("the winner").isTrue();
    }

    @Test
    void aLoserThatConnectedBeforeTheWinnerWasToldIsClosed() throws Exception {
        race(Duration.ZERO, "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        LoopHold busy = LoopHold.on(loop);

        // Both connect while the race's loop is busy: the first it hears of wins, the other is closed.
        attempts.get(0).promise().setSuccess();
        attempts.get(1).promise().setSuccess();
        busy.release();

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isSameAs(attempts.get(0).channel());
        await().atMost(Duration.ofSeconds(5)).until(() -> !attempts.get(1).channel().isOpen());
        assertThat(attempts.get(0).channel().isOpen()).as("the winner").isTrue();
    }

    @Test
    void theOtherFamilyGoesAtOnceWhenTheFirstFamilyHasFailedAndTheFirstFamilyIsTriedInTurn() throws Exception {
        race(LONG, "127.0.0.1", "127.0.0.2", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 1);
        assertThat(attempts.getFirst().connectTimeoutMillis()).as("half the 30 s").isBetween(14_000, 15_000);

        attempts.getFirst().promise().setFailure(new ConnectException("refused"));
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        assertThat(attempts.get(1).address()).as("the next of the first family").isEqualTo(
                InetAddress.getByName("127.0.0.2"));

        attempts.get(1).promise().setFailure(new ConnectException("refused too"));
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 3);
        assertThat(attempts.get(2).address()).as("long before the fallback delay of 30 s")
                .isEqualTo(InetAddress.getByName("::1"));
    }

    @Test
    void whenAllFailTheOutcomeSaysWhatEachAddressDidInTheNamesOrder() throws Exception {
        race(Duration.ZERO, "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        ConnectException second = new ConnectException("::1 refused");
        ConnectException first = new ConnectException("127.0.0.1 refused");
        attempts.get(1).promise().setFailure(second);
        assertThat(outcome).as("not before 127.0.0.1 failed too").isNotDone();
        attempts.get(0).promise().setFailure(first);

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isEqualTo(List.of(first, second));
    }

    /** Thrown before the connection started (a socket address refused): that address failed, and the race goes on. */
    @Test
    void anAttemptThatThrowsIsThatAddressFailingAndTheRaceGoesOnToTheNext() throws Exception {
        IllegalArgumentException refused = new IllegalArgumentException("127.0.0.1 refused before connecting");
        race(LONG, address -> {
            if (address instanceof Inet4Address) {
                throw refused;
            }
            return new EmbeddedChannel().newPromise();
        }, "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 1);
        assertThat(attempts.getFirst().address()).as("long before the fallback delay of 30 s")
                .isEqualTo(InetAddress.getByName("::1"));

        ConnectException second = new ConnectException("::1 refused");
        attempts.getFirst().promise().setFailure(second);

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isEqualTo(List.of(refused, second));
    }

    @Test
    void aFailedRaceFailsWithTheFirstAddressTriedElseATimeoutSayingWhy() {
        ConnectException refused = new ConnectException("::1 refused");
        ConnectException refusedToo = new ConnectException("127.0.0.2 refused");
        assertThat(HappyEyeballs.firstFailure(new Throwable[] {null, refused, refusedToo}, "none")).isSameAs(refused);
        assertThat(HappyEyeballs.firstFailure(new Throwable[] {null, null}, "no time was left"))
                .isInstanceOf(ConnectTimeoutException.class).hasMessage("no time was left");
    }

    @Test
    void aCancelledRaceCallsItsAttemptsOffAndClosesOneThatConnectsAllTheSame() throws Exception {
        calledOffAsTheFirstConnects(address -> new EmbeddedChannel().newPromise(), ChannelPromise::setSuccess);

        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.get(1).promise().isCancelled()
                && !attempts.get(0).channel().isOpen());
        assertThat(outcome).as("a cancelled race tells nothing").isNotDone();
    }

    @Test
    void aRaceCalledOffJustAsAnAttemptClosedItsSocketStillCallsTheOtherAttemptOff() throws Exception {
        // The attempt on 127.0.0.1 lives on an event loop of its own, where it has just failed and closed its socket:
        // the race, called off before it has heard so, has nothing to reset there.
        LingerRecordingChannel closedMeanwhile = attemptChannel();
        closedMeanwhile.close().get(5, TimeUnit.SECONDS);
        HappyEyeballs race = race(Duration.ZERO,
                address -> address instanceof Inet4Address
                        ? new DefaultChannelPromise(closedMeanwhile) : new EmbeddedChannel().newPromise(),
                "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);

        loop.submit(race::cancel).get(5, TimeUnit.SECONDS);

        assertThat(attempts.get(1).promise().isCancelled()).as("the attempt on ::1 called off").isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.get(0).promise().isCancelled());
        assertThat(closedMeanwhile.lingerSetBy).as("no reset asked of a closed socket").isEmpty();
    }

    @Test
    void anAttemptOnAnotherEventLoopIsResetOnItsOwnLoopWhenTheRaceIsCalledOff() throws Exception {
        LingerRecordingChannel elsewhere = attemptChannel();
        HappyEyeballs race = race(Duration.ZERO, address -> elsewhere.newPromise(), "127.0.0.1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 1);

        loop.submit(race::cancel).get(5, TimeUnit.SECONDS);

        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.getFirst().promise().isCancelled());
        // Before, the race's loop set SO_LINGER, while the attempt's loop may have closed the socket and, on epoll,
        // another socket may have had its file descriptor number by then.
        assertResetOnItsOwnLoop(elsewhere);
    }

    @Test
    void aConnectionMadeAfterTheRaceWasCalledOffIsResetOnItsOwnLoop() throws Exception {
        LingerRecordingChannel late = attemptChannel();
        LingerRecordingChannel loser = attemptChannel();
        calledOffAsTheFirstConnects(address -> address instanceof Inet4Address ? late.newPromise() : loser.newPromise(),
                late::succeed);

        await().atMost(Duration.ofSeconds(5)).until(() -> !late.isOpen());
        assertResetOnItsOwnLoop(late);
    }

    @Test
    void aLoserOnAnotherEventLoopIsClosedWithoutAReset() throws Exception {
        LingerRecordingChannel winner = attemptChannel();
        LingerRecordingChannel slower = attemptChannel();
        race(Duration.ZERO, address -> address instanceof Inet4Address
                ? winner.newPromise() : slower.newPromise(), "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        LoopHold busy = LoopHold.on(loop);
        winner.succeed(attempts.get(0).promise());
        slower.succeed(attempts.get(1).promise());
        busy.release();

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isSameAs(winner);
        await().atMost(Duration.ofSeconds(5)).until(() -> !slower.isOpen());
        assertThat(slower.lingerSetBy).as("a loser of a won race ends with a FIN").isEmpty();
    }

    /**
     * Races 127.0.0.1 and ::1 with attempts made by {@code promises}, and calls the race off just before it hears that
     * 127.0.0.1 connected ({@code connect} is given that attempt's promise).
     */
    private void calledOffAsTheFirstConnects(Function<InetAddress, ChannelPromise> promises,
                                             Consumer<ChannelPromise> connect) throws Exception {
        HappyEyeballs race = race(Duration.ZERO, promises, "127.0.0.1", "::1");
        await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 2);
        LoopHold busy = LoopHold.on(loop);
        loop.execute(race::cancel);
        connect.accept(attempts.get(0).promise());
        busy.release();
    }

    /** {@code channel}'s close was made a reset (SO_LINGER 0) once, from its own loop, {@link #attemptLoop}. */
    private void assertResetOnItsOwnLoop(LingerRecordingChannel channel) {
        assertThat(channel.lingerSetBy).as("threads that set SO_LINGER 0").singleElement()
                .matches(attemptLoop::inEventLoop, "the attempt's own loop");
    }

    /** A channel registered on {@link #attemptLoop}, not the race's loop, as a target's on --target-threads is. */
    private LingerRecordingChannel attemptChannel() throws Exception {
        LingerRecordingChannel channel = new LingerRecordingChannel();
        attemptLoop.register(channel).get(5, TimeUnit.SECONDS);
        return channel;
    }

    /**
     * Remembers the threads that set its SO_LINGER (a LocalChannel has none of its own); active, as a connected
     * socket, once the test has {@link #succeed succeeded} its connect.
     */
    private static final class LingerRecordingChannel extends LocalChannel {
        final List<Thread> lingerSetBy = new CopyOnWriteArrayList<>();
        private volatile boolean connected;
        private ChannelConfig config;

        void succeed(ChannelPromise connect) {
            connected = true;
            connect.setSuccess();
        }

        @Override
        public boolean isActive() {
            return connected && isOpen();
        }

        @Override
        public ChannelConfig config() {
            // LocalChannel's constructor asks for it before this class's fields are set.
            if (config == null) {
                config = new DefaultChannelConfig(this) {
                    @Override
                    public <T> boolean setOption(ChannelOption<T> option, T value) {
                        if (option == ChannelOption.SO_LINGER) {
                            lingerSetBy.add(Thread.currentThread());
                            return true;
                        }
                        return super.setOption(option, value);
                    }
                };
            }
            return config;
        }
    }

    /** Starts a race on {@code loop} of {@code names} (IP addresses), with 30 s in all. */
    private HappyEyeballs race(Duration fallbackDelay, String... names) throws Exception {
        return race(fallbackDelay, address -> new EmbeddedChannel().newPromise(), names);
    }

    /** As above, each attempt's connect promise made by {@code promises}. */
    private HappyEyeballs race(Duration fallbackDelay, Function<InetAddress, ChannelPromise> promises, String... names)
            throws Exception {
        InetAddress[] addresses = new InetAddress[names.length];
        for (int i = 0; i < names.length; i++) {
            addresses[i] = InetAddress.getByName(names[i]);
        }
        HappyEyeballs race = new HappyEyeballs(loop, addresses, System.nanoTime() + LONG.toNanos(), fallbackDelay,
                (address, connectTimeoutMillis) -> {
                    ChannelPromise promise = promises.apply(address);
                    attempts.add(new Attempted(address, connectTimeoutMillis, System.nanoTime(), promise));
                    return promise;
                },
                new HappyEyeballs.Outcome() {
                    @Override
                    public void connected(Channel channel) {
                        outcome.complete(channel);
                    }

                    @Override
                    public void failed(Throwable[] tried) {
                        outcome.complete(List.of(tried));
                    }
                });
        loop.submit(race::start).get(5, TimeUnit.SECONDS);
        return race;
    }
}
