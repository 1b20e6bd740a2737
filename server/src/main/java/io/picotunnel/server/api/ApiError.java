package io.picotunnel.server.api;

import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.net.ApiErrorCodes;

/**
 * An answer other than success: HTTP status, a short machine-readable {@code error} code, a sentence for people,
 * and the JSON field at fault when there is one. Rendered as {@code {"error", "message", "field"}}.
 */
public final class ApiError extends RuntimeException {

    private final int status;
    private final String error;
    private final String field;

    public ApiError(int status, String error, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.error = error;
        // The name may be the request's own (an unknown field, a query parameter): written out and cut as in the message.
        this.field = field == null ? null : ControlCharacters.bounded(field);
    }

    public static ApiError invalidField(String field, String problem) {
        return new ApiError(400, ApiErrorCodes.INVALID_FIELD, field + ": " + problem, field);
    }

    public static ApiError badRequest(String error, String message) {
        return new ApiError(400, error, message, null);
    }

    /** {@code id} as the request's path gave it, so {@link ControlCharacters#quoted written out and cut}. */
    public static ApiError notFound(String what, String id) {
        return new ApiError(404, ApiErrorCodes.NOT_FOUND,
                "no " + what + " with id " + ControlCharacters.quoted(id), null);
    }

    /** A limit of the server is reached (tunnels, services): 429, with what to do about it. */
    public static ApiError limitReached(String message) {
        return new ApiError(429, ApiErrorCodes.LIMIT_REACHED, message, null);
    }

    public static ApiError conflict(String message, String field) {
        return new ApiError(409, ApiErrorCodes.CONFLICT, message, field);
    }

    public int status() {
        return status;
    }

    public String error() {
        return error;
    }

    /** The JSON field at fault, {@link ControlCharacters#bounded written out and cut}, or null. */
    public String field() {
        return field;
    }
}
