package io.picotunnel.server.access;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxyProtocolHandlerTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static ByteBuf v2(int versionCommand, int family, byte[] body) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        buf.writeByte(versionCommand).writeByte(family).writeShort(body.length).writeBytes(body);
        return buf;
    }

    @Test
    void versionOneNamesTheSourceAndLeavesWhatFollows() throws Exception {
        ByteBuf in = text("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nGET /");
        InetSocketAddress source = ProxyProtocolHandler.parse(in);

        assertThat(source.getAddress()).isEqualTo(InetAddress.getByName("2001:db8::7"));
        assertThat(source.getPort()).isEqualTo(40000);
        assertThat(in.toString(StandardCharsets.US_ASCII)).isEqualTo("GET /");
    }

    @Test
    void anIncompleteHeaderWaitsForMoreBytes() {
        assertThat(ProxyProtocolHandler.parse(text("PROXY TCP4 192.0.2.1 1"))).isNull();
        assertThat(ProxyProtocolHandler.parse(v2(0x21, 0x11, new byte[12]).capacity(20).writerIndex(20))).isNull();
    }

    @Test
    void versionTwoIpv6AndLocalAreRead() throws Exception {
        byte[] body = new byte[36];
        byte[] source = InetAddress.getByName("2001:db8::9").getAddress();
        System.arraycopy(source, 0, body, 0, 16);
        body[32] = (byte) 0x9c;
        body[33] = 0x40;
        InetSocketAddress proxied = ProxyProtocolHandler.parse(v2(0x21, 0x21, body));
        assertThat(proxied.getAddress()).isEqualTo(InetAddress.getByName("2001:db8::9"));
        assertThat(proxied.getPort()).isEqualTo(40000);

        assertThat(ProxyProtocolHandler.parse(v2(0x20, 0x00, new byte[0])).getAddress()).isNull();
        assertThat(ProxyProtocolHandler.parse(text("PROXY UNKNOWN\r\n")).getAddress()).isNull();
    }

    @Test
    void anythingElseIsRefused() {
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("GET / HTTP/1.1\r\n"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n")))
                .hasMessageContaining("not an address of TCP4");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP4 example.com 192.0.2.1 1 2\r\n")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY " + "x".repeat(120))))
                .hasMessageContaining("longer than");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(v2(0x31, 0x11, new byte[12]))).hasMessageContaining("version");
    }
}
