package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.net.SendWatch;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/http-proxy.md gives the send timeout's granularity as {@link SendWatch#CHECK}, how often a pending write is
 * looked at, so that a new value cannot leave it saying the old one, nor a reader expect the reset on the dot.
 */
class SendTimeoutDocsTest {

    private static final String CHECK = Durations.format(SendWatch.CHECK);

    @Test
    void theHttpProxyDocSaysHowLateTheSendTimeoutsResetMayCome() throws IOException {
        String doc = Files.readString(DeploymentFilesTest.ROOT.resolve("docs/http-proxy.md")).replaceAll("\\s+", " ");

        assertThat(doc).contains("Progress is looked at every " + CHECK + " while a write to the visitor is pending")
                .contains("so the visitor is reset between `--send-timeout` and `--send-timeout` plus " + CHECK
                        + " after it last took anything");
    }
}
