package io.picotunnel.server.e2e;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * PROXY protocol version 2 headers as a front proxy writes them before a visitor's bytes (haproxy's
 * doc/proxy-protocol.txt, section 2.2), for {@link Visitor#getBehind}.
 */
final class ProxyV2 {

    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyV2() {
    }

    /** PROXY over TCP/IPv4 from {@code source}:40000 to 127.0.0.1:80, then {@code tlvs}. */
    static byte[] tcp4(byte[] source, byte[]... tlvs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(source);
        body.writeBytes(new byte[] {127, 0, 0, 1, (byte) (40000 >> 8), (byte) 40000, 0, 80});
        for (byte[] tlv : tlvs) {
            body.writeBytes(tlv);
        }
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.writeBytes(SIGNATURE);
        header.write(0x21);
        header.write(0x11);
        header.write(body.size() >> 8);
        header.write(body.size());
        header.writeBytes(body.toByteArray());
        return header.toByteArray();
    }

    /**
     * The SSL TLV (PP2_TYPE_SSL) of HAProxy's {@code send-proxy-v2-ssl}: {@code client} with PP2_CLIENT_SSL (0x01)
     * when the visitor used TLS, and PP2_CLIENT_CERT_CONN (0x02) too here, a {@code verify} of 0 (a certificate that
     * verified), and the TLS version as a sub-TLV (PP2_SUBTYPE_SSL_VERSION).
     */
    static byte[] ssl(boolean clientSsl) {
        byte[] version = "TLSv1.3".getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        value.write(clientSsl ? 0x03 : 0x02);
        value.writeBytes(new byte[4]);
        value.write(0x21);
        value.write(0);
        value.write(version.length);
        value.writeBytes(version);
        return tlv(0x20, value.toByteArray());
    }

    /** The ALPN TLV (PP2_TYPE_ALPN) of what the visitor chose at the proxy. */
    static byte[] alpn(String protocol) {
        return tlv(0x01, protocol.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] tlv(int type, byte[] value) {
        ByteArrayOutputStream tlv = new ByteArrayOutputStream();
        tlv.write(type);
        tlv.write(value.length >> 8);
        tlv.write(value.length);
        tlv.writeBytes(value);
        return tlv.toByteArray();
    }
}
