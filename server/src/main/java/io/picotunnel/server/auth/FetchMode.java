package io.picotunnel.server.auth;

import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * What a browser says a request is for, in its {@code Sec-Fetch-Mode} and {@code Sec-Fetch-Dest} headers: only the
 * load of a page in its tab ({@code navigate} to a {@code document}) can go through a sign-in, to the provider and
 * back. An image, a script or a fetch that is sent to sign in cannot
 * follow, and each would leave a sign-in cookie of its own on the management origin: a page of many of them, all at
 * once (HTTP/2), would fill its Cookie header past what servers accept, for the cookies' lifetime. A frame's load is
 * a navigation too, but into a frame ({@code iframe}, {@code frame}, {@code embed}, {@code object}): providers refuse
 * to be shown in one, and a page of many frames would leave as many cookies. A prefetch or prerender of a page
 * ({@code Sec-Purpose}, formerly {@code Purpose}) is no page load yet: the browser drops its answer unless the page
 * is opened, and each would start a sign-in that pushes out its address's real ones.
 * <p>
 * Browsers send the Sec-Fetch headers only to https addresses and localhost: over plain http the {@code Accept}
 * header tells the page from the rest. A navigation (into a frame as well) asks for {@code text/html}; an image
 * asks for {@code image/*}, a script or a fetch for {@code *}{@code /*}, as curl does. A WebSocket handshake sends
 * no {@code Accept} at all, but asks to switch protocols ({@code Upgrade}), which no page load does. A fetch may
 * ask for HTML too (Turbo, Unpoly and pjax do, in the background), but a browser sends {@code Origin} on a
 * {@code GET} only in {@code cors} mode (a fetch of another origin) or for a WebSocket, never on a navigation.
 * A fetch of the page's own origin carries no {@code Origin}, but those libraries mark their requests with a header
 * of their own ({@code Turbo-Frame}, {@code X-Turbo-Request-Id}, {@code X-Up-Version}, {@code X-PJAX},
 * {@code HX-Request}, jQuery's {@code X-Requested-With: XMLHttpRequest}), which no navigation carries.
 *
 * @param mode     the Sec-Fetch-Mode header, or null
 * @param dest     the Sec-Fetch-Dest header, or null
 * @param purpose  the Sec-Purpose header, else the Purpose header, or null
 * @param accept   the Accept header, or null
 * @param upgrade  whether the request asks to switch to another protocol than HTTP (a WebSocket)
 * @param origin   the Origin header, or null
 * @param scripted whether a page's script library marked the request as its own (a background fetch)
 * @param boosted  whether htmx sent it for a link or form it took over ({@code HX-Boosted: true}): a navigation the
 *                 user asked for, made as a fetch
 */
public record FetchMode(String mode, String dest, String purpose, String accept, boolean upgrade, String origin,
        boolean scripted, boolean boosted) {

    public static final String HEADER = "Sec-Fetch-Mode";
    public static final String DEST_HEADER = "Sec-Fetch-Dest";
    public static final String PURPOSE_HEADER = "Sec-Purpose";
    public static final String OLD_PURPOSE_HEADER = "Purpose";
    public static final String ACCEPT_HEADER = "Accept";
    public static final String UPGRADE_HEADER = "Upgrade";
    public static final String CONNECTION_HEADER = "Connection";
    public static final String ORIGIN_HEADER = "Origin";
    /** Sent by Turbo (a frame's load; every fetch of Turbo 8), Unpoly, pjax and htmx on each of their requests. */
    static final List<String> SCRIPT_LIBRARY_HEADERS = List.of("Turbo-Frame", "X-Turbo-Request-Id", "X-Up-Version",
            "X-PJAX", "HX-Request");
    static final String REQUESTED_WITH_HEADER = "X-Requested-With";
    static final String BOOSTED_HEADER = "HX-Boosted";

    /** The request's, from {@code header} (a header's value by name, or null). */
    public static FetchMode of(UnaryOperator<String> header) {
        String purpose = header.apply(PURPOSE_HEADER);
        return new FetchMode(header.apply(HEADER), header.apply(DEST_HEADER),
                purpose != null ? purpose : header.apply(OLD_PURPOSE_HEADER), header.apply(ACCEPT_HEADER),
                leavesHttp(header.apply(UPGRADE_HEADER), header.apply(CONNECTION_HEADER)), header.apply(ORIGIN_HEADER),
                markedByScript(header), "true".equalsIgnoreCase(header.apply(BOOSTED_HEADER)));
    }

    /**
     * Whether a script library's header is there. {@code X-Requested-With} counts only as jQuery's
     * {@code XMLHttpRequest}: Android's WebView sends the app's package name in it on navigations too.
     */
    private static boolean markedByScript(UnaryOperator<String> header) {
        for (String name : SCRIPT_LIBRARY_HEADERS) {
            if (header.apply(name) != null) {
                return true;
            }
        }
        String requestedWith = header.apply(REQUESTED_WITH_HEADER);
        return requestedWith != null && requestedWith.trim().equalsIgnoreCase("XMLHttpRequest");
    }

    /**
     * Whether a request asks to switch to another protocol than HTTP (a WebSocket): {@code Upgrade} names one, or
     * {@code Connection: upgrade} comes without an {@code Upgrade}. An HTTP/2 upgrade ({@code h2c}: Java's client,
     * {@code curl --http2} over plain http, never a browser) is the same request, answered over HTTP/2.
     */
    private static boolean leavesHttp(String upgrade, String connection) {
        if (upgrade != null) {
            return !upgrade.trim().equalsIgnoreCase("h2c");
        }
        return connection != null && connection.toLowerCase(Locale.ROOT).contains("upgrade");
    }

    /**
     * Whether the request is no page load in a tab: a mode other than {@code navigate} ({@code no-cors}, {@code cors},
     * {@code same-origin}, {@code websocket}), a navigation into a frame (a destination other than {@code document}),
     * or a prefetch or prerender; a request to switch to another protocol than HTTP (a WebSocket), or one with an
     * {@code Origin} (a {@code cors} fetch; the caller refuses methods other than GET and HEAD before), or one a
     * script library marked as its own (a fetch of the page's own origin). Without the
     * Sec-Fetch headers (plain http, an older browser, curl), also a request that accepts no HTML: an {@code Accept}
     * without {@code text/html}, or none at all, which no browser's page load sends ({@code curl -H 'Accept:'},
     * Java's and Go's clients: none of them could follow the provider's pages either).
     */
    public boolean notPageLoad() {
        boolean toldBySecFetch = mode != null || dest != null;
        boolean notPage = toldBySecFetch ? isPresentAndNot(mode, "navigate") || isPresentAndNot(dest, "document")
                : acceptsNoHtml();
        return notPage || upgrade || origin != null || scripted || speculative();
    }

    private boolean acceptsNoHtml() {
        return accept == null || !accept.toLowerCase(Locale.ROOT).contains("text/html");
    }

    /** {@code prefetch}, or {@code prefetch;prerender}: Chrome's speculative loads, whose answer it drops unless 2xx. */
    private boolean speculative() {
        return purpose != null && purpose.toLowerCase(Locale.ROOT).contains("prefetch");
    }

    private static boolean isPresentAndNot(String value, String expected) {
        return value != null && !value.trim().toLowerCase(Locale.ROOT).equals(expected);
    }
}
