package io.picotunnel.server.net;

import io.javalin.Javalin;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.function.Supplier;

/**
 * A loopback app of a test class, started before each test and stopped after it:
 * {@code @RegisterExtension final LoopbackApp app = new LoopbackApp(() -> PostOnlyApp.start(handler));}.
 */
public final class LoopbackApp implements BeforeEachCallback, AfterEachCallback {

    private final Supplier<Javalin> start;
    private Javalin app;

    public LoopbackApp(Supplier<Javalin> start) {
        this.start = start;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        app = start.get();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        // Null when the start failed: the test then fails with the start's own error, not one from here.
        Javalin running = app;
        app = null; // also when stop fails: no later call gets a stopped app's port
        if (running != null) {
            running.stop();
        }
    }

    /** The running app's port; refused outside a test, and after a start that failed. */
    public int port() {
        if (app == null) {
            throw new IllegalStateException("no app is running: the port is known only during a test whose app started");
        }
        return app.port();
    }
}
