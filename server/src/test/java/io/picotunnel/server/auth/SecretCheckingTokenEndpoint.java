package io.picotunnel.server.auth;

import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import okhttp3.Headers;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The token endpoint of a provider that checks client secrets, as real ones do (mock-oauth2-server does not): a token
 * request that does not authenticate as {@code clientId} with {@code secret} (a wrong secret, say) gets the provider's
 * 401 invalid_client.
 */
public record SecretCheckingTokenEndpoint(String clientId, String secret) implements Route {

    @Override
    public boolean match(OAuth2HttpRequest request) {
        String basic = "Basic " + Base64.getEncoder().encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
        return request.getUrl().encodedPath().endsWith("/token") && !basic.equals(request.getHeaders().get("Authorization"));
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
        return new OAuth2HttpResponse(Headers.of("Content-Type", "application/json"), 401,
                "{\"error\":\"invalid_client\",\"error_description\":\"Invalid client credentials\"}", null);
    }
}
