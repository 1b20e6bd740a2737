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
        if (app != null) {
            app.stop();
        }
    }

    public int port() {
        return app.port();
    }
}
