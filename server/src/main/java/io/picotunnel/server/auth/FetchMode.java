package io.picotunnel.server.auth;

import java.util.Locale;

/**
 * What a browser says a request is for, in its {@code Sec-Fetch-Mode} header: only a page load ({@code navigate})
 * can go through a sign-in, to the provider and back. An image, a script or a fetch that is sent to sign in cannot
 * follow, and each would leave a sign-in cookie of its own on the management origin: a page of many of them, all at
 * once (HTTP/2), would fill its Cookie header past what servers accept, for the cookies' lifetime.
 */
public final class FetchMode {

    public static final String HEADER = "Sec-Fetch-Mode";

    private FetchMode() {
    }

    /**
     * Whether {@code secFetchMode} (the header's value, or null) says the request is no page load: {@code no-cors},
     * {@code cors}, {@code same-origin}, {@code websocket}. A request without it (curl, an older browser) is taken for a
     * page load, as before browsers sent it.
     */
    public static boolean notNavigation(String secFetchMode) {
        return secFetchMode != null && !secFetchMode.trim().toLowerCase(Locale.ROOT).equals("navigate");
    }
}
