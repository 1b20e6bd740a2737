package io.picotunnel.server.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The tunnel endpoint's TLS close waits for its close_notify as long as the HTTPS listener's, by our setting. */
class TunnelEndpointCloseNotifyTimeoutTest {

    @Test
    void theEndpointsTlsWaitsForItsCloseNotifyAsLongAsTheHttpsListeners() throws Exception {
        TestCertificates.Issued issued = new TestCertificates().issue("tunnel.test");
        TunnelEndpointTls tls = new TunnelEndpointTls(new CertificateStore(), "tunnel.test", false);
        TunnelEndpointTls.EndpointSniHandler sni = (TunnelEndpointTls.EndpointSniHandler) tls.newHandler();

        SslHandler handler = sni.newSslHandler(
                TlsContexts.forTunnelEndpoint(issued.keyPair().getPrivate(), issued.chain()), ByteBufAllocator.DEFAULT);
        try {
            assertThat(handler.getCloseNotifyFlushTimeoutMillis())
                    .isEqualTo(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT.toMillis());
        } finally {
            ReferenceCountUtil.release(handler.engine());
        }
    }
}
