package io.picotunnel.server;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.StopSignals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * SIGTERM or SIGINT stops the server (draining for the grace period) and ends the process with 0: a stop asked for
 * this way is the normal end of a service, so a service manager (systemd, Docker, Kubernetes) records a clean stop,
 * not the signal's 143 or 130. Installed before the server starts: without it, a signal during the start ended the
 * JVM with 143 and no log line. Such a stop waits for the start, then stops what it started, all within {@link
 * #startWait(Duration, Duration)}: a start that hangs (slow storage, a hung migration) must not make the process
 * unstoppable but by SIGKILL, so it ends with {@link ServerMain#EXIT_STOP_FAILED} once that wait is over. A second
 * signal resets the open streams at once, or during the start ends the process at once, unless it came within {@link
 * StopSignals#SAME_REQUEST} of the first.
 */
final class SignalStop {

    private static final Logger log = LoggerFactory.getLogger(SignalStop.class);

    /**
     * How long a stop waits at least for a start under way. Not the grace alone: a grace of 0 means resetting the open
     * streams at once, and a start takes its time whatever the grace (the data directory, the store's migrations,
     * certificates), so a short grace failed every stop that came during the start. 30 s is the default grace, and
     * Kubernetes' terminationGracePeriodSeconds.
     */
    static final Duration MIN_START_WAIT = Duration.ofSeconds(30);

    private final CompletableFuture<PicoTunnelServer> start = new CompletableFuture<>();
    private final Duration grace;
    private final Duration startWait;
    private final Optional<SqliteTempDirectory> sqliteTemp;

    private SignalStop(Duration grace, Duration minStartWait) {
        this.grace = grace;
        this.startWait = startWait(grace, minStartWait);
        this.sqliteTemp = SqliteTempDirectory.create();
    }

    /**
     * Handles SIGTERM and SIGINT from now on, stopping within {@code grace} (the server's shutdown grace), and waiting
     * for a start under way at least {@code minStartWait} ({@link #MIN_START_WAIT} in the server's process); tell it
     * {@link #started} or {@link #notStarted} in every case. Before the start, as it gives sqlite-jdbc a {@link
     * SqliteTempDirectory} of this process's own, which the hook deletes as it halts; throws {@link
     * IllegalStateException}, the directory deleted, when the JVM is already exiting.
     */
    static SignalStop install(Duration grace, Duration minStartWait) {
        SignalStop stop = new SignalStop(grace, minStartWait);
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(stop::stopAndHalt, "picotunnel-shutdown"));
        } catch (IllegalStateException e) {
            // The JVM is already exiting (a signal before this was set up): no hook of ours deletes it then.
            stop.sqliteTemp.ifPresent(SqliteTempDirectory::deleteQuietly);
            throw e;
        }
        StopSignals.install(stop::resetOpenStreams, log);
        return stop;
    }

    void started(PicoTunnelServer server) {
        start.complete(server);
    }

    /** There is no server to stop: the process ends with {@code code}, also when a signal came during the start. */
    void notStarted(int code) {
        start.completeExceptionally(new NotStarted(code));
    }

    /** Blocks until the process ends: the stop ends it through the JVM's shutdown. */
    void awaitStop() {
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A second signal's one line: what it does now depends on whether the server has started. */
    private void resetOpenStreams() {
        if (!start.isDone()) {
            log.warn("Second signal while the server is starting: exiting now, without waiting for the start");
            halt(0);
        } else if (!start.isCompletedExceptionally()) {
            log.warn(StopSignals.CUT_SHORT);
            start.join().stopNow();
        }
    }

    /** How long a stop waits for a start under way: the grace, or {@code minStartWait} when that is longer. */
    static Duration startWait(Duration grace, Duration minStartWait) {
        return grace.compareTo(minStartWait) > 0 ? grace : minStartWait;
    }

    /**
     * The JVM's shutdown hook, whatever began the exit (SIGTERM or SIGINT, {@link ServerMain}'s exit with a failed
     * start's code, a SIGHUP the JVM handles itself): stops the server, then deletes sqlite-jdbc's directory and halts
     * with the stop's code, 0 once stopped, the failed start's, or {@link ServerMain#EXIT_STOP_FAILED}. Halting, as
     * the JVM would otherwise end with its exit's code once the hooks are done: {@link StopSignals}' 0 where the stop
     * failed, a SIGHUP's 129, a SIGTERM's 143 when it came before {@link StopSignals} handled it.
     */
    private void stopAndHalt() {
        long signalled = System.nanoTime();
        boolean starting = !start.isDone();
        if (starting) {
            log.info("Shutdown requested while the server is starting: it stops once started (waiting up to {})",
                    Durations.format(startWait));
        }
        int code = ServerMain.EXIT_STOP_FAILED;
        try {
            PicoTunnelServer server = start.get(startWait.toNanos(), TimeUnit.NANOSECONDS);
            log.info("Shutdown requested: taking no new visitors or tunnel clients");
            // The grace counts from the signal: a start that took part of it leaves the rest to the drain, none once
            // it is over (streams opened in the meantime are reset at once), so the stop stays within the start wait.
            long graceLeft = Math.max(0, grace.toNanos() - (System.nanoTime() - signalled));
            server.stop(starting ? Duration.ofNanos(graceLeft) : grace);
            log.info("Stopped");
            code = 0;
        } catch (TimeoutException e) {
            log.error("Shutdown requested while the server is starting: the start did not finish within {}; exiting",
                    Durations.format(startWait));
        } catch (ExecutionException e) {
            // The start failed and said why, or never began (a wrong setting, --help): its exit code stands.
            code = e.getCause() instanceof NotStarted notStarted ? notStarted.code : code;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            System.err.println("The server did not stop cleanly: " + e);
        } finally {
            halt(code);
        }
    }

    /** Halts, deleting sqlite-jdbc's directory first: halting skips the JVM's deletes on exit, sqlite-jdbc's too. */
    private void halt(int code) {
        sqliteTemp.ifPresent(SqliteTempDirectory::deleteQuietly);
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    private static final class NotStarted extends RuntimeException {
        private final int code;

        NotStarted(int code) {
            super(null, null, false, false);
            this.code = code;
        }
    }
}
