package io.picotunnel.server.proxy.http;

import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** ACME HTTP-01 is answered by the proxy itself on plain HTTP, before routing and before any redirect. */
class AcmeChallengeAnswerTest {

    /**
     * A proxy that answers the challenge {@code tok123} ({@code tok123.keyauth}) and redirects {@code secure.test} to
     * https on 8443; no request of it goes upstream.
     */
    static HttpProxy proxy() {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "secure.test", "/", TlsMode.TERMINATE,
                null, "127.0.0.1:9", true, Instant.now(), true));
        return HttpProxy.builder().routes(routes)
                .opener((service, handler) -> {
                    throw new AssertionError("no request here goes upstream");
                })
                .httpsPort(8443)
                .acmeChallenges(token -> token.equals("tok123") ? Optional.of("tok123.keyauth") : Optional.empty())
                .build();
    }

    @Test
    void challengeIsAnsweredEvenForARedirectingServiceAndUnknownTokensAreRouted() throws Exception {
        EventLoopGroup group = Transport.newEventLoopGroup(1, "acme-test");
        try (HttpListener listener = HttpListener.bind(new InetSocketAddress("127.0.0.1", 0), group, proxy());
             RawHttp http = new RawHttp(listener.port())) {
            RawHttp.Response challenge = http.get("secure.test", "/.well-known/acme-challenge/tok123");
            assertThat(challenge.status()).isEqualTo(200);
            assertThat(challenge.text()).isEqualTo("tok123.keyauth");

            RawHttp.Response other = http.get("secure.test", "/.well-known/acme-challenge/unknown");
            assertThat(other.status()).isEqualTo(308);
            assertThat(other.header("Location")).isEqualTo("https://secure.test:8443/.well-known/acme-challenge/unknown");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
