package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
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

    @Test
    void aStoppedAppHandsOutNoPort() {
        LoopbackApp app = new LoopbackApp(() -> PostOnlyApp.start(ctx -> ctx.result("ok")));
        app.beforeEach(null);
        assertThat(app.port()).isPositive();

        app.afterEach(null);

        assertThatThrownBy(app::port).isInstanceOf(IllegalStateException.class).hasMessageContaining("no app is running");
    }

    @Test
    void aStartThatFailsAfterAnEarlierTestHandsOutNotTheEarlierAppsPort() {
        int[] starts = {0};
        LoopbackApp app = new LoopbackApp(() -> {
            if (starts[0]++ > 0) {
                throw new IllegalStateException("Port 1 already in use");
            }
            return PostOnlyApp.start(ctx -> ctx.result("ok"));
        });
        app.beforeEach(null);
        app.afterEach(null);

        assertThatThrownBy(() -> app.beforeEach(null)).hasMessage("Port 1 already in use");

        assertThatThrownBy(app::port).isInstanceOf(IllegalStateException.class).hasMessageContaining("no app is running");
        assertThatCode(() -> app.afterEach(null)).doesNotThrowAnyException();
    }
}
