package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class WebhooksTest {

    @Test
    void messageRefusedWithA503IsDeliveredOnALaterAttemptAndMessagesKeepTheirOrder() {
        try (WebhookReceiver receiver = new WebhookReceiver(2);
             WebhookReceiver second = new WebhookReceiver(0);
             Webhooks webhooks = new Webhooks(List.of(URI.create(receiver.url()), URI.create(second.url())))) {
            webhooks.send("first", JsonNodeFactory.instance.objectNode().put("n", 1));
            webhooks.send("second", JsonNodeFactory.instance.objectNode().put("n", 2));

            await().atMost(20, TimeUnit.SECONDS).until(() -> receiver.messages().size() == 2 && second.messages().size() == 2);
            assertThat(receiver.requests()).isEqualTo(4);
            // The first message was refused twice; the second waited for it.
            assertThat(receiver.messages()).extracting(m -> m.get("text").asText()).containsExactly("first", "second");
            assertThat(second.messages()).extracting(m -> m.get("content").asText()).containsExactly("first", "second");
            assertThat(receiver.messages().getFirst().get("n").asInt()).isEqualTo(1);
        }
    }
}
