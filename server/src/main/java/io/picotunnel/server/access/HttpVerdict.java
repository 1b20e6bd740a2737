package io.picotunnel.server.access;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** What the access checks say about one HTTP request to a service. */
public sealed interface HttpVerdict {

    /** Forward it; {@code user} and {@code email} (either may be null) go to the target as X-PicoTunnel-User/-Email. */
    record Pass(String user, String email) implements HttpVerdict {
        public static final Pass ANONYMOUS = new Pass(null, null);
    }

    /**
     * Answer here with a page: {@code status}, a short {@code error} code and a sentence; {@code headers} are added
     * (WWW-Authenticate, Retry-After), {@code cookies} become Set-Cookie headers. The page is HTML or JSON as the
     * request's Accept prefers, or JSON whatever it accepts if {@code json}.
     */
    record Answer(int status, String error, String message, Map<String, String> headers, List<String> cookies,
            boolean json) implements HttpVerdict {
        public Answer {
            headers = Map.copyOf(headers);
            cookies = List.copyOf(cookies);
        }

        public Answer(int status, String error, String message, Map<String, String> headers, List<String> cookies) {
            this(status, error, message, headers, cookies, false);
        }

        public static Answer of(int status, String error, String message) {
            return new Answer(status, error, message, Map.of(), List.of());
        }
    }

    /**
     * Answer here with a page that asks first: {@code message} and a button that POSTs to {@code action} on the
     * same origin. A link, an image or a redirect from anywhere can show the page; only the visitor's click on the
     * button does what it says.
     */
    record Confirm(String error, String message, String action, String button) implements HttpVerdict {
    }

    /** Send the browser to {@code location} (302 or 303), setting {@code cookies}. */
    record Redirect(int status, String location, List<String> cookies) implements HttpVerdict {
        public Redirect {
            cookies = List.copyOf(cookies);
        }
    }

    /** The answer takes a moment (a password check off the event loop); it completes with one of the others. */
    record Pending(CompletionStage<HttpVerdict> result) implements HttpVerdict {
    }
}
