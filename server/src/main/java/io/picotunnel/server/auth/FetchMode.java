package io.picotunnel.server.auth;

import java.util.Locale;

/**
 * What a browser says a request is for, in its {@code Sec-Fetch-Mode} and {@code Sec-Fetch-Dest} headers: only the
 * load of a page in its tab ({@code navigate} to a {@code document}) can go through a sign-in, to the provider and
 * back. An image, a script or a fetch that is sent to sign in cannot
 * follow, and each would leave a sign-in cookie of its own on the management origin: a page of many of them, all at
 * once (HTTP/2), would fill its Cookie header past what servers accept, for the cookies' lifetime. A frame's load is
 * a navigation too, but into a frame ({@code iframe}, {@code frame}, {@code embed}, {@code object}): providers refuse
 * to be shown in one, and a page of many frames would leave as many cookies.
 */
public final class FetchMode {

    public static final String HEADER = "Sec-Fetch-Mode";
    public static final String DEST_HEADER = "Sec-Fetch-Dest";

    private FetchMode() {
    }

    /**
     * Whether the request's {@code secFetchMode} and {@code secFetchDest} (the headers' values, or null) say it is no
     * page load in a tab: a mode other than {@code navigate} ({@code no-cors}, {@code cors}, {@code same-origin},
     * {@code websocket}), or a navigation into a frame (a destination other than {@code document}). A request
     * without them (curl, an older browser) is taken for a page load, as before browsers sent them.
     */
    public static boolean notPageLoad(String secFetchMode, String secFetchDest) {
        return isPresentAndNot(secFetchMode, "navigate") || isPresentAndNot(secFetchDest, "document");
    }

    private static boolean isPresentAndNot(String value, String expected) {
        return value != null && !value.trim().toLowerCase(Locale.ROOT).equals(expected);
    }
}
