package io.picotunnel.server.auth;

import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.http.HTTPRequestSender;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.http.ReadOnlyHTTPRequest;
import com.nimbusds.oauth2.sdk.http.ReadOnlyHTTPResponse;
import io.picotunnel.protocol.config.Durations;

import java.io.IOException;
import java.net.ProxySelector;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Every HTTP call to the OIDC provider (discovery, token, the JWKS keys), each bound by one deadline for the whole
 * call: connecting, sending, and the answer to its last byte. A timeout per read alone let a provider that sends a
 * byte a second hold a sign-in for as long as it liked. A call past its deadline is cancelled (its connection
 * closed) and fails with {@link ProviderTimeoutException}.
 */
final class ProviderHttp implements HTTPRequestSender, ResourceRetriever {

    /** The provider did not answer a call within its deadline. */
    static final class ProviderTimeoutException extends HttpTimeoutException {

        ProviderTimeoutException(String message) {
            super(message);
        }
    }

    /** Headers the JDK's client sets itself, and refuses to be given. */
    private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host", "upgrade");

    /** One client for all providers: it keeps a selector thread, so one per sign-in would pile them up. */
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(OidcProvider.CONNECT_TIMEOUT_MS))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .proxy(ProxySelector.getDefault())
            .build();

    private final Duration deadline;
    private final int sizeLimit;

    ProviderHttp(Duration deadline, int sizeLimit) {
        this.deadline = deadline;
        this.sizeLimit = sizeLimit;
    }

    /** What a call that ran out of {@code time} says: "did not answer within 15 s". */
    static String tooSlow(Duration time) {
        return "did not answer within " + Durations.format(time);
    }

    /** For Nimbus' requests (discovery, token). */
    @Override
    public ReadOnlyHTTPResponse send(ReadOnlyHTTPRequest request) throws IOException {
        HttpRequest.Builder builder;
        try {
            builder = HttpRequest.newBuilder(request.getURL().toURI());
        } catch (URISyntaxException e) {
            throw new IOException("not a valid URL: " + request.getURL(), e);
        }
        String body = request.getBody();
        builder.method(request.getMethod().name(), body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        for (Map.Entry<String, List<String>> header : request.getHeaderMap().entrySet()) {
            if (!RESTRICTED.contains(header.getKey().toLowerCase(Locale.ROOT))) {
                for (String value : header.getValue()) {
                    builder.header(header.getKey(), value);
                }
            }
        }
        HttpResponse<byte[]> answer = call(builder);
        HTTPResponse response = new HTTPResponse(answer.statusCode());
        answer.headers().map().forEach((name, values) -> {
            if (!name.startsWith(":")) {
                response.setHeader(name, values.toArray(String[]::new));
            }
        });
        answer.headers().firstValue("Content-Type").ifPresent(type -> {
            try {
                response.setContentType(type);
            } catch (ParseException e) {
                // an unreadable type is no type: parsing the body says what is wrong with it
            }
        });
        response.setBody(new String(answer.body(), StandardCharsets.UTF_8));
        return response;
    }

    /** For the JWKS keys. */
    @Override
    public Resource retrieveResource(URL url) throws IOException {
        HttpRequest.Builder builder;
        try {
            builder = HttpRequest.newBuilder(url.toURI()).GET().header("Accept", "application/json, application/jwk-set+json");
        } catch (URISyntaxException e) {
            throw new IOException("not a valid URL: " + url, e);
        }
        HttpResponse<byte[]> answer = call(builder);
        if (answer.statusCode() > 299 || answer.statusCode() < 200) {
            throw new IOException("HTTP " + answer.statusCode() + " from " + url);
        }
        return new Resource(new String(answer.body(), StandardCharsets.UTF_8),
                answer.headers().firstValue("Content-Type").orElse(null));
    }

    private HttpResponse<byte[]> call(HttpRequest.Builder builder) throws IOException {
        Future<HttpResponse<byte[]>> answer = CLIENT.sendAsync(builder.timeout(deadline).build(),
                info -> new Limited(sizeLimit));
        try {
            return answer.get(deadline.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true); // closes the connection
            throw new ProviderTimeoutException(tooSlow(deadline));
        } catch (InterruptedException e) {
            answer.cancel(true);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HttpConnectTimeoutException) {
                throw new ProviderTimeoutException(tooSlow(Duration.ofMillis(OidcProvider.CONNECT_TIMEOUT_MS)));
            }
            if (e.getCause() instanceof HttpTimeoutException) {
                throw new ProviderTimeoutException(tooSlow(deadline));
            }
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        }
    }

    /** The body as bytes, failing once it grows beyond the limit (a provider that sends without end). */
    private static final class Limited implements HttpResponse.BodySubscriber<byte[]> {

        private final int limit;
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private Flow.Subscription subscription;

        Limited(int limit) {
            this.limit = limit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return; // cancelled: what was on its way still comes
            }
            for (ByteBuffer item : items) {
                if (bytes.size() + item.remaining() > limit) {
                    subscription.cancel();
                    result.completeExceptionally(new IOException("the answer is larger than " + limit + " bytes"));
                    return;
                }
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                bytes.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable error) {
            result.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            result.complete(bytes.toByteArray());
        }
    }
}
