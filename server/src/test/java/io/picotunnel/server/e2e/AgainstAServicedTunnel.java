package io.picotunnel.server.e2e;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/**
 * The fixture of end-to-end tests of a real server with a {@link ServicedTunnel}: the test starts both
 * ({@link #startTestbed}), and they are closed after it, the server first.
 */
abstract class AgainstAServicedTunnel {

    @TempDir
    Path dataDir;

    protected Testbed testbed;
    protected ServicedTunnel tunnel;

    /** A server with {@code settings} and a tunnel {@code name} whose HTTP service is for {@code host}; no client. */
    protected void startTestbed(Map<Setting, String> settings, String name, String host) {
        testbed = new Testbed(dataDir, settings);
        tunnel = new ServicedTunnel(testbed, name, host);
    }

    @AfterEach
    void closeTestbedAndTunnel() {
        try {
            if (testbed != null) {
                testbed.close();
            }
        } finally {
            if (tunnel != null) {
                tunnel.close();
            }
        }
    }
}
