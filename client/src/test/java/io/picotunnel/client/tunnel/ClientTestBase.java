package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.AfterEach;

import java.time.Duration;

/** A test that starts one {@link TunnelClient} in {@link #client} and has it stopped after each test. */
abstract class ClientTestBase {

    TunnelClient client;

    @AfterEach
    void stopClient() {
        if (client != null) {
            client.stop(Duration.ZERO).join();
        }
    }
}
