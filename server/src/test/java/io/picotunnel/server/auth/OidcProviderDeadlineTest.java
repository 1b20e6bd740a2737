package io.picotunnel.server.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.picotunnel.testkit.TricklingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Each call to the OIDC provider (discovery, token, JWKS) ends at one deadline for the whole call, against a provider
 * on loopback that answers a byte a second: no read ever times out, the answer would take minutes.
 */
class OidcProviderDeadlineTest {

    private static final String CLIENT_ID = "picotunnel";
    private static final Duration DEADLINE = Duration.ofSeconds(2);
    /** The deadline, and room for a slow machine; far below the minutes of the whole trickle. */
    private static final Duration SOON = Duration.ofSeconds(10);

    private final TricklingServer trickling = new TricklingServer();
    private HttpServer discovery;

    @AfterEach
    void stop() {
        trickling.close();
        if (discovery != null) {
            discovery.stop(0);
        }
    }

    private static OidcSettings settings(String issuer) {
        return new OidcSettings(URI.create(issuer), CLIENT_ID, "client-secret-that-is-long-enough-for-hmac-256",
                URI.create("http://localhost:1/auth/callback"), Set.of("alice@example.com"), Set.of());
    }

    /** A provider whose discovery answers at once, and names the trickling server as its token endpoint and JWKS. */
    private String issuerWithTricklingEndpoints() throws Exception {
        discovery = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String issuer = "http://127.0.0.1:" + discovery.getAddress().getPort() + "/default";
        String document = "{\"issuer\":\"" + issuer + "\",\"authorization_endpoint\":\"" + issuer + "/authorize\","
                + "\"token_endpoint\":\"" + trickling.url() + "/token\",\"jwks_uri\":\"" + trickling.url() + "/jwks\","
                + "\"response_types_supported\":[\"code\"],\"subject_types_supported\":[\"public\"],"
                + "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
        discovery.createContext("/default/.well-known/openid-configuration", exchange -> {
            byte[] body = document.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        discovery.start();
        return issuer;
    }

    private void failsSoonAsTooSlow(Executable call, String what) {
        long started = System.nanoTime();
        assertTimeoutPreemptively(SOON, () -> assertThatThrownBy(call::execute)
                .isInstanceOf(SignInRejectedException.class)
                .hasMessageContaining(what).hasMessageContaining("did not answer within 2 s")
                .satisfies(e -> assertThat(((SignInRejectedException) e).providerUnavailable()).isTrue()));
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(DEADLINE.minusMillis(100));
        // the call is abandoned, its connection closed: the provider holds nothing of ours
        await().atMost(SOON).until(() -> trickling.open() == 0);
    }

    @Test
    void aDiscoveryDocumentThatTricklesEndsTheSignInAtTheDeadline() {
        OidcProvider provider = new OidcProvider(settings(trickling.url() + "/default"), DEADLINE);
        failsSoonAsTooSlow(provider::start, "The identity provider at " + trickling.url() + "/default could not be reached");
        assertThat(trickling.accepted()).isEqualTo(1);
    }

    @Test
    void aDeadlineOfPartSecondsIsWrittenAsOtherMessagesWriteDurations() {
        OidcProvider provider = new OidcProvider(settings(trickling.url() + "/default"), Duration.ofMillis(1500));
        assertTimeoutPreemptively(SOON, () -> assertThatThrownBy(provider::start)
                .isInstanceOf(SignInRejectedException.class)
                .hasMessageContaining("could not be reached: it did not answer within 1.5 s."));
    }

    @Test
    void aProviderThatTakesNoConnectionIsNamedWithTheConnectTimeout() throws Exception {
        try (io.picotunnel.testkit.SilentListener silent = new io.picotunnel.testkit.SilentListener()) {
            OidcProvider provider = new OidcProvider(settings("http://" + silent.address() + "/default"), Duration.ofSeconds(30));
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThatThrownBy(provider::start)
                    .isInstanceOf(SignInRejectedException.class)
                    .hasMessageContaining("could not be reached: it did not answer within 5 s"));
        }
    }

    @Test
    void aTokenEndpointThatTricklesEndsTheSignInAtTheDeadline() throws Exception {
        OidcProvider provider = new OidcProvider(settings(issuerWithTricklingEndpoints()), DEADLINE);
        OidcProvider.AuthorizationStart start = provider.start();
        failsSoonAsTooSlow(() -> provider.finish("a-code", start.nonce(), start.codeVerifier()),
                "could not be reached to finish the sign-in");
    }

    @Test
    void aJwksThatTricklesEndsTheSignInAtTheDeadlineAsAProviderDownNotABadToken() throws Exception {
        String issuer = issuerWithTricklingEndpoints();
        OidcProvider provider = new OidcProvider(settings(issuer), DEADLINE);
        provider.start();
        RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
        SignedJWT token = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
                new JWTClaimsSet.Builder().issuer(issuer).subject("alice").audience(CLIENT_ID).issueTime(new Date())
                        .expirationTime(new Date(System.currentTimeMillis() + 3_600_000)).claim("nonce", "n-1").build());
        token.sign(new RSASSASigner(key));

        failsSoonAsTooSlow(() -> provider.validate(token, "n-1"), "its signing keys could not be fetched");
    }
}
