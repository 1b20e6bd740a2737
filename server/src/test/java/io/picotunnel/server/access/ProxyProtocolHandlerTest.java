package io.picotunnel.server.access;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

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
        InetSocketAddress source = ProxyProtocolHandler.parse(in).visitor();

        assertThat(source.getAddress()).isEqualTo(InetAddress.getByName("2001:db8::7"));
        assertThat(source.getPort()).isEqualTo(40000);
        assertThat(in.toString(StandardCharsets.US_ASCII)).isEqualTo("GET /");
    }

    /** HAProxy on "bind :::80 v4v6" (and nginx on "listen [::]:80") names an IPv4 visitor in IPv6 notation. */
    @Test
    void versionOneTcp6NamesAnIpv4VisitorAsAnIpv4MappedAddress() throws Exception {
        InetSocketAddress source = ProxyProtocolHandler.parse(
                text("PROXY TCP6 ::ffff:192.0.2.7 ::ffff:10.0.0.1 40000 443\r\n")).visitor();

        assertThat(source.getAddress()).isEqualTo(InetAddress.getByName("192.0.2.7"));
        assertThat(source.getPort()).isEqualTo(40000);
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP6 192.0.2.7 10.0.0.1 1 2\r\n")))
                .hasMessageContaining("not an address of TCP6");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP4 ::ffff:192.0.2.7 10.0.0.1 1 2\r\n")))
                .hasMessageContaining("not an address of TCP4");
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
        InetSocketAddress proxied = ProxyProtocolHandler.parse(v2(0x21, 0x21, body)).visitor();
        assertThat(proxied.getAddress()).isEqualTo(InetAddress.getByName("2001:db8::9"));
        assertThat(proxied.getPort()).isEqualTo(40000);

        assertThat(ProxyProtocolHandler.parse(v2(0x20, 0x00, new byte[0])).visitor()).isNull();
        assertThat(ProxyProtocolHandler.parse(text("PROXY UNKNOWN\r\n")).visitor()).isNull();
    }

    /** An IPv4 address block from 192.0.2.9:40000, then {@code tlvs}. */
    private static byte[] ipv4With(byte[]... tlvs) {
        ByteBuf body = Unpooled.buffer();
        body.writeBytes(new byte[] {(byte) 192, 0, 2, 9, 127, 0, 0, 1}).writeShort(40000).writeShort(80);
        for (byte[] tlv : tlvs) {
            body.writeBytes(tlv);
        }
        return Arrays.copyOf(body.array(), body.writerIndex());
    }

    private static byte[] tlv(int type, byte... value) {
        byte[] tlv = new byte[3 + value.length];
        tlv[0] = (byte) type;
        tlv[1] = (byte) (value.length >> 8);
        tlv[2] = (byte) value.length;
        System.arraycopy(value, 0, tlv, 3, value.length);
        return tlv;
    }

    /** HAProxy's send-proxy-v2-ssl: client (PP2_CLIENT_SSL and more), verify 0, and the TLS version as a sub-TLV. */
    private static byte[] ssl(int client) {
        byte[] value = {(byte) client, 0, 0, 0, 0, 0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.', '3'};
        return tlv(0x20, value);
    }

    @Test
    void anSslTlvWithPp2ClientSslSaysTheVisitorUsedTls() throws Exception {
        ProxyProtocolHandler.Header tls = ProxyProtocolHandler.parse(v2(0x21, 0x11,
                ipv4With(tlv(0x04), ssl(0x01 | 0x02 | 0x04), tlv(0x03, (byte) 1, (byte) 2, (byte) 3, (byte) 4))));
        assertThat(tls.visitorTls()).isTrue();
        assertThat(tls.visitor().getAddress()).isEqualTo(InetAddress.getByName("192.0.2.9"));

        assertThat(ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With())).visitorTls()).isFalse();
        assertThat(ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With(ssl(0x02 | 0x04)))).visitorTls()).isFalse();
        assertThat(ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With(tlv(0x04), tlv(0x01, (byte) 'h', (byte) '2'))))
                .visitorTls()).isFalse();
        // UNSPEC: no address block, the TLVs come first; LOCAL: the proxy's own connection, whose TLVs are discarded
        ProxyProtocolHandler.Header unspec = ProxyProtocolHandler.parse(v2(0x21, 0x00, ssl(0x01)));
        assertThat(unspec.visitor()).isNull();
        assertThat(unspec.visitorTls()).isTrue();
        assertThat(ProxyProtocolHandler.parse(v2(0x20, 0x11, ipv4With(ssl(0x01)))).visitorTls()).isFalse();
        // version 1 has no TLVs
        assertThat(ProxyProtocolHandler.parse(text("PROXY TCP4 192.0.2.9 127.0.0.1 40000 80\r\n")).visitorTls()).isFalse();
    }

    @Test
    void aTlvThatRunsPastTheHeaderIsRefusedAndWhatFollowsIsNotReadAsOne() {
        byte[] cut = ipv4With(ssl(0x01));
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(v2(0x21, 0x11, Arrays.copyOf(cut, cut.length - 1))))
                .hasMessageContaining("runs past the header's end");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With(new byte[] {0x20, 0}))))
                .hasMessageContaining("cut short");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With(tlv(0x20, (byte) 1, (byte) 0)))))
                .hasMessageContaining("shorter than its client and verify fields");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(v2(0x21, 0x11, ipv4With(tlv(0x20)))))
                .hasMessageContaining("shorter than");

        // The header's length ends the TLVs: an SSL TLV in the bytes after it is the request's, not the header's.
        ByteBuf in = v2(0x21, 0x11, ipv4With()).writeBytes(ssl(0x01));
        assertThat(ProxyProtocolHandler.parse(in).visitorTls()).isFalse();
        assertThat(in.readableBytes()).isEqualTo(ssl(0x01).length);
    }

    /** A trusted proxy's refused header is logged with its message: what it repeats from the line is written out. */
    @Test
    void aControlCharacterInARefusedVersionOneAddressOrPortIsWrittenOut() {
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP4 192.0.2.\u001b[31m7 192.0.2.1 1 2\r\n")))
                .hasMessage("'192.0.2.\\u001b[31m7' is not an address of TCP4");
        assertThatThrownBy(() -> ProxyProtocolHandler.parse(text("PROXY TCP4 192.0.2.7 192.0.2.1 4\u00070 2\r\n")))
                .hasMessage("'4\\u00070' is not a port");
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
