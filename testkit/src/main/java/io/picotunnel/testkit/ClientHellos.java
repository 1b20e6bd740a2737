package io.picotunnel.testkit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.List;

/** A real TLS ClientHello, as a browser's first bytes, made by the JDK's TLS client. */
public final class ClientHellos {

    private ClientHellos() {
    }

    /**
     * The whole first record (record header, handshake header, ClientHello) naming {@code serverName} in its SNI
     * extension (none when null) and offering the {@code alpn} protocols.
     */
    public static byte[] record(String serverName, String... alpn) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, null, null);
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(true);
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setServerNames(serverName == null ? List.of() : List.of(new SNIHostName(serverName)));
            parameters.setApplicationProtocols(alpn);
            engine.setSSLParameters(parameters);
            ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.beginHandshake();
            engine.wrap(ByteBuffer.allocate(0), out);
            out.flip();
            return Arrays.copyOf(out.array(), out.limit());
        } catch (GeneralSecurityException | SSLException e) {
            throw new IllegalStateException("the JDK made no ClientHello", e);
        }
    }
}
