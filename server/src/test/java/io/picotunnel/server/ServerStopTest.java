package io.picotunnel.server;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** A draining stop whose steps fail still runs every step, then says what failed. */
class ServerStopTest {

    @TempDir
    Path dataDir;

    private PicoTunnelServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.stop();
        }
    }

    /**
     * The event loops are gone before the drain (as when one of them died): closing the HTTP listener fails, and the
     * steps after it (the API, the store and its data directory's lock) must still be stopped before the failure is
     * thrown to the caller, which then exits with the stop's failure code.
     */
    @Test
    void aDrainStepThatFailsDoesNotKeepTheLaterStepsFromRunningAndItsFailureIsThrownAfterThem() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir), new PrintStream(OutputStream.nullOutputStream()));
        int apiPort = server.apiPort();
        assertThat(server.eventLoops().shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS))
                .as("the event loops shut down").isTrue();

        Throwable thrown;
        try (LogCapture log = new LogCapture(PicoTunnelServer.class, Level.ERROR)) {
            thrown = catchThrowable(() -> server.stop(Duration.ofSeconds(5)));

            assertThat(Ports.refuses(apiPort)).as("the management API stopped").isTrue();
            assertThat(thrown).as("the first failure").isNotNull();
            assertThat(log.messages(Level.ERROR)).as("the failed steps, named").isNotEmpty()
                    .first().isEqualTo("Stopping: closing the HTTP listener failed");
            assertThat(log.events().getFirst().getThrowableProxy().getMessage()).isEqualTo(thrown.getMessage());
        }
        server = null;
        PicoTunnelServer again = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir),
                new PrintStream(OutputStream.nullOutputStream()));
        again.stop();
    }

    /**
     * A listener whose close fails in the drain is not closed again by the stop's last steps: one failure, one ERROR
     * line, named as the drain names it (the HTTP listener's was logged again as "closing HttpListener").
     */
    @Test
    void aListenerWhoseCloseFailsInTheDrainIsOneErrorLine() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir), new PrintStream(OutputStream.nullOutputStream()));
        assertThat(server.eventLoops().shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS))
                .as("the event loops shut down").isTrue();

        try (LogCapture log = new LogCapture(PicoTunnelServer.class, Level.ERROR)) {
            catchThrowable(() -> server.stop(Duration.ofSeconds(5)));

            assertThat(log.messages(Level.ERROR)).filteredOn(line -> line.toLowerCase(Locale.ROOT).contains("listener"))
                    .containsExactly("Stopping: closing the HTTP listener failed",
                            "Stopping: closing the HTTPS listener failed");
        }
    }
}
