package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.LoopbackApp;
import io.picotunnel.server.net.StillSendingBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Only a body that came too slowly ({@link LimitedBody.TooSlow#answered}) is left undropped after its answer: an answer
 * that ends its connection for a reason of its own ({@code Connection: close}) still has the rest of its body dropped
 * first, so that the client still sending reads it instead of a reset.
 */
class UnreadBodyClosingAnswerTest {

    private static final int BODY = 512 * 1024;

    @RegisterExtension
    final LoopbackApp app = new LoopbackApp(() -> DrainedApp.start(LimitedBody.DROP_TIME,
            ctx -> ctx.header("Connection", "close").status(401).result("sign in first")));

    @Test
    void anAnswerClosingItsConnectionReachesTheClientStillSendingItsBody() throws IOException {
        String answer = StillSendingBody.sendTo(app.port(),
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + BODY + "\r\n\r\n", BODY);

        assertThat(answer).startsWith("HTTP/1.1 401 ").contains("sign in first");
    }
}
