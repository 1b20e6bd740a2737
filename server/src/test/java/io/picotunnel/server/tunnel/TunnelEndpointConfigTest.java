package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.yamux.YamuxConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TunnelEndpointConfigTest {

    @Test
    void webSocketMessageLimitFollowsTheLargestWindowAPeerMayFillInOneWrite() {
        assertThat(TunnelEndpointConfig.of(YamuxConfig.defaults().withMaxStreamWindow(64 << 20)).maxFramePayload())
                .isEqualTo((64 << 20) + 12);
        assertThat(TunnelEndpointConfig.defaults().maxFramePayload()).isEqualTo((16 << 20) + 12);
        assertThat(TunnelEndpointConfig.of(YamuxConfig.defaults().withMaxStreamWindow(256 << 10)).maxFramePayload())
                .as("never below the 1 MiB accepted before windows grew").isEqualTo(1 << 20);
    }
}
