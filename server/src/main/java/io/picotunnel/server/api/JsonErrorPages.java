package io.picotunnel.server.api;

import io.picotunnel.server.ui.UiAssets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The API's error shape ({@code {"error", "message"}}) for what Jetty answers itself, before any route runs: a
 * path that does not decode ({@code %ZZ}, {@code %00}), a Content-Length that is not a number. Jetty's own page
 * is HTML.
 */
final class JsonErrorPages extends ErrorHandler {

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
            Callback callback) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        UiAssets.SECURITY_HEADERS.forEach(response.getHeaders()::put);
        response.write(true, ByteBuffer.wrap(body(code, message)), callback);
    }

    static byte[] body(int status, String message) {
        String text = message == null || message.isBlank() ? HttpStatus.getMessage(status) : message;
        return ApiJson.error(new ApiError(status, ApiServer.code(status), text, null))
                .toString().getBytes(StandardCharsets.UTF_8);
    }
}
