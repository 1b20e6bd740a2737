package io.picotunnel.server.access;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.net.RetryAfter;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;
import static org.awaitility.Awaitility.await;

class BasicAuthGateTest {

    private static final String CHECK_THREAD = "failing-password-check";
    private static final String APPENDER_ERROR = "the log's appender, for the test";
    private static final String NO_THREAD = "unable to create native thread, for the test";

    private final List<CheckPool> pools = new ArrayList<>();

    /**
     * A flood of sign-ins backs the checks up: each is answered 503, and the log says so once a minute, not once per
     * sign-in (a flood would fill it), never with a password.
     */
    @Test
    void signInsRefusedWhileTheChecksAreBackedUpAreLoggedOnceWithoutTheirPasswords() throws Exception {
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, rejectingPool());
             LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO)) {
            for (int i = 0; i < 5; i++) {
                HttpVerdict answer = pending(gate, "guess-" + i).get(5, TimeUnit.SECONDS);
                assertThat(answer).isInstanceOfSatisfying(HttpVerdict.Answer.class, a -> {
                    assertThat(a.status()).isEqualTo(503);
                    assertThat(a.headers()).containsExactly(
                            Map.entry("Retry-After", Long.toString(RetryAfter.PASSWORD_CHECKS_BUSY.toSeconds())));
                });
            }

            assertThat(log.messages(Level.WARN)).singleElement(as(STRING))
                    .contains("password checks are backed up; refusing a sign-in to app.test")
                    .doesNotContain("guess");
        }
    }

    /**
     * Checks queued behind a busy pool when the server stops are dropped by the pool's shutdown: their requests are
     * answered 503 server_stopping then, not left without an answer, and so is a sign-in that comes after, without the
     * WARN of a backed-up pool.
     */
    @Test
    void checksQueuedWhenTheGateClosesAndSignInsAfterAreAnswered503ServerStopping() throws Exception {
        CheckPool pool = checkPool(task -> false);
        CountDownLatch busy = new CountDownLatch(1);
        occupy(pool, busy); // until the close interrupts it
        BasicAuthGate gate = new BasicAuthGate(System::nanoTime, pool);
        try (LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO)) {
            CompletableFuture<HttpVerdict> first = pending(gate, "guess-1");
            CompletableFuture<HttpVerdict> second = pending(gate, "guess-2");
            assertThat(first).as("queued behind the busy thread").isNotDone();

            gate.close();

            assertServerStopping(first);
            assertServerStopping(second);
            assertServerStopping(pending(gate, "after-the-close"));
            assertThat(log.messages(Level.WARN)).as("no backed-up pool logged").isEmpty();
        } finally {
            busy.countDown();
            gate.close();
        }
    }

    /**
     * A bug that makes every password check throw (here the count of a wrong password) is answered 500 each time, and
     * logged with its stack trace once a minute, not once per sign-in: a visitor's attempts would fill the disk. The
     * log's clock stands still, so the 20 checks fall within its minute however slow the machine.
     */
    @Test
    void checksThatAllThrowAreLoggedOnceWithTheirStackTrace() throws Exception {
        ManualClock logClock = new ManualClock(Instant.now());
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, checkPool(task -> false), failingFailureCount(),
                logClock::nanoTime);
             LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO)) {
            for (int i = 0; i < 20; i++) {
                assertFailedWithTheBug(pending(gate, "guess-" + i));
            }

            assertThat(log.events()).filteredOn(e -> e.getLevel() == Level.WARN).singleElement()
                    .satisfies(e -> assertThat(e.getFormattedMessage())
                            .isEqualTo("the password check of a request to app.test failed"))
                    .extracting(ILoggingEvent::getThrowableProxy).isNotNull();
        }
    }

    /**
     * A check whose failure's log line throws (an Error from the log's appender, as a second OutOfMemoryError would be)
     * still answers its request, and frees its credentials and its place among the address's checks: a third
     * password from the address is checked, not answered 429 for two checks long over, and credentials sent again are
     * checked again, not left waiting on the first check. Before, the log's throw skipped both: the first request
     * was never answered (no answer within 5 s).
     */
    @Test
    void aCheckWhoseLogLineThrowsStillAnswersAndFreesItsCredentialsAndItsPlaceAmongTheAddresssChecks() {
        CheckPool pool = checkPool(task -> false);
        ManualClock logClock = new ManualClock(Instant.now());
        Logger logger = (Logger) LoggerFactory.getLogger(BasicAuthGate.class);
        AppenderBase<ILoggingEvent> throwing = throwingAtWarnsOn(CHECK_THREAD);
        try (LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO);
             BasicAuthGate gate = new BasicAuthGate(System::nanoTime, pool, failingFailureCount(), logClock::nanoTime)) {
            logger.addAppender(throwing);
            List<String> passwords = List.of("guess-1", "guess-2", "guess-3", "guess-1");
            for (String password : passwords) {
                logClock.advance(RefusalLog.DEFAULT_INTERVAL); // each check's failure is logged, not only counted
                assertFailedWithTheBug(pending(gate, password));
            }

            // Counted by the pool once each task's thread is done with it, after the answer: waited for
            await().atMost(10, TimeUnit.SECONDS).alias("checks run: one per request, the credentials sent again too")
                    .until(() -> pool.getCompletedTaskCount() == passwords.size());
            assertThat(log.messages(Level.WARN)).as("the failures logged, each line then thrown by the appender after")
                    .hasSize(passwords.size());
            assertThat(pool.thrown).as("the appender's Errors, out of the checks' tasks").hasSize(passwords.size());
        } finally {
            logger.detachAppender(throwing);
            throwing.stop();
        }
    }

    /**
     * A check the pool cannot take for another cause than a full queue (no thread could be started: an
     * OutOfMemoryError from execute) is answered as a check that failed (500), logged, and frees its credentials and
     * its place among the address's checks: the same credentials and a third password are checked once threads can be
     * made again. Before, the Error went out of check() with the credentials and the place kept: the request got no
     * verdict, and later requests with those credentials waited on a check that never ran.
     */
    @Test
    void aCheckThePoolCannotStartIsAnsweredAndFreesItsCredentialsAndItsPlaceAmongTheAddresssChecks() throws Exception {
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, poolThatCannotStartTheFirst(
                BasicAuthGate.MAX_CHECKS_PER_ADDRESS));
             LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO)) {
            assertChecksNotStartedAreAnsweredAsFailed(gate, () -> {
            });
            assertThat(log.messages(Level.WARN)).first(as(STRING))
                    .isEqualTo("the password check of a request to app.test could not start");

            assertTheChecksPlacesWereFreed(gate);
        }
    }

    /**
     * A check the pool cannot start whose log line throws (an Error from the log's appender, as a second
     * OutOfMemoryError would be, here on the request's thread) is still answered as a check that failed, and frees its
     * credentials and its place among the address's checks; the failure the log did not take, with the log's Error
     * suppressed in it, is printed through the thread's uncaught exception handler (as the JVM prints an Error out of
     * a check's task on the pool's thread), not kept in a failure nobody logs. Before, the log's throw went out of
     * check() in place of the request's verdict: the request was never answered (the Error thrown out of check()).
     */
    @Test
    void aCheckThePoolCannotStartWhoseLogLineThrowsStillAnswersAndFreesItsCredentialsAndItsPlace() throws Exception {
        ManualClock logClock = new ManualClock(Instant.now());
        Logger logger = (Logger) LoggerFactory.getLogger(BasicAuthGate.class);
        AppenderBase<ILoggingEvent> throwing = throwingAtWarnsOn(Thread.currentThread().getName());
        Thread.UncaughtExceptionHandler handler = Thread.currentThread().getUncaughtExceptionHandler();
        Queue<Throwable> printed = new ConcurrentLinkedQueue<>();
        Thread.currentThread().setUncaughtExceptionHandler((thread, e) -> printed.add(e));
        try (LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO);
             BasicAuthGate gate = new BasicAuthGate(System::nanoTime, poolThatCannotStartTheFirst(
                     BasicAuthGate.MAX_CHECKS_PER_ADDRESS), new FailedLogins("test", BasicAuthGate.FAILURES),
                     logClock::nanoTime)) {
            logger.addAppender(throwing);
            // Each check's failure is logged, not only counted
            assertChecksNotStartedAreAnsweredAsFailed(gate, () -> logClock.advance(RefusalLog.DEFAULT_INTERVAL));
            assertThat(log.messages(Level.WARN)).as("the failures logged, each line then thrown by the appender after")
                    .hasSize(BasicAuthGate.MAX_CHECKS_PER_ADDRESS);
            assertThat(printed).as("the failures not logged, with the appender's Errors, printed as uncaught")
                    .hasSize(BasicAuthGate.MAX_CHECKS_PER_ADDRESS).allSatisfy(e -> {
                        assertThat(e).hasMessage(NO_THREAD);
                        assertThat(e.getSuppressed()).singleElement().extracting(Throwable::getMessage)
                                .isEqualTo(APPENDER_ERROR);
                    });

            assertTheChecksPlacesWereFreed(gate);
        } finally {
            Thread.currentThread().setUncaughtExceptionHandler(handler);
            logger.detachAppender(throwing);
            throwing.stop();
        }
    }

    /**
     * A check the pool cannot start whose log line throws the very Error it logs (out of memory, the JVM throws one
     * shared OutOfMemoryError once its preallocated ones are used up) is still answered as a check that failed, with
     * nothing thrown out of check(). Before, that Error was added as suppressed to itself: an IllegalArgumentException
     * ("Self-suppression not permitted") went out of check() in place of the request's verdict.
     */
    @Test
    void aCheckThePoolCannotStartWhoseLogLineThrowsTheSameErrorIsStillAnswered() {
        Logger logger = (Logger) LoggerFactory.getLogger(BasicAuthGate.class);
        String thisThread = Thread.currentThread().getName();
        AppenderBase<ILoggingEvent> rethrowing = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                if (Thread.currentThread().getName().equals(thisThread)
                        && event.getThrowableProxy() instanceof ThrowableProxy proxy
                        && proxy.getThrowable() instanceof Error logged) {
                    throw logged;
                }
            }
        };
        rethrowing.start();
        Thread.UncaughtExceptionHandler handler = Thread.currentThread().getUncaughtExceptionHandler();
        Queue<Throwable> printed = new ConcurrentLinkedQueue<>();
        Thread.currentThread().setUncaughtExceptionHandler((thread, e) -> printed.add(e));
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, poolThatCannotStartTheFirst(1))) {
            logger.addAppender(rethrowing);
            AtomicReference<CompletableFuture<HttpVerdict>> notStarted = new AtomicReference<>();
            assertThat(catchThrowable(() -> notStarted.set(pending(gate, "guess")))).as("thrown out of check()")
                    .isNull();
            assertThatThrownBy(() -> notStarted.get().get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage(NO_THREAD);
            assertThat(printed).as("the failure, printed as uncaught").singleElement()
                    .extracting(Throwable::getMessage).isEqualTo(NO_THREAD);
        } finally {
            Thread.currentThread().setUncaughtExceptionHandler(handler);
            logger.detachAppender(rethrowing);
            rethrowing.stop();
        }
    }

    /**
     * A check the pool cannot start whose log line throws, and whose thread's uncaught exception handler throws too
     * (out of memory again while it prints the trace), is still answered as a check that failed, with nothing thrown
     * out of check(), and frees its credentials and its place. Before, the handler's Error went out of check() in place
     * of the request's verdict.
     */
    @Test
    void aCheckThePoolCannotStartWhoseLogAndUncaughtHandlerBothThrowIsStillAnswered() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(BasicAuthGate.class);
        AppenderBase<ILoggingEvent> throwing = throwingAtWarnsOn(Thread.currentThread().getName());
        Thread.UncaughtExceptionHandler handler = Thread.currentThread().getUncaughtExceptionHandler();
        Queue<Throwable> printing = new ConcurrentLinkedQueue<>();
        Thread.currentThread().setUncaughtExceptionHandler((thread, e) -> {
            printing.add(e);
            throw new OutOfMemoryError("the uncaught exception handler, for the test");
        });
        ManualClock logClock = new ManualClock(Instant.now());
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, poolThatCannotStartTheFirst(
                BasicAuthGate.MAX_CHECKS_PER_ADDRESS), new FailedLogins("test", BasicAuthGate.FAILURES),
                logClock::nanoTime)) {
            logger.addAppender(throwing);
            assertChecksNotStartedAreAnsweredAsFailed(gate, () -> logClock.advance(RefusalLog.DEFAULT_INTERVAL));
            assertThat(printing).as("the failures the handler was given").hasSize(BasicAuthGate.MAX_CHECKS_PER_ADDRESS)
                    .allSatisfy(e -> assertThat(e).hasMessage(NO_THREAD));

            assertTheChecksPlacesWereFreed(gate);
        } finally {
            Thread.currentThread().setUncaughtExceptionHandler(handler);
            logger.detachAppender(throwing);
            throwing.stop();
        }
    }

    /**
     * {@link BasicAuthGate#MAX_CHECKS_PER_ADDRESS} checks the pool cannot start, each after {@code beforeEach}: none
     * throws out of check(), each answered as a check that failed.
     */
    private static void assertChecksNotStartedAreAnsweredAsFailed(BasicAuthGate gate, Runnable beforeEach) {
        for (int i = 0; i < BasicAuthGate.MAX_CHECKS_PER_ADDRESS; i++) {
            beforeEach.run();
            String password = "guess-" + i;
            AtomicReference<CompletableFuture<HttpVerdict>> notStarted = new AtomicReference<>();
            // Caught, not let out of the test: JUnit ends the whole run on an OutOfMemoryError
            assertThat(catchThrowable(() -> notStarted.set(pending(gate, password)))).as("thrown out of check()")
                    .isNull();
            assertThatThrownBy(() -> notStarted.get().get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage(NO_THREAD);
        }
    }

    /** The checks not started left no place taken: the same credentials and a third password are checked. */
    private static void assertTheChecksPlacesWereFreed(BasicAuthGate gate) throws Exception {
        for (String password : List.of("guess-0", "another-guess")) {
            assertThat(pending(gate, password).get(5, TimeUnit.SECONDS)).as("%s checked", password)
                    .isInstanceOfSatisfying(HttpVerdict.Answer.class, a -> assertThat(a.status()).isEqualTo(401));
        }
    }

    /** A pool that cannot start a thread for its first {@code checks} (an OutOfMemoryError from execute), then can. */
    private CheckPool poolThatCannotStartTheFirst(int checks) {
        AtomicInteger threadsNotMade = new AtomicInteger(checks);
        return checkPool(task -> threadsNotMade.getAndDecrement() > 0);
    }

    /** An appender, started, that throws an Error at each WARN logged on {@code thread}, as one out of memory would. */
    private static AppenderBase<ILoggingEvent> throwingAtWarnsOn(String thread) {
        AppenderBase<ILoggingEvent> throwing = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                if (event.getLevel() == Level.WARN && Thread.currentThread().getName().equals(thread)) {
                    throw new OutOfMemoryError(APPENDER_ERROR);
                }
            }
        };
        throwing.start();
        return throwing;
    }

    /**
     * A check answered as not started though the pool kept its task (a ThreadPoolExecutor queues the task, then throws
     * when the thread to run it cannot be started) and ran it later frees nothing when it ends: the places it had were
     * freed at the throw, and are another check's by then. Here the task, kept by the test, ends while the same
     * credentials' new check and another password's are queued: a third password is still answered 429 and the same
     * credentials still share their check. Before, its end freed the new check's credentials and one of the address's
     * places: a third password was checked (three at once from one address) and the credentials were checked twice.
     */
    @Test
    void aCheckRunAfterItWasAnsweredAsNotStartedFreesNoOtherChecksPlaces() throws Exception {
        AtomicReference<Runnable> kept = new AtomicReference<>();
        CheckPool pool = checkPool(task -> kept.compareAndSet(null, task));
        CountDownLatch busy = new CountDownLatch(1);
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, pool)) {
            AtomicReference<CompletableFuture<HttpVerdict>> notStarted = new AtomicReference<>();
            assertThat(catchThrowable(() -> notStarted.set(pending(gate, "guess-0")))).as("thrown out of check()")
                    .isNull();
            assertThatThrownBy(() -> notStarted.get().get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            occupy(pool, busy); // the checks below stay queued
            CompletableFuture<HttpVerdict> again = pending(gate, "guess-0");
            CompletableFuture<HttpVerdict> other = pending(gate, "guess-1");

            kept.get().run();

            assertThat(verdict(gate, "guess-2")).as("a third password while two are queued")
                    .isInstanceOfSatisfying(HttpVerdict.Answer.class, a -> {
                        assertThat(a.status()).isEqualTo(429);
                        assertThat(a.headers()).containsExactly(
                                Map.entry("Retry-After", Long.toString(RetryAfter.PASSWORD_CHECKS_BUSY.toSeconds())));
                    });
            CompletableFuture<HttpVerdict> sharing = pending(gate, "guess-0");
            busy.countDown();
            for (CompletableFuture<HttpVerdict> check : List.of(again, other, sharing)) {
                assertThat(check.get(5, TimeUnit.SECONDS))
                        .isInstanceOfSatisfying(HttpVerdict.Answer.class, a -> assertThat(a.status()).isEqualTo(401));
            }
            await().atMost(10, TimeUnit.SECONDS).alias("the queued tasks done")
                    .until(() -> pool.getActiveCount() == 0 && pool.getQueue().isEmpty());
            assertThat(pool.getCompletedTaskCount()).as("tasks run: the busy one, and one check per credentials")
                    .isEqualTo(3);
        } finally {
            busy.countDown();
        }
    }

    /** The gate's answer at the server's stop is the proxy's: its code, and its Retry-After. */
    private static void assertServerStopping(CompletableFuture<HttpVerdict> check) throws Exception {
        assertThat(check.get(5, TimeUnit.SECONDS)).isInstanceOfSatisfying(HttpVerdict.Answer.class, a -> {
            assertThat(a.status()).isEqualTo(503);
            assertThat(a.error()).isEqualTo(TunnelErrorCodes.SERVER_STOPPING);
            assertThat(a.headers()).containsEntry("Retry-After", Long.toString(RetryAfter.IN_A_MOMENT.toSeconds()));
        });
    }

    /**
     * A pool of one thread ({@link CheckPool}) whose {@code execute} throws an OutOfMemoryError, as when no thread
     * could be started, for the tasks {@code unableToStart} picks; what its tasks throw is checked after the test.
     */
    private CheckPool checkPool(Predicate<Runnable> unableToStart) {
        CheckPool pool = new CheckPool(unableToStart);
        pools.add(pool);
        return pool;
    }

    /**
     * Fails when a check's task threw anything but the log's Error the test made: a pool's thread, where the gate's
     * tasks run, would otherwise end with it unseen. The pools are stopped first, so every task has ended.
     */
    @AfterEach
    void nothingButTheLogsErrorWasThrownOutOfAChecksTask() throws InterruptedException {
        for (CheckPool pool : pools) {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).as("the check pool stopped").isTrue();
            assertThat(pool.thrown).as("thrown out of the checks' tasks")
                    .allSatisfy(e -> assertThat(e).hasMessage(APPENDER_ERROR));
        }
    }

    /**
     * One thread, named {@link #CHECK_THREAD}, a queue of 8; what its tasks throw (the log's Error) is kept in
     * {@link #thrown} by {@code afterExecute}, which sees it before the thread ends with it, rather than printed.
     */
    private static final class CheckPool extends ThreadPoolExecutor {
        final Queue<Throwable> thrown = new ConcurrentLinkedQueue<>();
        private final Predicate<Runnable> unableToStart;

        CheckPool(Predicate<Runnable> unableToStart) {
            super(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(8), runnable -> {
                Thread thread = new Thread(runnable, CHECK_THREAD);
                thread.setUncaughtExceptionHandler((t, e) -> {
                    // in thrown already: afterExecute kept it
                });
                return thread;
            });
            this.unableToStart = unableToStart;
        }

        @Override
        public void execute(Runnable task) {
            if (unableToStart.test(task)) {
                throw new OutOfMemoryError(NO_THREAD);
            }
            super.execute(task);
        }

        @Override
        protected void afterExecute(Runnable task, Throwable failure) {
            if (failure != null) {
                thrown.add(failure);
            }
        }
    }

    /** A pool that rejects every check, as one whose queue is full does. */
    private static ThreadPoolExecutor rejectingPool() {
        ThreadPoolExecutor full = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new SynchronousQueue<>());
        full.shutdown();
        return full;
    }

    /** Takes the pool's one thread until {@code busy} is counted down, 30 s at most, or the pool is shut down now. */
    private static void occupy(ThreadPoolExecutor pool, CountDownLatch busy) {
        pool.execute(() -> {
            try {
                busy.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Wrong passwords counted with a clock that throws on {@link #CHECK_THREAD}: a bug in every check. */
    private static FailedLogins failingFailureCount() {
        ManualClock failingOnTheCheckThread = new ManualClock(Instant.now()) {
            @Override
            public Instant instant() {
                if (Thread.currentThread().getName().equals(CHECK_THREAD)) {
                    throw new IllegalStateException("a bug in the count of wrong passwords");
                }
                return super.instant();
            }
        };
        return new FailedLogins("test", BasicAuthGate.FAILURES, failingOnTheCheckThread);
    }

    private static void assertFailedWithTheBug(CompletableFuture<HttpVerdict> check) {
        assertThatThrownBy(() -> check.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasRootCauseMessage("a bug in the count of wrong passwords");
    }

    private static CompletableFuture<HttpVerdict> pending(BasicAuthGate gate, String password) {
        HttpVerdict verdict = verdict(gate, password);
        assertThat(verdict).isInstanceOf(HttpVerdict.Pending.class);
        return ((HttpVerdict.Pending) verdict).result().toCompletableFuture();
    }

    /** The gate's verdict on alice's {@code password} from the loopback address. */
    private static HttpVerdict verdict(BasicAuthGate gate, String password) {
        String authorization = "Basic " + Base64.getEncoder()
                .encodeToString(("alice:" + password).getBytes(StandardCharsets.UTF_8));
        return gate.check(new ServiceAuth.Basic("alice", "no check runs"), "app.test", InetAddress.getLoopbackAddress(),
                authorization);
    }

    /** A Host header with a right-to-left override would show its name backwards in the log, and the text after it. */
    @Test
    void hostWithARightToLeftOverrideIsLoggedWithTheOverrideWrittenOut() throws Exception {
        ServiceAuth.Basic auth = new ServiceAuth.Basic("alice", "no check runs");
        try (BasicAuthGate gate = new BasicAuthGate(System::nanoTime, rejectingPool());
             LogCapture log = new LogCapture(BasicAuthGate.class, Level.INFO)) {
            String authorization = "Basic " + Base64.getEncoder()
                    .encodeToString("alice:guess".getBytes(StandardCharsets.UTF_8));
            HttpVerdict verdict = gate.check(auth, "app\u202Etset.test", InetAddress.getLoopbackAddress(),
                    authorization);
            ((HttpVerdict.Pending) verdict).result().toCompletableFuture().get(5, TimeUnit.SECONDS);

            assertThat(log.messages(Level.WARN)).singleElement(as(STRING))
                    .endsWith("refusing a sign-in to app\\u202etset.test")
                    .doesNotContain("\u202E");
        }
    }
}
