package io.picotunnel.server.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jwt.JWT;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.LogoutRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One OpenID Connect provider: discovery from the issuer, the authorization request (code flow with PKCE,
 * state and nonce), the code exchange, and the ID token check (signature against the provider's JWKS, iss,
 * aud, exp, nonce). Discovery happens on first use and is retried until it succeeds, so the server starts
 * even while the provider is down.
 */
public final class OidcProvider {

    static final int CONNECT_TIMEOUT_MS = 5_000;
    static final int READ_TIMEOUT_MS = 10_000;
    static final int JWKS_SIZE_LIMIT = 256 * 1024;
    /** The discovery document and the token endpoint's answer: a few KiB each. */
    static final int ANSWER_SIZE_LIMIT = 1024 * 1024;
    /** Each call to the provider, whole: connecting, sending and the answer to its last byte. */
    static final Duration CALL_TIMEOUT = Duration.ofMillis(CONNECT_TIMEOUT_MS + READ_TIMEOUT_MS);

    /** Only public-key signatures: an HMAC-signed ID token would be checked with the client secret. */
    private static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.EdDSA);

    /**
     * The token endpoint's errors for a client it does not accept: a wrong secret is unauthorized_client at Keycloak,
     * as is a client whose authorization code flow is off.
     */
    private static final Set<String> CLIENT_REFUSED = Set.of("invalid_client", "unauthorized_client");

    /** What discovery yields, built once. */
    private record Discovered(OIDCProviderMetadata metadata, IDTokenValidator validator) {
    }

    /** The start of a sign-in: where to send the browser and what to keep until the callback. */
    public record AuthorizationStart(URI redirect, String state, String nonce, String codeVerifier) {
    }

    private final OidcSettings settings;
    private final ClientID clientId;
    private final ProviderHttp http;
    private final ProviderHttp jwksHttp;
    private volatile Discovered discovered;
    /** The discovery attempt under way, if any; guarded by {@code this}. */
    private CompletableFuture<Discovered> discovering;

    public OidcProvider(OidcSettings settings) {
        this(settings, CALL_TIMEOUT);
    }

    /** {@code callTimeout}: the bound of each call to the provider, whole. */
    OidcProvider(OidcSettings settings, Duration callTimeout) {
        this.settings = settings;
        this.clientId = new ClientID(settings.clientId());
        this.http = new ProviderHttp(callTimeout, ANSWER_SIZE_LIMIT);
        this.jwksHttp = new ProviderHttp(callTimeout, JWKS_SIZE_LIMIT);
    }

    public OidcSettings settings() {
        return settings;
    }

    public AuthorizationStart start() throws SignInRejectedException {
        OIDCProviderMetadata metadata = discover().metadata();
        State state = new State();
        Nonce nonce = new Nonce();
        CodeVerifier verifier = new CodeVerifier();
        AuthenticationRequest request = new AuthenticationRequest.Builder(
                new ResponseType(ResponseType.Value.CODE), new Scope("openid", "email", "profile"), clientId,
                settings.redirectUrl())
                .endpointURI(metadata.getAuthorizationEndpointURI())
                .state(state)
                .nonce(nonce)
                .codeChallenge(verifier, CodeChallengeMethod.S256)
                .build();
        return new AuthorizationStart(request.toURI(), state.getValue(), nonce.getValue(), verifier.getValue());
    }

    /** Exchanges the code and returns the checked ID token's claims and the raw token. */
    public SignedIn finish(String code, String nonce, String codeVerifier) throws SignInRejectedException {
        Discovered d = discover();
        AuthorizationCodeGrant grant = new AuthorizationCodeGrant(new AuthorizationCode(code), settings.redirectUrl(),
                new CodeVerifier(codeVerifier));
        TokenRequest request = settings.clientSecret() == null
                ? new TokenRequest.Builder(d.metadata().getTokenEndpointURI(), clientId, grant).build()
                : new TokenRequest.Builder(d.metadata().getTokenEndpointURI(), clientAuthentication(d.metadata()), grant).build();
        TokenResponse response;
        try {
            response = OIDCTokenResponseParser.parse(request.toHTTPRequest().send(http));
        } catch (ProviderHttp.ProviderTimeoutException e) {
            throw SignInRejectedException.providerUnavailable("The identity provider could not be reached to finish"
                    + " the sign-in: it " + e.getMessage() + ".", e);
        } catch (IOException | ParseException e) {
            throw SignInRejectedException.providerUnavailable(
                    "The identity provider could not be reached to finish the sign-in.", e);
        }
        if (!response.indicatesSuccess()) {
            com.nimbusds.oauth2.sdk.ErrorObject error = response.toErrorResponse().getErrorObject();
            String description = error == null ? null : error.getDescription();
            // the provider's own words go to the log only (withCause): the page gets our sentence
            GeneralException providerWords = description == null || description.isBlank() ? null
                    : new GeneralException(description);
            throw clientRefused(error) ? SignInRejectedException.misconfigured(refusal(error), providerWords)
                    : new SignInRejectedException(refusal(error), providerWords);
        }
        JWT idToken = ((OIDCTokenResponse) response.toSuccessResponse()).getOIDCTokens().getIDToken();
        if (idToken == null) {
            throw new SignInRejectedException("The identity provider sent no ID token.");
        }
        return new SignedIn(validate(idToken, nonce), idToken.serialize());
    }

    /** The sentence for a token endpoint's error answer; the provider's error code when it sent one. */
    static String refusal(com.nimbusds.oauth2.sdk.ErrorObject error) {
        String shown = errorCode(error);
        if (CLIENT_REFUSED.contains(shown)) {
            // A wrong client secret or id: trying again cannot help, only the configuration can
            return "The identity provider did not accept this server as its client (" + shown + "): the server's"
                    + " administrator must check PICOTUNNEL_OIDC_CLIENT_ID and PICOTUNNEL_OIDC_CLIENT_SECRET against"
                    + " the client registered at the provider" + (shown.equals("unauthorized_client")
                            // also a client the provider does not let use this flow (Keycloak's "Standard flow" off)
                            ? ", and that the client may use the authorization code flow (Keycloak: \"Standard flow\")."
                            : ".");
        }
        return "The identity provider refused the sign-in" + (shown.isEmpty() ? "" : " (" + shown + ")")
                + ". Please try again, or ask the server's administrator to check the OIDC client settings.";
    }

    private static boolean clientRefused(com.nimbusds.oauth2.sdk.ErrorObject error) {
        return CLIENT_REFUSED.contains(errorCode(error));
    }

    /** The provider's error code, only the characters an error code has; empty when it sent none. */
    private static String errorCode(com.nimbusds.oauth2.sdk.ErrorObject error) {
        String code = error == null ? null : error.getCode();
        return code == null ? "" : code.replaceAll("[^A-Za-z0-9_.-]", "");
    }

    /** The checked claims of an ID token and the token as received. */
    public record SignedIn(IDTokenClaimsSet claims, String rawIdToken) {
    }

    /**
     * Whether the ID token says its email is verified: {@code email_verified} is {@code true}, or the string
     * {@code "true"} that some providers (Amazon Cognito) send; anything else, missing included, is not.
     */
    public static boolean emailVerified(IDTokenClaimsSet claims) {
        Object claim = claims.getClaim("email_verified");
        return Boolean.TRUE.equals(claim) || "true".equals(claim);
    }

    IDTokenClaimsSet validate(JWT idToken, String nonce) throws SignInRejectedException {
        try {
            return discover().validator().validate(idToken, new Nonce(nonce));
        } catch (KeySourceException e) {
            // Not the token's fault: its keys could not be fetched (the provider is down, or too slow)
            String slow = timeoutIn(e);
            throw SignInRejectedException.providerUnavailable("The identity provider could not be reached to check"
                    + " the sign-in (its signing keys could not be fetched" + (slow == null ? "" : ": it " + slow)
                    + ").", e);
        } catch (BadJOSEException | JOSEException e) {
            throw new SignInRejectedException("The ID token from the identity provider did not pass the checks.", e);
        }
    }

    /**
     * Where to send the browser to end the provider's session too, if the provider offers RP-initiated logout.
     * Discovers the provider first when no sign-in has since the start (a session kept in the database across a
     * restart); when it cannot be reached, only our session ends.
     */
    Optional<URI> logoutRedirect(String rawIdToken, URI postLogoutRedirect) {
        Discovered d;
        try {
            d = discover();
        } catch (SignInRejectedException e) {
            return Optional.empty();
        }
        if (d.metadata().getEndSessionEndpointURI() == null) {
            return Optional.empty();
        }
        JWT hint = null;
        if (rawIdToken != null) {
            try {
                hint = com.nimbusds.jwt.JWTParser.parse(rawIdToken);
            } catch (java.text.ParseException e) {
                hint = null;
            }
        }
        LogoutRequest logout = new LogoutRequest(d.metadata().getEndSessionEndpointURI(), hint, null, clientId,
                postLogoutRedirect, null, null);
        return Optional.of(logout.toURI());
    }

    private ClientAuthentication clientAuthentication(OIDCProviderMetadata metadata) {
        Secret secret = new Secret(settings.clientSecret());
        List<ClientAuthenticationMethod> methods = metadata.getTokenEndpointAuthMethods();
        if (methods != null && !methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
                && methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_POST)) {
            return new ClientSecretPost(clientId, secret);
        }
        return new ClientSecretBasic(clientId, secret);
    }

    /** Asks the provider for its discovery now, if not done yet; throws what a sign-in would be told. */
    void discovered() throws SignInRejectedException {
        discover();
    }

    /**
     * The provider's discovery, fetched once it succeeds. While the provider is down or slow, sign-ins that arrive
     * during an attempt wait for that attempt and share its outcome rather than queue for one attempt each (up to
     * {@link #CALL_TIMEOUT} apiece: the tenth visitor of an unanswering provider waited well over a minute).
     */
    private Discovered discover() throws SignInRejectedException {
        Discovered d = discovered;
        if (d != null) {
            return d;
        }
        CompletableFuture<Discovered> attempt;
        boolean mine = false;
        synchronized (this) {
            if (discovered != null) {
                return discovered;
            }
            if (discovering == null) {
                discovering = new CompletableFuture<>();
                mine = true;
            }
            attempt = discovering;
        }
        if (mine) {
            try {
                discovered = fetchDiscovery();
                attempt.complete(discovered);
            } catch (SignInRejectedException | RuntimeException e) {
                attempt.completeExceptionally(e);
            } finally {
                synchronized (this) {
                    discovering = null;
                }
            }
        }
        try {
            return attempt.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof SignInRejectedException rejected) {
                throw rejected.copy();
            }
            throw e;
        }
    }

    private Discovered fetchDiscovery() throws SignInRejectedException {
        Issuer issuer = new Issuer(settings.issuer());
        OIDCProviderMetadata metadata;
        try {
            metadata = resolve(issuer);
        } catch (ProviderHttp.ProviderTimeoutException e) {
            throw SignInRejectedException.providerUnavailable("The identity provider at " + settings.issuer()
                    + " could not be reached: it " + e.getMessage() + ".", e);
        } catch (DiscoveryUnavailableException e) {
            // Reached, but down or overloaded behind its front (a 502 to 504, a 429): the settings may be right
            throw SignInRejectedException.providerUnavailable("The identity provider at " + settings.issuer()
                    + " answered " + e.status + " for its discovery document, as it does while it is down or busy.", e);
        } catch (OtherIssuerException e) {
            // Reached and answering, so not "down": a trailing slash too many or too few, most often
            throw SignInRejectedException.misconfigured("The identity provider at " + settings.issuer() + " names itself "
                    + e.published + " (the issuer of its discovery document), so the server's administrator must set"
                    + " PICOTUNNEL_OIDC_ISSUER to " + e.published + " exactly.", e);
        } catch (DiscoveryStatusException e) {
            throw SignInRejectedException.misconfigured("The identity provider at " + settings.issuer() + " answered "
                    + e.status + " for its discovery document (" + e.url + "): the server's administrator should"
                    + " check PICOTUNNEL_OIDC_ISSUER.", e);
        } catch (IOException e) {
            throw SignInRejectedException.providerUnavailable("The identity provider at " + settings.issuer()
                    + " could not be reached.", e);
        } catch (GeneralException e) {
            throw SignInRejectedException.misconfigured("The identity provider at " + settings.issuer()
                    + " sent a discovery document that PicoTunnel cannot use.", e);
        }
        Set<JWSAlgorithm> algorithms = new HashSet<>(ASYMMETRIC);
        List<JWSAlgorithm> offered = metadata.getIDTokenJWSAlgs();
        if (offered != null) {
            algorithms.retainAll(offered);
        }
        if (algorithms.isEmpty() || metadata.getJWKSetURI() == null) {
            throw SignInRejectedException.misconfigured(
                    "The identity provider signs ID tokens with no public-key algorithm that PicoTunnel accepts.", null);
        }
        JWKSource<SecurityContext> keys;
        try {
            // Not rate limited: a fetch that failed (the provider down) would be refused for 30 s more, each sign-in
            // meanwhile told it failed, though the provider was back. Only a token of a key not yet known fetches.
            keys = JWKSourceBuilder.create(metadata.getJWKSetURI().toURL(), jwksHttp).rateLimited(false).build();
        } catch (java.net.MalformedURLException e) {
            throw SignInRejectedException.misconfigured("The identity provider's jwks_uri is not a valid URL.", e);
        }
        IDTokenValidator validator = new IDTokenValidator(metadata.getIssuer(), clientId,
                new JWSVerificationKeySelector<>(algorithms, keys), null);
        return new Discovered(metadata, validator);
    }

    /**
     * {@link OIDCProviderMetadata#resolve(Issuer)}, its call bound by {@link #http}'s deadline (Nimbus' own takes
     * a timeout per read only).
     */
    private OIDCProviderMetadata resolve(Issuer issuer) throws GeneralException, IOException {
        java.net.URL url = OIDCProviderMetadata.resolveURL(issuer);
        HTTPResponse response = new HTTPRequest(HTTPRequest.Method.GET, url).send(http);
        if (response.getStatusCode() >= 500 || response.getStatusCode() == 429) {
            throw new DiscoveryUnavailableException(response.getStatusCode(), url);
        }
        if (response.getStatusCode() != HTTPResponse.SC_OK) {
            throw new DiscoveryStatusException(response.getStatusCode(), url);
        }
        OIDCProviderMetadata metadata = OIDCProviderMetadata.parse(response.getBodyAsJSONObject());
        if (!issuer.equals(metadata.getIssuer())) {
            throw new OtherIssuerException(metadata.getIssuer());
        }
        return metadata;
    }

    /** The discovery document names an issuer other than the one configured. */
    private static final class OtherIssuerException extends GeneralException {
        final Issuer published;

        OtherIssuerException(Issuer published) {
            super("The returned issuer doesn't match the expected: " + published);
            this.published = published;
        }
    }

    /** The provider answered the discovery request with 5xx or 429: it is down, or busy, for now. */
    private static final class DiscoveryUnavailableException extends IOException {
        final int status;

        DiscoveryUnavailableException(int status, java.net.URL url) {
            super("Couldn't download OpenID Provider metadata from " + url + ": Status code " + status);
            this.status = status;
        }
    }

    /** The provider answered the discovery request with a status other than 200, 5xx and 429 (a wrong path: 404). */
    private static final class DiscoveryStatusException extends GeneralException {
        final int status;
        final java.net.URL url;

        DiscoveryStatusException(int status, java.net.URL url) {
            super("Couldn't download OpenID Provider metadata from " + url + ": Status code " + status);
            this.status = status;
            this.url = url;
        }
    }

    /** The sentence of the call that ran out of time among the causes of {@code error} ("did not answer within 15 s"), or null. */
    private static String timeoutIn(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ProviderHttp.ProviderTimeoutException timeout) {
                return timeout.getMessage();
            }
        }
        return null;
    }
}
