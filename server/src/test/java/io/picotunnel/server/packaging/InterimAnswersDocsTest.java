package io.picotunnel.server.packaging;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.proxy.http.HttpProxy;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/http-proxy.md gives how far a target's interim answers stretch the wait for its final answer as
 * {@link HttpProxy#INTERIM_WAIT_TIMEOUTS} times --proxy-timeout, so that a new value cannot leave it saying the old.
 */
class InterimAnswersDocsTest {

    @Test
    void theHttpProxyDocSaysHowLongInterimAnswersCanStretchTheWaitForTheFinalAnswer() throws IOException {
        String doc = Files.readString(DeploymentFilesTest.ROOT.resolve("docs/http-proxy.md")).replaceAll("\\s+", " ");
        Duration atDefault = Durations.parse(Setting.PROXY_TIMEOUT.declaration().defaultValue())
                .multipliedBy(HttpProxy.INTERIM_WAIT_TIMEOUTS);

        assertThat(doc).contains("but no later than " + HttpProxy.INTERIM_WAIT_TIMEOUTS + " times `--proxy-timeout`"
                        + " after the request went whole (" + Durations.format(atDefault) + " at the default)")
                .contains("(or after the last interim answer such as `102 Processing`, up to "
                        + HttpProxy.INTERIM_WAIT_TIMEOUTS + " times `--proxy-timeout` after the request)");
    }
}
