package io.picotunnel.server.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.net.ApiErrorCodes;
import io.picotunnel.server.net.LimitedBody;

import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * A request's JSON object body, read with a size limit: 415 when the body is not declared as JSON, 413 when it is
 * too large, 400 when it is not one JSON object or has a field the endpoint does not know. Fields the API only
 * writes (such as {@code id}) are accepted and ignored, so a client can send back an object it received.
 */
final class JsonBody {

    /** Largest request body accepted. */
    static final int MAX_BYTES = LimitedBody.MAX_BYTES;

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final ObjectNode object;

    private JsonBody(ObjectNode object) {
        this.object = object;
    }

    /**
     * Reads the body of {@code ctx}; an empty body is an empty object. {@code writable} are the fields the endpoint
     * takes, {@code readOnly} those it ignores; any other field is an error.
     */
    static JsonBody read(Context ctx, Set<String> writable, Set<String> readOnly) {
        String encoding = ctx.header("Content-Encoding");
        if (encoding != null && !encoding.isBlank() && !encoding.strip().equalsIgnoreCase("identity")) {
            // Not inflated here: read as JSON, a gzip body was "not valid JSON", which sent the sender looking there.
            throw new ApiError(415, ApiErrorCodes.UNSUPPORTED_MEDIA_TYPE, "the request body must not be compressed"
                    + " (Content-Encoding): send it as plain JSON", null);
        }
        return parse(readLimited(ctx), ctx.contentType(), writable, readOnly);
    }

    /** {@link #read} on a body already read (at most {@link #MAX_BYTES}); throws {@link ApiError} for bad input only. */
    static JsonBody parse(byte[] bytes, String contentTypeHeader, Set<String> writable, Set<String> readOnly) {
        if (bytes.length == 0) {
            return new JsonBody(MAPPER.createObjectNode());
        }
        String contentType = contentTypeHeader == null ? "" : contentTypeHeader.toLowerCase(Locale.ROOT);
        String mediaType = contentType.split(";", 2)[0].strip();
        if (!mediaType.equals("application/json")) {
            throw new ApiError(415, ApiErrorCodes.UNSUPPORTED_MEDIA_TYPE,
                    "the request body must be JSON with Content-Type: application/json"
                    + (mediaType.isEmpty() ? "" : " (got " + mediaType + ")"), null);
        }
        JsonNode node;
        try (JsonParser parser = MAPPER.createParser(bytes)) {
            node = MAPPER.readTree(parser);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw ApiError.badRequest(ApiErrorCodes.MALFORMED_JSON,
                    "the request body is not valid JSON: " + e.getOriginalMessage() + where);
        } catch (IOException e) {
            throw ApiError.badRequest(ApiErrorCodes.MALFORMED_JSON,
                    "the request body could not be read: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest(ApiErrorCodes.MALFORMED_JSON, "the request body must be a JSON object");
        }
        ObjectNode object = (ObjectNode) node;
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!writable.contains(name) && !readOnly.contains(name)) {
                throw new ApiError(400, ApiErrorCodes.UNKNOWN_FIELD,
                        "unknown field " + ControlCharacters.quoted(name) + "; known fields are "
                        + String.join(", ", writable.stream().sorted().toList()), name);
            }
        }
        for (String name : readOnly) {
            object.remove(name);
        }
        return new JsonBody(object);
    }

    private static byte[] readLimited(Context ctx) {
        try {
            return LimitedBody.read(ctx.req()).orElseThrow(JsonBody::tooLarge);
        } catch (LimitedBody.TooSlow e) {
            throw new ApiError(e.answer(ctx.req(), ctx.res()), ApiErrorCodes.REQUEST_TIMEOUT,
                    e.getMessage() + "; send it without pauses", null);
        } catch (IOException e) {
            throw ApiError.badRequest(ApiErrorCodes.UNREADABLE_BODY,
                    "the request body could not be read: " + e.getMessage());
        }
    }

    private static ApiError tooLarge() {
        return new ApiError(413, ApiErrorCodes.BODY_TOO_LARGE,
                "the request body is larger than " + (MAX_BYTES / 1024) + " KiB", null);
    }

    /** The body's fields, for {@link ApiHooks}. */
    ObjectNode object() {
        return object;
    }

    boolean has(String field) {
        return object.has(field);
    }

    /** True when the field is present with the value null (clears an optional field). */
    boolean isNull(String field) {
        return object.has(field) && object.get(field).isNull();
    }

    /** The string value, or null when absent or null. */
    String string(String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw ApiError.invalidField(field, "must be a string");
        }
        return value.asText();
    }

    /** The boolean value, or null when absent or null. */
    Boolean bool(String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isBoolean()) {
            throw ApiError.invalidField(field, "must be true or false");
        }
        return value.asBoolean();
    }

    /** The raw value, or null when absent (a JSON null comes back as a null node). */
    JsonNode node(String field) {
        return object.get(field);
    }
}
