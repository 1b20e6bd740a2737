package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoopbackAppTest {

    @Test
    void anAppThatFailedToStartLeavesItsErrorAloneAfterTheTest() {
        LoopbackApp app = new LoopbackApp(() -> {
            throw new IllegalStateException("Port 1 already in use");
        });

        assertThatThrownBy(() -> app.beforeEach(null)).hasMessage("Port 1 already in use");
        assertThatCode(() -> app.afterEach(null)).doesNotThrowAnyException();
    }
}
