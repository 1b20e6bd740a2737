package io.picotunnel.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.picotunnel.testkit.ClientHellos;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientHelloTest {

    @Test
    void readsServerNameAndAlpnFromARealClientHello() throws Exception {
        ClientHello hello = ClientHello.parse(clientHelloBody("App.Example.test", "h2", "http/1.1"));

        assertThat(hello.serverName()).isEqualTo("App.Example.test");
        assertThat(hello.alpnProtocols()).containsExactly("h2", "http/1.1");
    }

    @Test
    void clientHelloWithoutSniOrAlpnHasNeither() throws Exception {
        ClientHello hello = ClientHello.parse(clientHelloBody(null));

        assertThat(hello.serverName()).isNull();
        assertThat(hello.alpnProtocols()).isEmpty();
    }

    @Test
    void truncatedOrCorruptedClientHelloIsRejectedWithoutReadingOutOfBounds() throws Exception {
        byte[] body = new byte[clientHelloBody("a.test", "h2").readableBytes()];
        clientHelloBody("a.test", "h2").readBytes(body);
        for (int length = 0; length < body.length; length++) {
            ByteBuf truncated = Unpooled.wrappedBuffer(body, 0, length);
            try {
                ClientHello.parse(truncated);
            } catch (IllegalArgumentException expected) {
                // a clear refusal is what we want
            }
        }
        Random random = new Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] corrupted = body.clone();
            corrupted[random.nextInt(corrupted.length)] = (byte) random.nextInt(256);
            try {
                ClientHello.parse(Unpooled.wrappedBuffer(corrupted));
            } catch (IllegalArgumentException expected) {
                // a clear refusal is what we want
            }
        }
        assertThatThrownBy(() -> ClientHello.parse(Unpooled.wrappedBuffer(body, 0, 10)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The ClientHello body (after the record and handshake headers) that the JDK's TLS client sends. */
    private static ByteBuf clientHelloBody(String serverName, String... alpn) {
        ByteBuf record = Unpooled.wrappedBuffer(ClientHellos.record(serverName, alpn));
        record.skipBytes(5 + 4); // record header, handshake header
        return record;
    }
}
