package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.StreamOpenException;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream that could not be opened never reached the tunnel's client, let alone the target: its page never says
 * to check that the service is running (target_unreachable).
 */
class StreamOpenFailureTest {

    private static final String HOST = "open.test";

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "open-failure-test");

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The session closed (or going away) as the stream opened, its connection not yet seen closed: no client took it. */
    @Test
    void aSessionClosedAsTheStreamOpensGets502TunnelOffline() throws Exception {
        RawHttp.Response answer = answerWhenTheOpenFailsWith(new StreamOpenException("the yamux session is closed"));

        assertThat(answer.status()).isEqualTo(502);
        assertThat(answer.text()).contains("\"error\":\"tunnel_offline\"");
    }

    @Test
    void anOpenFailingForAnUnknownReasonGets502TunnelErrorAndAWarningWithTheCause() throws Exception {
        try (LogCapture log = new LogCapture(Exchange.class, Level.WARN)) {
            RawHttp.Response answer = answerWhenTheOpenFailsWith(new IllegalStateException("handler setup failed"));

            assertThat(answer.status()).isEqualTo(502);
            assertThat(answer.text()).contains("\"error\":\"tunnel_error\"").contains("did not reach the app")
                    .doesNotContain("service is running");
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .isEqualTo("service s1: no stream to the tunnel's client (java.lang.IllegalStateException: handler"
                            + " setup failed); GET " + HOST + " from 127.0.0.1 is answered 502 tunnel_error");
        }
    }

    private RawHttp.Response answerWhenTheOpenFailsWith(Throwable cause) throws Exception {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, HOST, "/", TlsMode.TERMINATE,
                null, "127.0.0.1:9", true, Instant.now()));
        HttpProxy proxy = HttpProxy.builder().routes(routes)
                .opener((service, handler) -> ImmediateEventExecutor.INSTANCE.newFailedFuture(cause))
                .build();
        try (HttpListener listener = HttpListener.bind(new InetSocketAddress("127.0.0.1", 0), group, proxy);
             RawHttp http = new RawHttp(listener.port())) {
            http.send("GET / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\n\r\n");
            return http.read();
        }
    }
}
