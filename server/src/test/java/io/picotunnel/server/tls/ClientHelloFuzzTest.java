package io.picotunnel.server.tls;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the ClientHello/SNI parser the HTTPS front door routes by: any bytes either parse or are refused
 * with {@link IllegalArgumentException}, and nothing outside the buffer is read. {@code make test} runs the saved
 * inputs; {@code make fuzz} fuzzes.
 */
class ClientHelloFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void clientHello(byte[] input) {
        ByteBuf body = Unpooled.wrappedBuffer(input);
        try {
            ClientHello hello = ClientHello.parse(body.slice());
            assertThat(hello.alpnProtocols()).isNotNull().doesNotContainNull();
            if (hello.serverName() != null) {
                assertThat(hello.serverName().length()).isLessThanOrEqualTo(input.length);
            }
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank();
        } finally {
            body.release();
        }
    }
}
