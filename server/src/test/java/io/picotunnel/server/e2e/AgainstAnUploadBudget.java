package io.picotunnel.server.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixture of the HTTP/2 upload budget's end-to-end tests: before each test, a tunnel with a budget for held uploads
 * ({@link HttpsHostTunnel#withUploadBudget}) leading {@link #HOST} to a {@link StallingUploadTarget}; after it, the
 * test's visitors closed, then the tunnel.
 */
abstract class AgainstAnUploadBudget {

    static final String HOST = "uploads.test";

    @TempDir
    Path dataDir;

    protected StallingUploadTarget target;
    protected HttpsHostTunnel tunnel;
    private final long budget;
    private final List<RawHttp2Visitor> visitors = new ArrayList<>();

    protected AgainstAnUploadBudget(long budget) {
        this.budget = budget;
    }

    @BeforeEach
    void startTunnel() throws IOException {
        target = new StallingUploadTarget();
        tunnel = HttpsHostTunnel.withUploadBudget(dataDir, budget, HOST, target);
    }

    /** A visitor connected to the host, closed after the test. */
    protected RawHttp2Visitor visitor() throws IOException {
        RawHttp2Visitor visitor = tunnel.visitor();
        visitors.add(visitor);
        return visitor;
    }

    /**
     * Closes the test's visitors so far, all of them though one fails (an IOException or any other exception); the
     * first failure thrown, the others in it.
     */
    protected void closeVisitors() throws IOException {
        CloseAll.closeAll(visitors);
    }

    @AfterEach
    void closeVisitorsAndTunnel() throws IOException {
        try {
            closeVisitors();
        } finally {
            if (tunnel != null) {
                tunnel.close();
            }
        }
    }
}
